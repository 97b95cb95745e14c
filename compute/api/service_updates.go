package api

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/compute/service"
)

// serviceActionBody is what the os-services actions before 2.53 answer:
// the service named and what changed.
type serviceActionBody struct {
	Service struct {
		Host           string  `json:"host"`
		Binary         string  `json:"binary"`
		Status         string  `json:"status,omitempty"`
		DisabledReason *string `json:"disabled_reason,omitempty"`
		ForcedDown     *bool   `json:"forced_down,omitempty"`
	} `json:"service"`
}

// updateService answers PUT /os-services/{id}: from 2.53 {id} is a
// service's UUID and the body says what to change; before, {id} is an
// action (enable, disable, disable-log-reason, force-down from 2.11) on
// the service the body's host and binary name.
func (a *API) updateService(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["service_id"]
	var body map[string]any
	if !decodeBody(w, r, &body) {
		return
	}
	if atLeast(r, "2.53") {
		a.updateServiceByID(w, r, id, body)
		return
	}
	allowed := []string{"host", "binary", "disabled_reason"}
	if atLeast(r, "2.11") {
		allowed = append(allowed, "forced_down")
	}
	host, binary, ch, msg := serviceActionChange(body, allowed, id)
	if msg != "" {
		badRequest(w, r, msg)
		return
	}
	if ch == nil || id == "force-down" && !atLeast(r, "2.11") {
		writeError(w, r, http.StatusNotFound, "Unknown action")
		return
	}
	if _, err := a.svc.UpdateServiceByHost(r.Context(), a.caller(r), host, binary, *ch); err != nil {
		a.fail(w, r, err)
		return
	}
	var out serviceActionBody
	out.Service.Host, out.Service.Binary = host, binary
	if ch.ForcedDown != nil {
		out.Service.ForcedDown = ch.ForcedDown
	} else {
		out.Service.Status = map[bool]string{true: "disabled", false: "enabled"}[*ch.Disabled]
		out.Service.DisabledReason = ch.DisabledReason
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

// serviceActionChange reads the body of an os-services action before
// 2.53: the host, the binary and the change; a nil change for an unknown
// action, or the message of a 400.
func serviceActionChange(body map[string]any, allowed []string, action string) (string, string, *service.ServiceChange, string) {
	if msg := onlyKeys("", body, allowed...); msg != "" {
		return "", "", nil, msg
	}
	host, msg := requiredString(body, "host")
	if msg != "" {
		return "", "", nil, msg
	}
	binary, msg := requiredString(body, "binary")
	if msg != "" {
		return "", "", nil, msg
	}
	var reason *string
	if v, ok := body["disabled_reason"]; ok {
		s, msg := stringParam("disabled_reason", v, 255, false)
		if msg == "" && s == "" {
			msg = invalidInput("disabled_reason", "", "'' is too short")
		}
		if msg != "" {
			return "", "", nil, msg
		}
		reason = &s
	}
	yes, no := true, false
	switch action {
	case "enable":
		return host, binary, &service.ServiceChange{Disabled: &no}, ""
	case "disable":
		return host, binary, &service.ServiceChange{Disabled: &yes}, ""
	case "disable-log-reason":
		if reason == nil {
			return "", "", nil, "Missing disabled reason field"
		}
		return host, binary, &service.ServiceChange{Disabled: &yes, DisabledReason: reason}, ""
	case "force-down":
		v, ok := body["forced_down"]
		if !ok {
			return "", "", nil, "Missing forced_down field"
		}
		down, msg := boolParam("forced_down", v)
		return host, binary, &service.ServiceChange{ForcedDown: &down}, msg
	}
	return host, binary, nil, ""
}

// requiredString reads a required string of 1 to 255 characters.
func requiredString(body map[string]any, key string) (string, string) {
	v, ok := body[key]
	if !ok {
		return "", "Invalid input for field/attribute " + key + ". '" + key + "' is a required property"
	}
	s, msg := stringParam(key, v, 255, false)
	if msg == "" && s == "" {
		msg = invalidInput(key, "", "'' is too short")
	}
	return s, msg
}

// updateServiceByID is 2.53's PUT /os-services/{uuid} {"status",
// "disabled_reason", "forced_down"}.
func (a *API) updateServiceByID(w http.ResponseWriter, r *http.Request, id string, body map[string]any) {
	if _, err := uuid.Parse(id); err != nil {
		badRequest(w, r, "Invalid uuid "+clip(id))
		return
	}
	if msg := onlyKeys("", body, "status", "disabled_reason", "forced_down"); msg != "" {
		badRequest(w, r, msg)
		return
	}
	ch, msg := serviceChange(body)
	if msg != "" {
		badRequest(w, r, msg)
		return
	}
	sv, err := a.svc.UpdateService(r.Context(), a.caller(r), id, ch)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v := serviceViewAt(r, sv)
	httpx.WriteJSON(w, http.StatusOK, map[string]serviceView{"service": v})
}

// serviceChange reads 2.53's update body.
func serviceChange(body map[string]any) (service.ServiceChange, string) {
	var ch service.ServiceChange
	if v, ok := body["disabled_reason"]; ok {
		s, msg := stringParam("disabled_reason", v, 255, false)
		if msg == "" && s == "" {
			msg = invalidInput("disabled_reason", "", "'' is too short")
		}
		if msg != "" {
			return ch, msg
		}
		ch.DisabledReason = &s
	}
	if v, ok := body["status"]; ok {
		switch v {
		case "enabled":
			if ch.DisabledReason != nil {
				return ch, "Specifying 'disabled_reason' with status 'enabled' is invalid."
			}
			no := false
			ch.Disabled = &no
		case "disabled":
			yes := true
			ch.Disabled = &yes
		default:
			return ch, invalidInput("status", v, "It is not one of ['enabled', 'disabled']")
		}
	}
	if v, ok := body["forced_down"]; ok {
		down, msg := boolParam("forced_down", v)
		if msg != "" {
			return ch, msg
		}
		ch.ForcedDown = &down
	}
	return ch, ""
}

// deleteService answers DELETE /os-services/{id}: a UUID from 2.53, an
// integer before.
func (a *API) deleteService(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["service_id"]
	byUUID := atLeast(r, "2.53")
	if _, err := uuid.Parse(id); byUUID && err != nil {
		badRequest(w, r, "Invalid uuid "+clip(id))
		return
	}
	if _, msg := intParam("id", id, nonNegative); !byUUID && msg != "" {
		badRequest(w, r, "id must be an integer")
		return
	}
	if err := a.svc.DeleteService(r.Context(), a.caller(r), id, byUUID); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
