package api

import (
	"encoding/json"
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/compute/service"
)

// serverUpdate is the body of PUT /servers/{id}; updateKeys are the keys
// Nova's schema allows at each microversion.
type serverUpdate struct {
	Server *struct {
		Name        *string        `json:"name"`
		AccessIPv4  *string        `json:"accessIPv4"`
		AccessIPv6  *string        `json:"accessIPv6"`
		DiskConfig  *string        `json:"OS-DCF:diskConfig"`
		Description nullableString `json:"description"`
		Hostname    *string        `json:"hostname"`
	} `json:"server"`
}

// updateServer answers PUT /servers/{id} with the updated server.
func (a *API) updateServer(w http.ResponseWriter, r *http.Request) {
	var raw json.RawMessage
	if !decodeBody(w, r, &raw) {
		return
	}
	req, msg := updateRequest(r, raw)
	if msg != "" {
		badRequest(w, r, msg)
		return
	}
	sv, err := a.svc.Update(r.Context(), a.caller(r), mux.Vars(r)["server_id"], req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, serverBody[serverView]{Server: a.serverAt(r, sv, a.changedShow(r, sv))})
}

// updateRequest reads PUT /servers/{id}'s body as Nova's schema at r's
// microversion allows it, or returns the message of a 400.
func updateRequest(r *http.Request, raw json.RawMessage) (service.UpdateRequest, string) {
	var body serverUpdate
	msg := unexpectedKeys(r, "body", raw, baseKeys("server"))
	if server := memberOf(raw, "server"); msg == "" {
		if server == nil {
			return service.UpdateRequest{}, "Invalid input for field/attribute server. 'server' is a required property"
		}
		msg = unexpectedKeys(r, "server", server, updateKeys)
	}
	if msg == "" && (json.Unmarshal(raw, &body) != nil || body.Server == nil) {
		msg = "Invalid input for field/attribute server. Value: " + clip(string(raw)) + "."
	}
	if msg != "" {
		return service.UpdateRequest{}, msg
	}
	s := body.Server
	req := service.UpdateRequest{Name: s.Name, Hostname: s.Hostname}
	if req.AccessIPv4, req.AccessIPv6, msg = optionalAccessIPs(s.AccessIPv4, s.AccessIPv6); msg != "" {
		return req, msg
	}
	if msg = s.Description.checkDescription(); msg != "" {
		return req, msg
	}
	if s.Description.set {
		req.Description = service.To(s.Description.value)
	}
	return req, checkHostname(s.Hostname)
}
