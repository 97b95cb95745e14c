package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/compute/service"
)

// showQuotaSet answers GET /os-quota-sets/{project}[/detail|/defaults]
// (Horizon's overview and instance pages read it).
func (a *API) showQuotaSet(w http.ResponseWriter, r *http.Request) {
	project := mux.Vars(r)["project_id"]
	l, err := a.svc.ProjectLimits(r.Context(), a.caller(r), project)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if strings.HasSuffix(r.URL.Path, "/detail") {
		httpx.WriteJSON(w, http.StatusOK, quotaSetBody[quotaDetailView]{QuotaSet: newQuotaSet(project, l, func(limit, used int) quotaDetailView {
			return quotaDetailView{Limit: limit, InUse: used}
		})})
		return
	}
	httpx.WriteJSON(w, http.StatusOK, quotaSetBody[int]{QuotaSet: newQuotaSet(project, l, func(limit, _ int) int { return limit })})
}

// showTenantUsage answers GET /os-simple-tenant-usage/{project} with the
// project's server usage over the requested period (Horizon's overview).
func (a *API) showTenantUsage(w http.ResponseWriter, r *http.Request) {
	project := mux.Vars(r)["project_id"]
	start, end, ok := usagePeriod(w, r)
	page, ok2 := usagePage(w, r)
	if !ok || !ok2 {
		return
	}
	u, err := a.svc.Usage(r.Context(), a.caller(r), project, start, end, page)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	body := tenantUsageBody{TenantUsage: newTenantUsage(u, true)}
	if atLeast(r, "2.40") {
		body.Links = nextLink(a, r, u.Servers, page.Limit, func(s service.ServerUsage) string { return s.ID })
	}
	httpx.WriteJSON(w, http.StatusOK, body)
}

// listTenantUsages answers GET /os-simple-tenant-usage (admins): every
// project's usage, with each server's share when "detailed" is given
// (Horizon's admin overview).
func (a *API) listTenantUsages(w http.ResponseWriter, r *http.Request) {
	start, end, ok := usagePeriod(w, r)
	page, ok2 := usagePage(w, r)
	if !ok || !ok2 {
		return
	}
	us, err := a.svc.Usages(r.Context(), a.caller(r), start, end, page)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	detailed := r.URL.Query().Get("detailed") != "" && r.URL.Query().Get("detailed") != "0"
	out := make([]tenantUsageView, 0, len(us))
	var servers []service.ServerUsage
	for _, u := range us {
		out = append(out, newTenantUsage(u, detailed))
		servers = append(servers, u.Servers...)
	}
	body := tenantUsagesBody{TenantUsages: out}
	if atLeast(r, "2.40") {
		body.Links = nextLink(a, r, servers, page.Limit, func(s service.ServerUsage) string { return s.ID })
	}
	httpx.WriteJSON(w, http.StatusOK, body)
}

// usagePage reads a usage request's limit and marker (2.40; before, every
// server up to the limit every list has); a malformed limit is answered 400
// and ok is false.
func usagePage(w http.ResponseWriter, r *http.Request) (page service.UsagePage, ok bool) {
	page.Limit = maxLimit
	if !atLeast(r, "2.40") {
		return page, true
	}
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			badRequest(w, r, "limit param must be an integer")
			return page, false
		}
		page.Limit = min(n, maxLimit)
	}
	page.Marker = q.Get("marker")
	return page, true
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

// listServerGroups answers GET /os-server-groups: server groups are not
// supported, so there are none.
func (a *API) listServerGroups(w http.ResponseWriter, r *http.Request) {
	if _, err := a.svc.ServerGroups(r.Context(), a.caller(r)); err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, serverGroupsBody{ServerGroups: []struct{}{}})
}
