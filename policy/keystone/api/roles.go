package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/policy"
	"imagestack/policy/keystone"
)

type roleBody struct {
	Role *struct {
		Name        *string `json:"name"`
		Description *string `json:"description"`
		DomainID    *string `json:"domain_id"`
	} `json:"role"`
}

func (a *API) roleView(r keystone.Role) map[string]any {
	return map[string]any{
		"id": r.ID, "name": r.Name, "domain_id": nil, "description": r.Description,
		"options": map[string]any{}, "links": a.selfLink("/v3/roles/" + r.ID),
	}
}

func (a *API) listRoles(w http.ResponseWriter, r *http.Request) {
	if !a.authorize(w, r, "identity:list_roles", nil) {
		return
	}
	q := r.URL.Query()
	if q.Get("domain_id") != "" {
		// Domain-specific roles do not exist here.
		writeJSON(w, r, http.StatusOK, map[string]any{"roles": []any{}, "links": a.collectionLinks(r)})
		return
	}
	rs, err := a.svc.Repository().ListRoles(r.Context(), q.Get("name"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.renderRoles(w, r, rs)
}

func (a *API) renderRoles(w http.ResponseWriter, r *http.Request, rs []keystone.Role) {
	out := make([]any, len(rs))
	for i, role := range rs {
		out[i] = a.roleView(role)
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"roles": out, "links": a.collectionLinks(r)})
}

func (a *API) showRole(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["role_id"]
	if !a.authorize(w, r, "identity:get_role", policy.Target{"target.role.id": id}) {
		return
	}
	role, err := a.svc.Repository().GetRole(r.Context(), id)
	if err != nil {
		a.fail(w, r, notFoundMsg(err, "role", id))
		return
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"role": a.roleView(role)})
}

func (a *API) createRole(w http.ResponseWriter, r *http.Request) {
	if !a.authorize(w, r, "identity:create_role", nil) {
		return
	}
	var body roleBody
	if !a.decode(w, r, &body) {
		return
	}
	if body.Role == nil || body.Role.Name == nil {
		a.badRequest(w, r, "Invalid input for field 'role': 'name' is a required property.")
		return
	}
	if body.Role.DomainID != nil && *body.Role.DomainID != "" {
		a.badRequest(w, r, "Domain-specific roles are not supported.")
		return
	}
	role, err := a.svc.CreateRole(r.Context(), keystone.Role{Name: *body.Role.Name, Description: deref(body.Role.Description)})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, map[string]any{"role": a.roleView(role)})
}

func (a *API) updateRole(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["role_id"]
	if !a.authorize(w, r, "identity:update_role", policy.Target{"target.role.id": id}) {
		return
	}
	var body roleBody
	if !a.decode(w, r, &body) {
		return
	}
	if body.Role == nil {
		a.badRequest(w, r, "Invalid input for field 'role': an object is required.")
		return
	}
	role, err := a.svc.UpdateRole(r.Context(), id, body.Role.Name, body.Role.Description)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"role": a.roleView(role)})
}

func (a *API) deleteRole(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["role_id"]
	if !a.authorize(w, r, "identity:delete_role", policy.Target{"target.role.id": id}) {
		return
	}
	if err := a.svc.DeleteRole(r.Context(), id); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
