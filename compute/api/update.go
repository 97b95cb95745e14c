package api

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/compute/service"
)

// serverUpdate is the body of PUT /servers/{id} (Nova 2.1's schema: no
// other field).
type serverUpdate struct {
	Server *struct {
		Name       *string `json:"name"`
		AccessIPv4 *string `json:"accessIPv4"`
		AccessIPv6 *string `json:"accessIPv6"`
		DiskConfig *string `json:"OS-DCF:diskConfig"`
	} `json:"server"`
}

// updateServer answers PUT /servers/{id} with the updated server.
func (a *API) updateServer(w http.ResponseWriter, r *http.Request) {
	var raw json.RawMessage
	if !decodeBody(w, r, &raw) {
		return
	}
	var body serverUpdate
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Server == nil {
		badRequest(w, r, "Invalid input for field/attribute server. Only name, accessIPv4, accessIPv6 and OS-DCF:diskConfig can be updated.")
		return
	}
	req := service.UpdateRequest{Name: body.Server.Name}
	var msg string
	if req.AccessIPv4, req.AccessIPv6, msg = optionalAccessIPs(body.Server.AccessIPv4, body.Server.AccessIPv6); msg != "" {
		badRequest(w, r, msg)
		return
	}
	sv, err := a.svc.Update(r.Context(), a.caller(r), mux.Vars(r)["server_id"], req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, serverBody[serverView]{Server: a.withServerGroups(r, a.serverDetail(sv))})
}
