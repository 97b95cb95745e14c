package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/compute"
	"imagestack/compute/service"
)

// serverActionFunc runs one server action: it decodes the action's value
// (body), calls the service and writes the answer.
type serverActionFunc func(a *API, w http.ResponseWriter, r *http.Request, id string, body json.RawMessage)

// serverActions is the table of POST /servers/{id}/action, by action name
// (the body's one key). A new action is one entry here and, for most, a
// service method.
var serverActions = map[string]serverActionFunc{
	"os-start":            accepted((*service.Service).Start),
	"os-stop":             accepted((*service.Service).Stop),
	"reboot":              (*API).rebootServer,
	"os-getConsoleOutput": (*API).showConsoleOutput,
	"os-getVNCConsole":    (*API).getVNCConsole,
	"rebuild":             (*API).rebuildServer,
	"createImage":         (*API).createServerImage,
	"lock":                (*API).lockServer,
	"unlock":              accepted((*service.Service).Unlock),
	"pause":               accepted((*service.Service).Pause),
	"unpause":             accepted((*service.Service).Unpause),
	"shelve":              accepted((*service.Service).Shelve),
	"shelveOffload":       accepted((*service.Service).ShelveOffload),
	"unshelve":            (*API).unshelveServer,
	"createBackup":        (*API).createBackup,
	// lifecycle.go
	"suspend":            accepted((*service.Service).Suspend),
	"resume":             accepted((*service.Service).Resume),
	"resize":             (*API).resizeServer,
	"confirmResize":      confirmResize,
	"revertResize":       accepted((*service.Service).RevertResize),
	"os-resetState":      (*API).resetState,
	"restore":            accepted((*service.Service).Restore),
	"forceDelete":        accepted((*service.Service).ForceDelete),
	"trigger_crash_dump": (*API).triggerCrashDump,
	// moves.go
	"evacuate": (*API).evacuateServer,
	"migrate":  (*API).migrateServer,
	// os-migrateLive
	"os-migrateLive": (*API).liveMigrateServer,
}

// lockServer answers {"lock": null}, and from 2.73 {"lock":
// {"locked_reason": ...}} (at most 255 characters).
func (a *API) lockServer(w http.ResponseWriter, r *http.Request, id string, raw json.RawMessage) {
	reason, msg := lockReason(r, raw)
	if msg != "" {
		badRequest(w, r, msg)
		return
	}
	if err := a.svc.Lock(r.Context(), a.caller(r), id, reason); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// lockReason reads the lock action's value at r's microversion.
func lockReason(r *http.Request, raw json.RawMessage) (string, string) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", ""
	}
	if !atLeast(r, "2.73") {
		if string(raw) == "{}" {
			return "", ""
		}
		return "", "Invalid input for field/attribute lock. Value: " + clip(string(raw)) + ". A lock reason needs microversion 2.73."
	}
	if msg := unexpectedKeys(r, "lock", raw, baseKeys("locked_reason")); msg != "" {
		return "", msg
	}
	var body struct {
		Reason *string `json:"locked_reason"`
	}
	if json.Unmarshal(raw, &body) != nil || body.Reason == nil || len([]rune(*body.Reason)) > 255 {
		return "", "Invalid input for field/attribute locked_reason. Value: " + clip(string(raw)) + ". It must be a string of at most 255 characters."
	}
	return *body.Reason, ""
}

// serverAction answers POST /servers/{id}/action from the action table.
func (a *API) serverAction(w http.ResponseWriter, r *http.Request) {
	name, raw, ok := decodeAction(w, r)
	if !ok {
		return
	}
	act, ok := serverActions[name]
	if !ok {
		badRequest(w, r, "There is no such action: "+compute.Clip(name))
		return
	}
	act(a, w, r, mux.Vars(r)["server_id"], raw)
}

// accepted is an action that takes no arguments and answers 202.
func accepted(call func(*service.Service, context.Context, service.Caller, string) error) serverActionFunc {
	return func(a *API, w http.ResponseWriter, r *http.Request, id string, _ json.RawMessage) {
		if err := call(a.svc, r.Context(), a.caller(r), id); err != nil {
			a.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}
}

// rebootServer answers {"reboot": {"type": "SOFT"|"HARD"}}.
func (a *API) rebootServer(w http.ResponseWriter, r *http.Request, id string, raw json.RawMessage) {
	var rb struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(raw, &rb) != nil || (rb.Type != "SOFT" && rb.Type != "HARD") {
		badRequest(w, r, "Invalid input for field/attribute type: must be SOFT or HARD.")
		return
	}
	if err := a.svc.Reboot(r.Context(), a.caller(r), id, rb.Type == "HARD"); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// showConsoleOutput answers {"os-getConsoleOutput": {"length": n}}.
func (a *API) showConsoleOutput(w http.ResponseWriter, r *http.Request, id string, raw json.RawMessage) {
	length, ok := consoleLength(raw)
	if !ok {
		badRequest(w, r, "Invalid input for field/attribute length. It must be an integer >= -1 or null.")
		return
	}
	out, err := a.svc.ConsoleOutput(r.Context(), a.caller(r), id, length)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, consoleOutputBody{Output: out})
}

// rebuildBody is the rebuild action's value; rebuildKeys are the keys
// Nova's schema allows at each microversion.
type rebuildBody struct {
	ImageRef    string          `json:"imageRef"`
	Name        *string         `json:"name"`
	AdminPass   *string         `json:"adminPass"`
	AccessIPv4  *string         `json:"accessIPv4"`
	AccessIPv6  *string         `json:"accessIPv6"`
	Description nullableString  `json:"description"`
	KeyName     nullableString  `json:"key_name"`
	UserData    nullableString  `json:"user_data"`
	Hostname    *string         `json:"hostname"`
	Certs       json.RawMessage `json:"trusted_image_certificates"`
}

// rebuildRequest reads a rebuild's value as Nova's schema at r's
// microversion allows it, or returns the message of a 400.
func rebuildRequest(r *http.Request, raw json.RawMessage) (service.RebuildRequest, string) {
	var rb rebuildBody
	msg := unexpectedKeys(r, "rebuild", raw, rebuildKeys)
	if msg == "" && (json.Unmarshal(raw, &rb) != nil || rb.ImageRef == "") {
		msg = "Invalid input for field/attribute imageRef: 'imageRef' is a required property"
	}
	if msg == "" {
		msg = rb.Description.checkDescription()
	}
	if msg == "" {
		msg = checkHostname(rb.Hostname)
	}
	if msg == "" && len(rb.Certs) > 0 && string(rb.Certs) != "null" && string(rb.Certs) != "[]" {
		msg = "Image certificate validation is not supported here: trusted_image_certificates must be null or empty."
	}
	if msg != "" {
		return service.RebuildRequest{}, msg
	}
	req := service.RebuildRequest{ImageRef: rb.ImageRef, Name: rb.Name, AdminPass: deref(rb.AdminPass), Hostname: rb.Hostname}
	if rb.Description.set {
		req.Description = service.To(rb.Description.value)
	}
	if rb.KeyName.set {
		req.KeyName = service.To(deref(rb.KeyName.value))
	}
	if rb.UserData.set {
		data, msg := decodeUserData(rb.UserData.value)
		if msg != "" {
			return req, msg
		}
		req.UserData = service.To(data)
	}
	req.AccessIPv4, req.AccessIPv6, msg = optionalAccessIPs(rb.AccessIPv4, rb.AccessIPv6)
	return req, msg
}

// rebuildServer answers {"rebuild": {...}} with the server (the full view
// from 2.75) and its new adminPass.
func (a *API) rebuildServer(w http.ResponseWriter, r *http.Request, id string, raw json.RawMessage) {
	req, msg := rebuildRequest(r, raw)
	if msg != "" {
		badRequest(w, r, msg)
		return
	}
	sv, pass, err := a.svc.Rebuild(r.Context(), a.caller(r), id, req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	show := a.changedShow(r, sv)
	show.keyName, show.userData = atLeast(r, "2.54"), false
	view := a.serverAt(r, sv, show)
	view.AdminPass = pass
	if atLeast(r, "2.57") {
		view.UserData = some(encodedUserData(sv))
	}
	httpx.WriteJSON(w, http.StatusAccepted, serverBody[serverView]{Server: view})
}

// createServerImage answers {"createImage": {"name", "metadata"}} with the
// new image's Location before 2.45, the body {"image_id"} from 2.45.
func (a *API) createServerImage(w http.ResponseWriter, r *http.Request, id string, raw json.RawMessage) {
	var ci struct {
		Name     string            `json:"name"`
		Metadata map[string]string `json:"metadata"`
	}
	if json.Unmarshal(raw, &ci) != nil {
		badRequest(w, r, "Invalid input for field/attribute createImage.")
		return
	}
	imageID, err := a.svc.CreateImage(r.Context(), a.caller(r), id, ci.Name, ci.Metadata)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	imageAccepted(w, r, imageID, a.imageURL+"/v2/images/"+imageID)
}

// consoleLength reads os-getConsoleOutput's length: an integer, a digit
// string or null (nil: all the output).
func consoleLength(raw json.RawMessage) (*int, bool) {
	var co struct {
		Length json.RawMessage `json:"length"`
	}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &co); err != nil {
			return nil, false
		}
	}
	if len(co.Length) == 0 || string(co.Length) == "null" {
		return nil, true
	}
	v, ok := stringOrNumber(co.Length)
	n, err := strconv.Atoi(v)
	if !ok || err != nil || n < -1 {
		return nil, false
	}
	return &n, true
}
