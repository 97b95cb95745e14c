package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
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
	q := r.URL.Query()
	end := time.Now().UTC()
	start := end.Add(-24 * time.Hour)
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"start", &start}, {"end", &end}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse("2006-01-02T15:04:05", strings.TrimSuffix(strings.SplitN(v, ".", 2)[0], "Z"))
			if err != nil {
				badRequest(w, r, "Invalid "+p.name+" time: "+v)
				return
			}
			*p.dst = t
		}
	}
	u, err := a.svc.Usage(r.Context(), a.caller(r), project, start, end)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, tenantUsageBody{TenantUsage: newTenantUsage(project, u)})
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
