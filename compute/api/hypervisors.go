package api

import (
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/compute/service"
)

// hypervisorBrief is an entry of GET /os-hypervisors (2.1).
type hypervisorBrief struct {
	ID       int    `json:"id"`
	Hostname string `json:"hypervisor_hostname"`
	State    string `json:"state"`
	Status   string `json:"status"`
}

// hypervisorServiceView is the compute service of a hypervisor.
type hypervisorServiceView struct {
	Host           string  `json:"host"`
	ID             int     `json:"id"`
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

// hypervisorView is a hypervisor in detail (2.1's fields).
type hypervisorView struct {
	hypervisorBrief
	Type    string `json:"hypervisor_type"`
	Version int    `json:"hypervisor_version"`
	hypervisorAmounts
	HostIP  string                `json:"host_ip"`
	CPUInfo string                `json:"cpu_info"`
	Service hypervisorServiceView `json:"service"`
}

func briefOf(h service.Hypervisor) hypervisorBrief {
	b := hypervisorBrief{ID: h.ID, Hostname: h.Hostname, State: "down", Status: "enabled"}
	if h.Up {
		b.State = "up"
	}
	return b
}

func detailOf(h service.Hypervisor) hypervisorView {
	return hypervisorView{hypervisorBrief: briefOf(h), Type: "QEMU", HostIP: "127.0.0.1", CPUInfo: "{}",
		Service: hypervisorServiceView{Host: h.Hostname, ID: 1},
		hypervisorAmounts: hypervisorAmounts{VCPUs: h.VCPUs, MemoryMB: h.MemoryMB, LocalGB: h.LocalGB, VCPUsUsed: h.VCPUsUsed,
			MemoryMBUsed: h.MemoryMBUsed, LocalGBUsed: h.LocalGBUsed, FreeRAMMB: h.MemoryMB - h.MemoryMBUsed,
			FreeDiskGB: h.FreeDiskGB, RunningVMs: h.RunningVMs, DiskAvailableLeast: h.FreeDiskGB}}
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

// listHypervisors answers GET /os-hypervisors.
func (a *API) listHypervisors(w http.ResponseWriter, r *http.Request) {
	if list, ok := a.hypervisors(w, r, "list"); ok {
		httpx.WriteJSON(w, http.StatusOK, map[string][]hypervisorBrief{"hypervisors": httpx.ListOf(list, briefOf)})
	}
}

// listHypervisorsDetail answers GET /os-hypervisors/detail (Horizon's
// Hypervisors panel).
func (a *API) listHypervisorsDetail(w http.ResponseWriter, r *http.Request) {
	if list, ok := a.hypervisors(w, r, "list-detail"); ok {
		httpx.WriteJSON(w, http.StatusOK, map[string][]hypervisorView{"hypervisors": httpx.ListOf(list, detailOf)})
	}
}

// showHypervisor answers GET /os-hypervisors/{id}.
func (a *API) showHypervisor(w http.ResponseWriter, r *http.Request) {
	list, ok := a.hypervisors(w, r, "show")
	if !ok {
		return
	}
	id := mux.Vars(r)["hypervisor_id"]
	for _, h := range list {
		if strconv.Itoa(h.ID) == id {
			httpx.WriteJSON(w, http.StatusOK, map[string]hypervisorView{"hypervisor": detailOf(h)})
			return
		}
	}
	writeError(w, r, http.StatusNotFound, "Hypervisor with ID "+clip(id)+" could not be found.")
}

// statisticsView is GET /os-hypervisors/statistics: the count and sums.
type statisticsView struct {
	Count int `json:"count"`
	hypervisorAmounts
}

// hypervisorStatistics answers GET /os-hypervisors/statistics (Horizon's
// admin Overview and Hypervisors panel).
func (a *API) hypervisorStatistics(w http.ResponseWriter, r *http.Request) {
	list, ok := a.hypervisors(w, r, "statistics")
	if !ok {
		return
	}
	var s statisticsView
	for _, h := range list {
		s.Count++
		s.add(detailOf(h).hypervisorAmounts)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]statisticsView{"hypervisor_statistics": s})
}
