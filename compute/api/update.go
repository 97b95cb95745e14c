package api

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/compute/service"
)

// serverUpdate is the body of PUT /servers/{id} (Nova 2.1's schema, and
// 2.19's description: no other field).
type serverUpdate struct {
	Server *struct {
		Name        *string         `json:"name"`
		AccessIPv4  *string         `json:"accessIPv4"`
		AccessIPv6  *string         `json:"accessIPv6"`
		DiskConfig  *string         `json:"OS-DCF:diskConfig"`
		Description json.RawMessage `json:"description"`
	} `json:"server"`
}

// descriptionInvalid is why an update's description is refused, or "":
// the field is 2.19's, and servers have no description to set yet, so
// only null (what Horizon's Edit Instance sends for an empty one) is
// accepted, changing nothing.
func descriptionInvalid(r *http.Request, d json.RawMessage) string {
	switch {
	case d == nil:
		return ""
	case !atLeast(r, "2.19"):
		return "Invalid input for field/attribute server. Only name, accessIPv4, accessIPv6 and OS-DCF:diskConfig can be updated."
	case string(d) != "null":
		return "Invalid input for field/attribute description. Server descriptions are not supported."
	}
	return ""
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
	if msg := descriptionInvalid(r, body.Server.Description); msg != "" {
		badRequest(w, r, msg)
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
	httpx.WriteJSON(w, http.StatusOK, serverBody[serverView]{Server: a.serverDetail(sv)})
}
