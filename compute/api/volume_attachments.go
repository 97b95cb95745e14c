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
