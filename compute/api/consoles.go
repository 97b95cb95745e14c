package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/compute"
)

// vncConsoleTypes are the types os-getVNCConsole's schema accepts (Nova
// still accepts xvpvnc there and refuses it further down, as the service
// does).
var vncConsoleTypes = []string{compute.ConsoleNoVNC, compute.ConsoleXVPVNC}

// getVNCConsole answers {"os-getVNCConsole": {"type": "novnc"}} with the
// console's URL (microversions 2.1 to 2.5; POST
// /servers/{id}/remote-consoles replaces it at 2.6).
func (a *API) getVNCConsole(w http.ResponseWriter, r *http.Request, id string, raw json.RawMessage) {
	if atLeast(r, "2.6") {
		writeError(w, r, http.StatusNotFound, "The resource could not be found.")
		return
	}
	consoleType, msg := decodeConsoleType(raw, vncConsoleTypes)
	if msg != "" {
		badRequest(w, r, msg)
		return
	}
	auth, err := a.svc.VNCConsole(r.Context(), a.caller(r), id, consoleType)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, consoleBody{Console: consoleView{Type: consoleType, URL: auth.URL}})
}

// Protocols and types of POST /servers/{id}/remote-consoles (Nova's
// schema at 2.6; 2.8 adds mks and webmks).
var (
	remoteConsoleProtocols = []string{"vnc", "spice", "serial", "rdp"}
	remoteConsoleTypes     = []string{"novnc", "xvpvnc", "spice-html5", "serial", "rdp-html5"}
)

// createRemoteConsole answers POST /servers/{id}/remote-consoles with
// {"remote_console": {"protocol", "type"}} (microversion 2.6 and later;
// the route does not exist before, as in Nova).
func (a *API) createRemoteConsole(w http.ResponseWriter, r *http.Request) {
	if !atLeast(r, "2.6") {
		writeError(w, r, http.StatusNotFound, "The resource could not be found.")
		return
	}
	var body map[string]json.RawMessage
	if !decodeBody(w, r, &body) {
		return
	}
	raw, ok := body["remote_console"]
	if !ok || len(body) != 1 {
		badRequest(w, r, "Invalid input for field/attribute remote_console. 'remote_console' is a required property and the only one")
		return
	}
	var rc struct {
		Protocol string `json:"protocol"`
		Type     string `json:"type"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if dec.Decode(&rc) != nil || !slices.Contains(remoteConsoleProtocols, rc.Protocol) || !slices.Contains(remoteConsoleTypes, rc.Type) {
		badRequest(w, r, "Invalid input for field/attribute remote_console. Value: "+compute.Clip(string(raw))+
			". protocol must be one of "+pyList(remoteConsoleProtocols)+" and type one of "+pyList(remoteConsoleTypes))
		return
	}
	auth, err := a.svc.RemoteConsole(r.Context(), a.caller(r), mux.Vars(r)["server_id"], rc.Protocol, rc.Type)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, remoteConsoleBody{RemoteConsole: remoteConsoleView{Protocol: rc.Protocol, Type: rc.Type, URL: auth.URL}})
}

// pyList writes a list of names as Python (and so Nova's messages) does.
func pyList(names []string) string { return "['" + strings.Join(names, "', '") + "']" }

// decodeConsoleType reads {"type": ...} as Nova's schema does: an object
// with a required type among allowed and nothing else. A non-empty msg is
// the 400's message.
func decodeConsoleType(raw json.RawMessage, allowed []string) (string, string) {
	var body map[string]json.RawMessage
	if json.Unmarshal(raw, &body) != nil || body == nil {
		return "", "Invalid input for field/attribute os-getVNCConsole. Value: " + compute.Clip(string(raw)) + ". It must be an object."
	}
	for k := range body {
		if k != "type" {
			return "", fmt.Sprintf("Additional properties are not allowed ('%s' was unexpected)", compute.Clip(k))
		}
	}
	t, ok := body["type"]
	if !ok {
		return "", "Invalid input for field/attribute os-getVNCConsole. Value: " + compute.Clip(string(raw)) + ". 'type' is a required property"
	}
	var s string
	if json.Unmarshal(t, &s) == nil {
		if slices.Contains(allowed, s) {
			return s, ""
		}
	}
	return "", fmt.Sprintf("Invalid input for field/attribute type. Value: %s. %s is not one of %s",
		compute.Clip(string(t)), compute.Clip(string(t)), pyList(allowed))
}

// showConsoleAuthToken answers GET /os-console-auth-tokens/{token}: a 400
// below microversion 2.31, as in Nova (which answered only for RDP
// consoles there); the token's connection from 2.31 on.
func (a *API) showConsoleAuthToken(w http.ResponseWriter, r *http.Request) {
	if !atLeast(r, "2.31") {
		badRequest(w, r, "The server could not comply with the request since it is either malformed or otherwise incorrect.")
		return
	}
	auth, err := a.svc.ConsoleConnection(r.Context(), a.caller(r), mux.Vars(r)["token"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// The VNC server is a unix socket on this host: no host and port to
	// show (Nova's libvirt driver shows QEMU's TCP listener).
	httpx.WriteJSON(w, http.StatusOK, consoleConnectionBody{Console: consoleConnectionView{InstanceUUID: auth.ServerID,
		Host: "localhost"}})
}

// consoleBody answers os-getVNCConsole.
type consoleBody struct {
	Console consoleView `json:"console"`
}

type consoleView struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// remoteConsoleBody answers POST /servers/{id}/remote-consoles.
type remoteConsoleBody struct {
	RemoteConsole remoteConsoleView `json:"remote_console"`
}

type remoteConsoleView struct {
	Protocol string `json:"protocol"`
	Type     string `json:"type"`
	URL      string `json:"url"`
}

// consoleConnectionBody answers GET /os-console-auth-tokens/{token}.
type consoleConnectionBody struct {
	Console consoleConnectionView `json:"console"`
}

type consoleConnectionView struct {
	InstanceUUID       string  `json:"instance_uuid"`
	Host               string  `json:"host"`
	Port               *int    `json:"port"`
	InternalAccessPath *string `json:"internal_access_path"`
}
