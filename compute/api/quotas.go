package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/compute/service"
)

// showTenantUsage answers GET /os-simple-tenant-usage/{project} with the
// project's server usage over the requested period (Horizon's overview).
func (a *API) showTenantUsage(w http.ResponseWriter, r *http.Request) {
	project := mux.Vars(r)["project_id"]
	start, end, ok := usagePeriod(w, r)
	if !ok {
		return
	}
	page, ok := usagePage(w, r)
	if !ok {
		return
	}
	u, err := a.svc.Usage(r.Context(), a.caller(r), project, start, end, page)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, tenantUsageBody{TenantUsage: newTenantUsage(u, true), Links: a.usageLinks(r, []service.Usage{u}, page)})
}

// listTenantUsages answers GET /os-simple-tenant-usage (admins): every
// project's usage, with each server's share when "detailed" is given
// (Horizon's admin overview).
func (a *API) listTenantUsages(w http.ResponseWriter, r *http.Request) {
	start, end, ok := usagePeriod(w, r)
	if !ok {
		return
	}
	page, ok := usagePage(w, r)
	if !ok {
		return
	}
	us, err := a.svc.Usages(r.Context(), a.caller(r), start, end, page)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	detailed := r.URL.Query().Get("detailed") != "" && r.URL.Query().Get("detailed") != "0"
	out := make([]tenantUsageView, 0, len(us))
	for _, u := range us {
		out = append(out, newTenantUsage(u, detailed))
	}
	httpx.WriteJSON(w, http.StatusOK, tenantUsagesBody{TenantUsages: out, Links: a.usageLinks(r, us, page)})
}

// usagePeriod reads a usage request's start and end (default: the last 24
// hours); a malformed one is answered 400 and ok is false.
func usagePeriod(w http.ResponseWriter, r *http.Request) (start, end time.Time, ok bool) {
	q := r.URL.Query()
	end = time.Now().UTC()
	start = end.Add(-24 * time.Hour)
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"start", &start}, {"end", &end}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse("2006-01-02T15:04:05", strings.TrimSuffix(strings.SplitN(v, ".", 2)[0], "Z"))
			if err != nil {
				badRequest(w, r, "Invalid "+p.name+" time: "+v)
				return start, end, false
			}
			*p.dst = t
		}
	}
	return start, end, true
}

// usagePage reads 2.40's limit and marker (earlier microversions: every
// server); a malformed limit is answered 400 and ok is false.
func usagePage(w http.ResponseWriter, r *http.Request) (service.UsagePage, bool) {
	if !strictQuery(w, r, "start", "end", "detailed", "limit", "marker") {
		return service.UsagePage{}, false
	}
	if !atLeast(r, "2.40") {
		return service.UsagePage{}, true
	}
	p := service.UsagePage{Limit: maxLimit, Marker: r.URL.Query().Get("marker")}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			badRequest(w, r, "limit param must be an integer")
			return p, false
		}
		p.Limit = min(n, maxLimit)
	}
	return p, true
}

// usageLinks is 2.40's next link of a usage page: the request with marker
// set to the page's last server (Nova pages servers, not projects).
func (a *API) usageLinks(r *http.Request, us []service.Usage, page service.UsagePage) []linkView {
	if !atLeast(r, "2.40") {
		return nil
	}
	var servers []service.ServerUsage
	for _, u := range us {
		servers = append(servers, u.Servers...)
	}
	slices.SortFunc(servers, func(x, y service.ServerUsage) int {
		if c := x.Started.Compare(y.Started); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	return nextLink(a, r, servers, page.Limit, func(s service.ServerUsage) string { return s.ID })
}
