package api

import (
	"net/http"

	"imagestack/common/httpx"
	"imagestack/compute/service"
)

// serviceView is one entry of "services": the id is an integer before
// microversion 2.53 and the service's UUID from it; forced_down from 2.11.
type serviceView struct {
	ID             any     `json:"id"`
	Binary         string  `json:"binary"`
	Host           string  `json:"host"`
	Zone           string  `json:"zone"`
	Status         string  `json:"status"`
	State          string  `json:"state"`
	UpdatedAt      *string `json:"updated_at"`
	DisabledReason *string `json:"disabled_reason"`
	ForcedDown     *bool   `json:"forced_down,omitempty"`
}

// servicesBody answers GET /os-services.
type servicesBody struct {
	Services []serviceView `json:"services"`
}

// serviceViewAt renders a service at the request's microversion.
func serviceViewAt(r *http.Request, s service.ComputeService) serviceView {
	v := serviceView{ID: s.ID, Binary: s.Binary, Host: s.Host, Zone: s.Zone, Status: "disabled", State: "down",
		UpdatedAt: usageTime(&s.Updated), DisabledReason: s.DisabledReason}
	if atLeast(r, "2.53") {
		v.ID = s.UUID
	}
	if atLeast(r, "2.11") {
		v.ForcedDown = &s.ForcedDown
	}
	if s.Enabled {
		v.Status = "enabled"
	}
	if s.Up {
		v.State = "up"
	}
	return v
}

// listServices answers GET /os-services[?host=&binary=] (admins; Horizon's
// System Information and Hypervisors pages).
func (a *API) listServices(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if atLeast(r, "2.75") {
		for k := range q {
			if k != "host" && k != "binary" {
				badRequest(w, r, "Invalid input for query parameters "+clip(k)+". Additional properties are not allowed ('"+clip(k)+"' was unexpected)")
				return
			}
		}
	}
	list, err := a.svc.Services(r.Context(), a.caller(r), q.Get("host"), q.Get("binary"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	views := make([]serviceView, 0, len(list))
	for _, s := range list {
		views = append(views, serviceViewAt(r, s))
	}
	httpx.WriteJSON(w, http.StatusOK, servicesBody{Services: views})
}
