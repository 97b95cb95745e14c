package api

import (
	"net/http"

	"imagestack/common/httpx"
)

// serviceView is one entry of "services" (microversion 2.1's fields).
type serviceView struct {
	ID             int     `json:"id"`
	Binary         string  `json:"binary"`
	Host           string  `json:"host"`
	Zone           string  `json:"zone"`
	Status         string  `json:"status"`
	State          string  `json:"state"`
	UpdatedAt      *string `json:"updated_at"`
	DisabledReason *string `json:"disabled_reason"`
}

// servicesBody answers GET /os-services.
type servicesBody struct {
	Services []serviceView `json:"services"`
}

// listServices answers GET /os-services[?host=&binary=] (admins; Horizon's
// System Information and Hypervisors pages).
func (a *API) listServices(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	list, err := a.svc.Services(r.Context(), a.caller(r), q.Get("host"), q.Get("binary"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	views := make([]serviceView, 0, len(list))
	for _, s := range list {
		v := serviceView{ID: s.ID, Binary: s.Binary, Host: s.Host, Zone: s.Zone, Status: "disabled", State: "down",
			UpdatedAt: usageTime(&s.Updated)}
		if s.Enabled {
			v.Status = "enabled"
		}
		if s.Up {
			v.State = "up"
		}
		views = append(views, v)
	}
	httpx.WriteJSON(w, http.StatusOK, servicesBody{Services: views})
}

// aggregatesBody answers GET /os-aggregates: always none (not supported).
type aggregatesBody struct {
	Aggregates []struct{} `json:"aggregates"`
}

// listAggregates answers GET /os-aggregates (admins; Horizon's Host
// Aggregates page).
func (a *API) listAggregates(w http.ResponseWriter, r *http.Request) {
	if _, err := a.svc.Aggregates(r.Context(), a.caller(r)); err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, aggregatesBody{Aggregates: []struct{}{}})
}
