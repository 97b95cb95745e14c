package api

import (
	"encoding/json"
	"net/http"

	"imagestack/common/httpx"
	"imagestack/compute/service"
)

// The actions that move a server between hosts: evacuate (from a dead
// host) and migrate (cold).

// evacuateKeys are the keys of the evacuate action's value by microversion:
// onSharedStorage before 2.14, force from 2.29 to 2.67.
var evacuateKeys = append(baseKeys("host", "adminPass"),
	schemaKey{"onSharedStorage", "2.1", "2.14"}, schemaKey{"force", "2.29", "2.68"})

// evacuateBody is the evacuate action's value.
type evacuateBody struct {
	Host            *string         `json:"host"`
	AdminPass       *string         `json:"adminPass"`
	OnSharedStorage json.RawMessage `json:"onSharedStorage"`
	Force           json.RawMessage `json:"force"`
}

// evacuateRequest reads an evacuate action at r's microversion; it also
// says whether the disk was declared on shared storage (before 2.14).
func evacuateRequest(r *http.Request, raw json.RawMessage) (service.EvacuateRequest, bool, string) {
	var b evacuateBody
	msg := unexpectedKeys(r, "evacuate", raw, evacuateKeys)
	if msg == "" && json.Unmarshal(raw, &b) != nil {
		msg = "Invalid input for field/attribute evacuate."
	}
	if msg != "" {
		return service.EvacuateRequest{}, false, msg
	}
	req := service.EvacuateRequest{Host: deref(b.Host), AdminPass: deref(b.AdminPass)}
	if b.Host != nil && (len(*b.Host) == 0 || len(*b.Host) > 255) {
		return req, false, invalidInput("host", *b.Host, "It must be a host name of 1 to 255 characters.")
	}
	shared := false
	if !atLeast(r, "2.14") {
		var ok bool
		if shared, ok = novaBool(b.OnSharedStorage); !ok {
			return req, false, "Invalid input for field/attribute onSharedStorage: 'onSharedStorage' is a required boolean property"
		}
		if shared && b.AdminPass != nil {
			return req, false, "admin password can't be changed on existing disk"
		}
	}
	if len(b.Force) > 0 {
		var ok bool
		if req.Force, ok = novaBool(b.Force); !ok {
			return req, false, "Invalid input for field/attribute force. It must be a boolean."
		}
		if req.Force && req.Host == "" {
			return req, false, "Can't force to a non-provided destination"
		}
	}
	return req, shared, ""
}

// evacuateServer answers {"evacuate": {...}}: 200, with the guest's new
// password before 2.14 (null for a disk declared on shared storage, which
// is rebuilt from its image all the same), no body from 2.14.
func (a *API) evacuateServer(w http.ResponseWriter, r *http.Request, id string, raw json.RawMessage) {
	req, shared, msg := evacuateRequest(r, raw)
	if msg != "" {
		badRequest(w, r, msg)
		return
	}
	pass, err := a.svc.Evacuate(r.Context(), a.caller(r), id, req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if atLeast(r, "2.14") {
		w.WriteHeader(http.StatusOK)
		return
	}
	body := map[string]*string{"adminPass": &pass}
	if shared {
		body["adminPass"] = nil
	}
	httpx.WriteJSON(w, http.StatusOK, body)
}

// migrateServer answers {"migrate": null}, and from 2.56 {"migrate":
// {"host": ...}}: 202.
func (a *API) migrateServer(w http.ResponseWriter, r *http.Request, id string, raw json.RawMessage) {
	host := ""
	if atLeast(r, "2.56") && len(raw) > 0 && string(raw) != "null" {
		var b struct {
			Host *string `json:"host"`
		}
		if msg := unexpectedKeys(r, "migrate", raw, baseKeys("host")); msg != "" {
			badRequest(w, r, msg)
			return
		}
		if json.Unmarshal(raw, &b) != nil || (b.Host != nil && (len(*b.Host) == 0 || len(*b.Host) > 255)) {
			badRequest(w, r, "Invalid input for field/attribute host. It must be a host name of 1 to 255 characters or null.")
			return
		}
		host = deref(b.Host)
	}
	if err := a.svc.Migrate(r.Context(), a.caller(r), id, host); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// liveMigrateKeys are os-migrateLive's keys by microversion:
// disk_over_commit before 2.25, force from 2.30 to 2.67.
var liveMigrateKeys = append(baseKeys("host", "block_migration"),
	schemaKey{"disk_over_commit", "2.1", "2.25"}, schemaKey{"force", "2.30", "2.68"})

// liveMigrateRequest reads os-migrateLive at r's microversion: host and
// block_migration are required (host may be null); block_migration is a
// boolean, or "auto" from 2.25.
func liveMigrateRequest(r *http.Request, raw json.RawMessage) (service.LiveMigrateRequest, string) {
	var b struct {
		Host  *string         `json:"host"`
		Block json.RawMessage `json:"block_migration"`
		Over  json.RawMessage `json:"disk_over_commit"`
		Force json.RawMessage `json:"force"`
	}
	var req service.LiveMigrateRequest
	msg := unexpectedKeys(r, "os-migrateLive", raw, liveMigrateKeys)
	if msg == "" && (json.Unmarshal(raw, &b) != nil || len(b.Block) == 0 || !hasKey(raw, "host")) {
		msg = "Invalid input for field/attribute os-migrateLive: 'host' and 'block_migration' are required properties"
	}
	if msg != "" {
		return req, msg
	}
	req.Host = deref(b.Host)
	if !(atLeast(r, "2.25") && string(b.Block) == `"auto"`) {
		block, ok := novaBool(b.Block)
		if !ok {
			return req, invalidInput("block_migration", string(b.Block), "It must be a boolean (or 'auto' from 2.25).")
		}
		req.Block = &block
	}
	if !atLeast(r, "2.25") {
		if _, ok := novaBool(b.Over); !ok {
			return req, "Invalid input for field/attribute disk_over_commit: a required boolean before 2.25"
		}
	}
	if len(b.Force) > 0 {
		var ok bool
		if req.Force, ok = novaBool(b.Force); !ok {
			return req, "Invalid input for field/attribute force. It must be a boolean."
		}
	}
	return req, ""
}

// hasKey reports whether the JSON object raw has key.
func hasKey(raw json.RawMessage, key string) bool {
	var obj map[string]json.RawMessage
	_ = json.Unmarshal(raw, &obj)
	_, ok := obj[key]
	return ok
}

// liveMigrateServer answers {"os-migrateLive": {...}}: 202.
func (a *API) liveMigrateServer(w http.ResponseWriter, r *http.Request, id string, raw json.RawMessage) {
	req, msg := liveMigrateRequest(r, raw)
	if msg != "" {
		badRequest(w, r, msg)
		return
	}
	if err := a.svc.LiveMigrate(r.Context(), a.caller(r), id, req); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
