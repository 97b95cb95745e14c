package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
)

// instanceActionView is one entry of "instanceActions" (microversion 2.1's
// fields; the outcome is not recorded, so message is null).
type instanceActionView struct {
	Action       string  `json:"action"`
	InstanceUUID string  `json:"instance_uuid"`
	Message      *string `json:"message"`
	ProjectID    string  `json:"project_id"`
	RequestID    string  `json:"request_id"`
	StartTime    *string `json:"start_time"`
	UserID       string  `json:"user_id"`
}

// instanceActionsBody answers GET /servers/{id}/os-instance-actions.
type instanceActionsBody struct {
	InstanceActions []instanceActionView `json:"instanceActions"`
}

// listInstanceActions answers GET /servers/{id}/os-instance-actions, newest
// first (Horizon's Action Log tab).
func (a *API) listInstanceActions(w http.ResponseWriter, r *http.Request) {
	actions, err := a.svc.ListActions(r.Context(), a.caller(r), mux.Vars(r)["server_id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	views := make([]instanceActionView, 0, len(actions))
	for _, act := range actions {
		views = append(views, instanceActionView{Action: act.Name, InstanceUUID: act.ServerID, ProjectID: act.ProjectID,
			RequestID: act.RequestID, StartTime: usageTime(&act.StartTime), UserID: act.UserID})
	}
	httpx.WriteJSON(w, http.StatusOK, instanceActionsBody{InstanceActions: views})
}
