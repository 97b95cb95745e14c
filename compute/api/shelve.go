package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"imagestack/common/httpx"
	"imagestack/compute"
	"imagestack/compute/service"
)

// unshelveServer answers {"unshelve": null}; from microversion 2.77 the
// value may also be {"availability_zone": "<zone>"} (only for an
// offloaded server). Before 2.77 the value is not looked at, as in Nova.
func (a *API) unshelveServer(w http.ResponseWriter, r *http.Request, id string, raw json.RawMessage) {
	var req service.UnshelveRequest
	if atLeast(r, "2.77") && len(raw) > 0 && string(raw) != "null" {
		var body map[string]json.RawMessage
		var zone string
		err := json.Unmarshal(raw, &body)
		if err == nil && len(body) == 1 && body["availability_zone"] != nil {
			err = json.Unmarshal(body["availability_zone"], &zone)
		}
		if err != nil || len(body) != 1 || body["availability_zone"] == nil || !validName(zone) {
			badRequest(w, r, "Invalid input for field/attribute unshelve. Value: "+clip(string(raw))+
				". It must be null or {\"availability_zone\": <name>}.")
			return
		}
		req.AvailabilityZone = &zone
	}
	if err := a.svc.Unshelve(r.Context(), a.caller(r), id, req); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// validName is Nova's parameter_types.name: 1 to 255 characters, without
// leading or trailing whitespace.
func validName(s string) bool {
	return s != "" && len([]rune(s)) <= 255 && strings.TrimSpace(s) == s
}

// imageIDBody is the answer of createImage and createBackup from 2.45.
type imageIDBody struct {
	ImageID string `json:"image_id"`
}

// createBackup answers {"createBackup": {"name", "backup_type", "rotation",
// "metadata"}}: 202 with the image's Location (when rotation > 0) before
// 2.45, the body {"image_id"} from 2.45.
func (a *API) createBackup(w http.ResponseWriter, r *http.Request, id string, raw json.RawMessage) {
	req, msg := backupRequest(raw)
	if msg != "" {
		badRequest(w, r, msg)
		return
	}
	imageID, err := a.svc.CreateBackup(r.Context(), a.caller(r), id, req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	location := "" // Nova gives none for a backup rotated away at once
	if req.Rotation > 0 {
		location = a.baseURL + "/v2.1/images/" + imageID
	}
	imageAccepted(w, r, imageID, location)
}

// imageAccepted answers an action that makes an image: 202 with the body
// {"image_id"} from 2.45, before that with the Location header ("" none).
func imageAccepted(w http.ResponseWriter, r *http.Request, imageID, location string) {
	if atLeast(r, "2.45") {
		httpx.WriteJSON(w, http.StatusAccepted, imageIDBody{ImageID: imageID})
		return
	}
	if location != "" {
		w.Header().Set("Location", location)
	}
	w.WriteHeader(http.StatusAccepted)
}

// backupRequest validates createBackup's value as Nova's schema does; the
// message is "" when it is valid.
func backupRequest(raw json.RawMessage) (service.BackupRequest, string) {
	var req service.BackupRequest
	var body map[string]json.RawMessage
	if json.Unmarshal(raw, &body) != nil || body == nil {
		return req, "Invalid input for field/attribute createBackup. Value: " + clip(string(raw)) + ". It is not of type 'object'"
	}
	for k := range body {
		if k != "name" && k != "backup_type" && k != "rotation" && k != "metadata" {
			return req, "Additional properties are not allowed ('" + clip(k) + "' was unexpected)"
		}
	}
	for _, k := range []string{"name", "backup_type", "rotation"} {
		if body[k] == nil {
			return req, "Invalid input for field/attribute createBackup. Value: " + clip(string(raw)) + ". '" + k + "' is a required property"
		}
	}
	if json.Unmarshal(body["name"], &req.Name) != nil {
		return req, "Invalid input for field/attribute name. Value: " + clip(string(body["name"])) + ". It is not of type 'string'"
	}
	if json.Unmarshal(body["backup_type"], &req.BackupType) != nil {
		return req, "Invalid input for field/attribute backup_type. Value: " + clip(string(body["backup_type"])) + ". It is not of type 'string'"
	}
	n, ok := nonNegativeInt(body["rotation"])
	if !ok {
		return req, "Invalid input for field/attribute rotation. Value: " + clip(string(body["rotation"])) + ". It must be an integer >= 0."
	}
	req.Rotation = n
	if md, ok := body["metadata"]; ok && json.Unmarshal(md, &req.Metadata) != nil {
		return req, "Invalid input for field/attribute metadata. Value: " + clip(string(md)) + ". It must be an object of strings."
	}
	return req, ""
}

// nonNegativeInt reads Nova's non_negative_integer: an integer >= 0 or a
// string of digits.
func nonNegativeInt(raw json.RawMessage) (int, bool) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		var num json.Number
		if json.Unmarshal(raw, &num) != nil {
			return 0, false
		}
		s = num.String()
	}
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// The status filter of server listings knows the shelved statuses too
// (kept here, beside the shelve actions, so that the listing's table
// stays as it is).
func init() {
	statusToVMState["SHELVED"] = compute.VMShelved
	statusToVMState["SHELVED_OFFLOADED"] = compute.VMShelvedOffloaded
}
