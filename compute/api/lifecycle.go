package api

import (
	"encoding/json"
	"net/http"
)

// The keys Nova's schemas allow in the resize and os-resetState actions.
var (
	resizeKeys     = baseKeys("flavorRef", "OS-DCF:diskConfig")
	resetStateKeys = baseKeys("state")
)

// resizeServer answers {"resize": {"flavorRef": ..., "OS-DCF:diskConfig":
// "AUTO"|"MANUAL"}} (the disk config is accepted; disks here are never
// repartitioned).
func (a *API) resizeServer(w http.ResponseWriter, r *http.Request, id string, raw json.RawMessage) {
	var rz struct {
		FlavorRef  json.RawMessage `json:"flavorRef"`
		DiskConfig *string         `json:"OS-DCF:diskConfig"`
	}
	if msg := unexpectedKeys(r, "resize", raw, resizeKeys); msg != "" {
		badRequest(w, r, msg)
		return
	}
	if json.Unmarshal(raw, &rz) != nil || len(rz.FlavorRef) == 0 {
		badRequest(w, r, "Invalid input for field/attribute resize. Value: "+clip(string(raw))+". 'flavorRef' is a required property")
		return
	}
	ref, ok := stringOrNumber(rz.FlavorRef)
	if !ok || ref == "" {
		badRequest(w, r, "Invalid input for field/attribute flavorRef. Value: "+clip(string(rz.FlavorRef))+". It must be a non-empty string or an integer.")
		return
	}
	if rz.DiskConfig != nil && *rz.DiskConfig != "AUTO" && *rz.DiskConfig != "MANUAL" {
		badRequest(w, r, "Invalid input for field/attribute OS-DCF:diskConfig. Value: "+clip(*rz.DiskConfig)+". '"+clip(*rz.DiskConfig)+"' is not one of ['AUTO', 'MANUAL']")
		return
	}
	if err := a.svc.Resize(r.Context(), a.caller(r), id, ref); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// confirmResize answers {"confirmResize": null} with 204, as Nova does.
func confirmResize(a *API, w http.ResponseWriter, r *http.Request, id string, _ json.RawMessage) {
	if err := a.svc.ConfirmResize(r.Context(), a.caller(r), id); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// resetState answers {"os-resetState": {"state": "active"|"error"}}.
func (a *API) resetState(w http.ResponseWriter, r *http.Request, id string, raw json.RawMessage) {
	var rs struct {
		State *string `json:"state"`
	}
	if msg := unexpectedKeys(r, "os-resetState", raw, resetStateKeys); msg != "" {
		badRequest(w, r, msg)
		return
	}
	if json.Unmarshal(raw, &rs) != nil || rs.State == nil {
		badRequest(w, r, "Invalid input for field/attribute os-resetState. Value: "+clip(string(raw))+". 'state' is a required property")
		return
	}
	if err := a.svc.ResetState(r.Context(), a.caller(r), id, *rs.State); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// triggerCrashDump answers {"trigger_crash_dump": null} from microversion
// 2.17; below it the action does not exist (Nova's bare 404).
func (a *API) triggerCrashDump(w http.ResponseWriter, r *http.Request, id string, _ json.RawMessage) {
	if !atLeast(r, "2.17") {
		writeError(w, r, http.StatusNotFound, "The resource could not be found.")
		return
	}
	if err := a.svc.TriggerCrashDump(r.Context(), a.caller(r), id); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
