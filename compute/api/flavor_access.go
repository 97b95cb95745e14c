package api

import (
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
	var req struct {
		Tenant *string `json:"tenant"`
	}
	if json.Unmarshal(raw, &req) != nil || req.Tenant == nil {
		badRequest(w, r, "Invalid input for field/attribute "+action+". 'tenant' is a required property")
		return
	}
	id := mux.Vars(r)["flavor_id"]
	projects, err := change(r.Context(), a.caller(r), id, *req.Tenant)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, flavorAccessView(id, projects))
}
