package api

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/compute/service"
)

// hypervisorBrief is an entry of GET /os-hypervisors: the id is an
// integer before 2.53 and a UUID from it; servers with with_servers (2.53)
// or on the /servers route.
type hypervisorBrief struct {
	ID       any                 `json:"id"`
	Hostname string              `json:"hypervisor_hostname"`
	State    string              `json:"state"`
	Status   string              `json:"status"`
	Servers  *[]hostedServerView `json:"servers,omitempty"`
}

// hostedServerView is a server on a hypervisor.
type hostedServerView struct {
	Name string `json:"name"`
	UUID string `json:"uuid"`
}

// hypervisorServiceView is the compute service of a hypervisor.
type hypervisorServiceView struct {
	Host           string  `json:"host"`
	ID             any     `json:"id"`
	DisabledReason *string `json:"disabled_reason"`
}

// hypervisorAmounts are the capacity figures a hypervisor shows and the
// statistics sum.
type hypervisorAmounts struct {
	VCPUs              int `json:"vcpus"`
	MemoryMB           int `json:"memory_mb"`
	LocalGB            int `json:"local_gb"`
	VCPUsUsed          int `json:"vcpus_used"`
	MemoryMBUsed       int `json:"memory_mb_used"`
	LocalGBUsed        int `json:"local_gb_used"`
	FreeRAMMB          int `json:"free_ram_mb"`
	FreeDiskGB         int `json:"free_disk_gb"`
	CurrentWorkload    int `json:"current_workload"`
	RunningVMs         int `json:"running_vms"`
	DiskAvailableLeast int `json:"disk_available_least"`
}

// add sums o into a.
func (a *hypervisorAmounts) add(o hypervisorAmounts) {
	a.VCPUs, a.MemoryMB, a.LocalGB = a.VCPUs+o.VCPUs, a.MemoryMB+o.MemoryMB, a.LocalGB+o.LocalGB
	a.VCPUsUsed, a.MemoryMBUsed, a.LocalGBUsed = a.VCPUsUsed+o.VCPUsUsed, a.MemoryMBUsed+o.MemoryMBUsed, a.LocalGBUsed+o.LocalGBUsed
	a.FreeRAMMB, a.FreeDiskGB, a.RunningVMs = a.FreeRAMMB+o.FreeRAMMB, a.FreeDiskGB+o.FreeDiskGB, a.RunningVMs+o.RunningVMs
	a.CurrentWorkload, a.DiskAvailableLeast = a.CurrentWorkload+o.CurrentWorkload, a.DiskAvailableLeast+o.DiskAvailableLeast
}

// hypervisorView is a hypervisor in detail: the amounts and cpu_info
// (a string before 2.28, an object from it) until 2.87, uptime from 2.88.
type hypervisorView struct {
	hypervisorBrief
	Type    string                `json:"hypervisor_type"`
	Version int                   `json:"hypervisor_version"`
	HostIP  string                `json:"host_ip"`
	Service hypervisorServiceView `json:"service"`
	*hypervisorAmounts
	CPUInfo any     `json:"cpu_info,omitempty"`
	Uptime  *string `json:"uptime,omitempty"`
}

// hypervisorIDs are the hypervisor's and its service's ids at r's
// microversion.
func hypervisorIDs(r *http.Request, h service.Hypervisor) (any, any) {
	if atLeast(r, "2.53") {
		return h.UUID, h.Service.UUID
	}
	return h.ID, h.Service.ID
}

func briefAt(r *http.Request, h service.Hypervisor, withServers bool) hypervisorBrief {
	id, _ := hypervisorIDs(r, h)
	b := hypervisorBrief{ID: id, Hostname: h.Hostname, State: "down", Status: "enabled"}
	if h.Up {
		b.State = "up"
	}
	if !h.Service.Enabled {
		b.Status = "disabled"
	}
	// Nova shows servers when there are some, and [] from 2.75 when asked.
	if withServers && (len(h.Servers) > 0 || atLeast(r, "2.75")) {
		list := httpx.ListOf(h.Servers, func(s service.HostedServer) hostedServerView { return hostedServerView(s) })
		b.Servers = &list
	}
	return b
}

func amountsOf(h service.Hypervisor) hypervisorAmounts {
	return hypervisorAmounts{VCPUs: h.VCPUs, MemoryMB: h.MemoryMB, LocalGB: h.LocalGB, VCPUsUsed: h.VCPUsUsed,
		MemoryMBUsed: h.MemoryMBUsed, LocalGBUsed: h.LocalGBUsed, FreeRAMMB: h.MemoryMB - h.MemoryMBUsed,
		FreeDiskGB: h.FreeDiskGB, RunningVMs: h.RunningVMs, DiskAvailableLeast: h.FreeDiskGB}
}

func detailAt(r *http.Request, h service.Hypervisor, withServers bool) hypervisorView {
	_, sid := hypervisorIDs(r, h)
	v := hypervisorView{hypervisorBrief: briefAt(r, h, withServers), Type: cmp.Or(h.Type, "QEMU"), Version: h.Version, HostIP: "127.0.0.1",
		Service: hypervisorServiceView{Host: h.Hostname, ID: sid, DisabledReason: h.Service.DisabledReason}}
	if atLeast(r, "2.88") {
		up := service.HostUptime(time.Now())
		v.Uptime = &up
		return v
	}
	amounts := amountsOf(h)
	v.hypervisorAmounts, v.CPUInfo = &amounts, "{}"
	if atLeast(r, "2.28") {
		v.CPUInfo = struct{}{}
	}
	return v
}

// hypervisorQuery is what GET /os-hypervisors[/detail] asks: 2.33's
// paging, 2.53's hostname pattern and with_servers.
type hypervisorQuery struct {
	limit       int
	marker      string
	pattern     *string
	withServers bool
}

func parseHypervisorQuery(r *http.Request) (hypervisorQuery, string) {
	q, out := r.URL.Query(), hypervisorQuery{limit: -1}
	if atLeast(r, "2.33") {
		if v, ok := q["limit"]; ok {
			n, msg := intParam("limit", v[0], nonNegative)
			if msg != "" {
				return out, msg
			}
			out.limit = int(min(n, maxLimit))
		}
		out.marker = q.Get("marker")
	}
	if !atLeast(r, "2.53") {
		return out, ""
	}
	if v, ok := q["hypervisor_hostname_pattern"]; ok {
		if _, paged := q["limit"]; paged || out.marker != "" {
			return out, "Paging over hypervisors with the hypervisor_hostname_pattern query parameter is not supported."
		}
		out.pattern = &v[0]
	}
	if v, ok := q["with_servers"]; ok {
		b, msg := strictBool("with_servers", v[0])
		if msg != "" {
			return out, msg
		}
		out.withServers = b
	}
	return out, ""
}

// strictBool is oslo's bool_from_string(strict=True) of a query value.
func strictBool(field, v string) (bool, string) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "t", "true", "on", "y", "yes":
		return true, ""
	case "0", "f", "false", "off", "n", "no":
		return false, ""
	}
	return false, invalidInput(field, v, "Unrecognized value '"+clip(v)+"', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'")
}

// hypervisors reads the hypervisors under an os-hypervisors rule, or
// answers the failure.
func (a *API) hypervisors(w http.ResponseWriter, r *http.Request, rule string) ([]service.Hypervisor, bool) {
	list, err := a.svc.Hypervisors(r.Context(), a.caller(r), rule)
	if err != nil {
		a.fail(w, r, err)
	}
	return list, err == nil
}

// matching keeps the hypervisors whose host name contains pattern (Nova's
// SQL LIKE '%pattern%'), or answers 404 when none does.
func matching(w http.ResponseWriter, r *http.Request, list []service.Hypervisor, pattern string) ([]service.Hypervisor, bool) {
	list = slices.DeleteFunc(list, func(h service.Hypervisor) bool { return !strings.Contains(h.Hostname, pattern) })
	if len(list) == 0 {
		writeError(w, r, http.StatusNotFound, "No hypervisor matching '"+clip(pattern)+"' could be found.")
		return nil, false
	}
	return list, true
}

// hypervisorPage is the part of list the query asks for, or false after
// answering 400/404.
func hypervisorPage(w http.ResponseWriter, r *http.Request, list []service.Hypervisor, q hypervisorQuery) ([]service.Hypervisor, bool) {
	if q.pattern != nil {
		return matching(w, r, list, *q.pattern)
	}
	if q.marker != "" {
		i := slices.IndexFunc(list, func(h service.Hypervisor) bool {
			id, _ := hypervisorIDs(r, h)
			return fmt.Sprint(id) == q.marker
		})
		if i < 0 {
			badRequest(w, r, "marker ["+clip(q.marker)+"] not found")
			return nil, false
		}
		list = list[i+1:]
	}
	if q.limit >= 0 && len(list) > q.limit {
		list = list[:q.limit]
	}
	return list, true
}

// hypervisorList answers GET /os-hypervisors and /os-hypervisors/detail
// (Horizon's Hypervisors panel).
func (a *API) hypervisorList(w http.ResponseWriter, r *http.Request, detail bool) {
	q, msg := parseHypervisorQuery(r)
	if msg != "" {
		badRequest(w, r, msg)
		return
	}
	rule := map[bool]string{false: "list", true: "list-detail"}[detail]
	list, ok := a.hypervisors(w, r, rule)
	if !ok {
		return
	}
	if list, ok = hypervisorPage(w, r, list, q); !ok {
		return
	}
	var links []linkView
	if q.pattern == nil && atLeast(r, "2.33") {
		links = nextLink(a, r, list, q.limit, func(h service.Hypervisor) string { id, _ := hypervisorIDs(r, h); return fmt.Sprint(id) })
	}
	if detail {
		views := httpx.ListOf(list, func(h service.Hypervisor) hypervisorView { return detailAt(r, h, q.withServers) })
		httpx.WriteJSON(w, http.StatusOK, hypervisorsBody[hypervisorView]{Hypervisors: views, Links: links})
		return
	}
	views := httpx.ListOf(list, func(h service.Hypervisor) hypervisorBrief { return briefAt(r, h, q.withServers) })
	httpx.WriteJSON(w, http.StatusOK, hypervisorsBody[hypervisorBrief]{Hypervisors: views, Links: links})
}

// hypervisorsBody is a list of hypervisors with 2.33's next link.
type hypervisorsBody[T any] struct {
	Hypervisors []T        `json:"hypervisors"`
	Links       []linkView `json:"hypervisors_links,omitempty"`
}

func (a *API) listHypervisors(w http.ResponseWriter, r *http.Request) { a.hypervisorList(w, r, false) }

func (a *API) listHypervisorsDetail(w http.ResponseWriter, r *http.Request) {
	a.hypervisorList(w, r, true)
}

// hypervisorByID finds the hypervisor of the path's id under rule: a
// UUID from 2.53 (else 400), an integer before (else 404).
func (a *API) hypervisorByID(w http.ResponseWriter, r *http.Request, rule string) (service.Hypervisor, bool) {
	id := mux.Vars(r)["hypervisor_id"]
	list, ok := a.hypervisors(w, r, rule)
	if !ok {
		return service.Hypervisor{}, false
	}
	if _, err := uuid.Parse(id); atLeast(r, "2.53") && err != nil {
		badRequest(w, r, "Invalid uuid "+clip(id))
		return service.Hypervisor{}, false
	}
	for _, h := range list {
		if hid, _ := hypervisorIDs(r, h); fmt.Sprint(hid) == id {
			return h, true
		}
	}
	writeError(w, r, http.StatusNotFound, "Hypervisor with ID '"+clip(id)+"' could not be found.")
	return service.Hypervisor{}, false
}

// showHypervisor answers GET /os-hypervisors/{id}[?with_servers=] (2.53).
func (a *API) showHypervisor(w http.ResponseWriter, r *http.Request) {
	q, msg := parseHypervisorQuery(r)
	if msg != "" {
		badRequest(w, r, msg)
		return
	}
	if h, ok := a.hypervisorByID(w, r, "show"); ok {
		httpx.WriteJSON(w, http.StatusOK, map[string]hypervisorView{"hypervisor": detailAt(r, h, q.withServers)})
	}
}

// hypervisorUptimeView is GET /os-hypervisors/{id}/uptime (until 2.87).
type hypervisorUptimeView struct {
	hypervisorBrief
	Uptime string `json:"uptime"`
}

// hypervisorUptime answers GET /os-hypervisors/{id}/uptime; from 2.88 the
// uptime is in the detail view and this route is gone (404).
func (a *API) hypervisorUptime(w http.ResponseWriter, r *http.Request) {
	if atLeast(r, "2.88") {
		writeError(w, r, http.StatusNotFound, "The resource could not be found.")
		return
	}
	if h, ok := a.hypervisorByID(w, r, "uptime"); ok {
		v := hypervisorUptimeView{hypervisorBrief: briefAt(r, h, false), Uptime: service.HostUptime(time.Now())}
		httpx.WriteJSON(w, http.StatusOK, map[string]hypervisorUptimeView{"hypervisor": v})
	}
}

// hypervisorSearch answers GET /os-hypervisors/{pattern}/search and
// /{pattern}/servers (until 2.52: then query parameters replace them).
func (a *API) hypervisorSearch(w http.ResponseWriter, r *http.Request, rule string) {
	if atLeast(r, "2.53") {
		writeError(w, r, http.StatusNotFound, "The resource could not be found.")
		return
	}
	list, ok := a.hypervisors(w, r, rule)
	if !ok {
		return
	}
	if list, ok = matching(w, r, list, mux.Vars(r)["hypervisor_id"]); ok {
		views := httpx.ListOf(list, func(h service.Hypervisor) hypervisorBrief { return briefAt(r, h, rule == "servers") })
		httpx.WriteJSON(w, http.StatusOK, hypervisorsBody[hypervisorBrief]{Hypervisors: views})
	}
}

func (a *API) searchHypervisors(w http.ResponseWriter, r *http.Request) {
	a.hypervisorSearch(w, r, "search")
}
func (a *API) hypervisorServers(w http.ResponseWriter, r *http.Request) {
	a.hypervisorSearch(w, r, "servers")
}

// statisticsView is GET /os-hypervisors/statistics: the count and sums.
type statisticsView struct {
	Count int `json:"count"`
	hypervisorAmounts
}

// hypervisorStatistics answers GET /os-hypervisors/statistics (Horizon's
// admin Overview and Hypervisors panel).
func (a *API) hypervisorStatistics(w http.ResponseWriter, r *http.Request) {
	if atLeast(r, "2.88") {
		writeError(w, r, http.StatusNotFound, "The resource could not be found.")
		return
	}
	list, ok := a.hypervisors(w, r, "statistics")
	if !ok {
		return
	}
	var s statisticsView
	for _, h := range list {
		s.Count++
		s.add(amountsOf(h))
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]statisticsView{"hypervisor_statistics": s})
}
