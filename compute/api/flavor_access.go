package api

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/compute"
)

// listFlavorAccess answers GET /flavors/{id}/os-flavor-access.
func (a *API) listFlavorAccess(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["flavor_id"]
	projects, err := a.svc.FlavorAccess(r.Context(), a.caller(r), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, flavorAccessView(id, projects))
}

// flavorAction answers POST /flavors/{id}/action: addTenantAccess and
// removeTenantAccess, each {"tenant": "<project id>"}.
func (a *API) flavorAction(w http.ResponseWriter, r *http.Request) {
	action, raw, ok := decodeAction(w, r)
	if !ok {
		return
	}
	change := a.svc.AddFlavorAccess
	switch action {
	case "addTenantAccess":
	case "removeTenantAccess":
		change = a.svc.RemoveFlavorAccess
	default:
		badRequest(w, r, "There is no such action: "+compute.Clip(action))
		return
	}
	var req map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&req) != nil || req == nil {
		badRequest(w, r, invalidInput(action, string(raw), "It is not of type 'object'"))
		return
	}
	if msg := onlyKeys(action, req, "tenant"); msg != "" {
		badRequest(w, r, msg)
		return
	}
	if _, ok := req["tenant"]; !ok {
		badRequest(w, r, "Invalid input for field/attribute "+action+". Value: {}. 'tenant' is a required property")
		return
	}
	tenant, msg := stringParam("tenant", req["tenant"], 255, false)
	if msg != "" {
		badRequest(w, r, msg)
		return
	}
	id := mux.Vars(r)["flavor_id"]
	projects, err := change(r.Context(), a.caller(r), id, tenant)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, flavorAccessView(id, projects))
}
