package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
)

// volumeAttachmentView is one entry of "volumeAttachments" (microversion
// 2.1's fields).
type volumeAttachmentView struct {
	ID       string `json:"id"`
	ServerID string `json:"serverId"`
	VolumeID string `json:"volumeId"`
	Device   string `json:"device"`
}

// volumeAttachmentsBody answers GET /servers/{id}/os-volume_attachments.
type volumeAttachmentsBody struct {
	VolumeAttachments []volumeAttachmentView `json:"volumeAttachments"`
}

// listVolumeAttachments answers GET /servers/{id}/os-volume_attachments,
// which Horizon's instance detail page asks for.
func (a *API) listVolumeAttachments(w http.ResponseWriter, r *http.Request) {
	atts, err := a.svc.VolumeAttachments(r.Context(), a.caller(r), mux.Vars(r)["server_id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	views := make([]volumeAttachmentView, 0, len(atts))
	for _, v := range atts {
		views = append(views, volumeAttachmentView{ID: v.ID, ServerID: v.ServerID, VolumeID: v.VolumeID, Device: v.Device})
	}
	httpx.WriteJSON(w, http.StatusOK, volumeAttachmentsBody{VolumeAttachments: views})
}

// topologyNodeView is one NUMA node of a server.
type topologyNodeView struct {
	MemoryMB   int   `json:"memory_mb"`
	VCPUSet    []int `json:"vcpu_set"`
	Siblings   []int `json:"siblings"`
	CPUPinning struct {
	} `json:"cpu_pinning"`
}

// topologyBody answers GET /servers/{id}/topology.
type topologyBody struct {
	Nodes      []topologyNodeView `json:"nodes"`
	PageSizeKB *int               `json:"pagesize_kb"`
}

// showTopology answers GET /servers/{id}/topology (from 2.78; 404 before).
func (a *API) showTopology(w http.ResponseWriter, r *http.Request) {
	if !atLeast(r, "2.78") {
		writeError(w, r, http.StatusNotFound, "The resource could not be found.")
		return
	}
	tp, err := a.svc.ServerTopology(r.Context(), a.caller(r), mux.Vars(r)["server_id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	nodes := make([]topologyNodeView, 0, len(tp.Nodes))
	for _, n := range tp.Nodes {
		nodes = append(nodes, topologyNodeView{MemoryMB: n.MemoryMB, VCPUSet: n.VCPUSet, Siblings: []int{}})
	}
	httpx.WriteJSON(w, http.StatusOK, topologyBody{Nodes: nodes, PageSizeKB: tp.PageSizeKB})
}
