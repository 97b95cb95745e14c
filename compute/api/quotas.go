package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/compute/service"
)

// quotaLimits is Nova's quota set for the limits in force.
func quotaLimits(l service.Limits) map[string]int {
	return map[string]int{
		"instances": l.Quotas.Instances, "cores": l.Quotas.Cores, "ram": l.Quotas.RAM,
		"key_pairs": l.KeyPairs, "metadata_items": l.MetadataItems, "server_groups": l.ServerGroups,
		"server_group_members": l.ServerGroupMembers, "injected_files": 5, "injected_file_content_bytes": 10240,
		"injected_file_path_bytes": 255,
	}
}

// showQuotaSet answers GET /os-quota-sets/{project}[/detail|/defaults]
// (Horizon's overview and instance pages read it).
func (a *API) showQuotaSet(w http.ResponseWriter, r *http.Request) {
	project := mux.Vars(r)["project_id"]
	l, err := a.svc.ProjectLimits(r.Context(), a.caller(r), project)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	set := map[string]any{"id": project}
	switch {
	case strings.HasSuffix(r.URL.Path, "/detail"):
		used := map[string]int{"instances": l.InstancesUsed, "cores": l.CoresUsed, "ram": l.RAMUsed}
		for k, v := range quotaLimits(l) {
			set[k] = map[string]int{"limit": v, "in_use": used[k], "reserved": 0}
		}
	default:
		for k, v := range quotaLimits(l) {
			set[k] = v
		}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"quota_set": set})
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
	servers := make([]any, 0, len(u.Servers))
	for _, s := range u.Servers {
		servers = append(servers, map[string]any{
			"instance_id": s.ID, "name": s.Name, "hours": s.Hours, "memory_mb": s.RAM, "local_gb": s.Disk, "vcpus": s.VCPUs,
			"tenant_id": project, "flavor": s.Flavor, "started_at": usageTime(&s.Started), "ended_at": nil,
			"state": s.State, "uptime": int(s.Hours * 3600),
		})
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"tenant_usage": map[string]any{
		"tenant_id": project, "start": usageTime(&start), "stop": usageTime(&end),
		"total_hours": u.Hours, "total_vcpus_usage": u.VCPUHours, "total_memory_mb_usage": u.RAMHours,
		"total_local_gb_usage": u.DiskHours, "server_usages": servers,
	}})
}

// listServerGroups answers GET /os-server-groups: server groups are not
// supported, so there are none.
func (a *API) listServerGroups(w http.ResponseWriter, r *http.Request) {
	if _, err := a.svc.ServerGroups(r.Context(), a.caller(r)); err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"server_groups": []any{}})
}
