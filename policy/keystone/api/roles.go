package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/policy/keystone"
)

type roleBody struct {
	Role *struct {
		Name        *string `json:"name"`
		Description *string `json:"description"`
		DomainID    *string `json:"domain_id"`
	} `json:"role"`
}

func (a *API) roleView(r keystone.Role) roleView {
	return roleView{ID: r.ID, Name: r.Name, Description: r.Description,
		Options: options{}, Links: a.selfLink("/v3/roles/" + r.ID)}
}

func (a *API) listRoles(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rs, err := a.svc.ListRoles(r.Context(), creds(r), q.Get("name"), q.Get("domain_id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.renderRoles(w, r, rs)
}

func (a *API) renderRoles(w http.ResponseWriter, r *http.Request, rs []keystone.Role) {
	writeJSON(w, r, http.StatusOK, struct {
		Roles []roleView `json:"roles"`
		Links listLinks  `json:"links"`
	}{httpx.ListOf(rs, a.roleView), a.collectionLinks(r)})
}

// renderRole answers one role with status, or err.
func (a *API) renderRole(w http.ResponseWriter, r *http.Request, status int, role keystone.Role, err error) {
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, r, status, struct {
		Role roleView `json:"role"`
	}{a.roleView(role)})
}

func (a *API) showRole(w http.ResponseWriter, r *http.Request) {
	role, err := a.svc.GetRole(r.Context(), creds(r), mux.Vars(r)["role_id"])
	a.renderRole(w, r, http.StatusOK, role, err)
}

func (a *API) createRole(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.MayCreateRole(creds(r)); err != nil {
		a.fail(w, r, err)
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
	role, err := a.svc.CreateRole(r.Context(), creds(r), keystone.Role{Name: *body.Role.Name, Description: deref(body.Role.Description)})
	a.renderRole(w, r, http.StatusCreated, role, err)
}

func (a *API) updateRole(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["role_id"]
	if err := a.svc.MayUpdateRole(creds(r), id); err != nil {
		a.fail(w, r, err)
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
	role, err := a.svc.UpdateRole(r.Context(), creds(r), id, body.Role.Name, body.Role.Description)
	a.renderRole(w, r, http.StatusOK, role, err)
}

func (a *API) deleteRole(w http.ResponseWriter, r *http.Request) {
	a.noContent(w, r, a.svc.DeleteRole(r.Context(), creds(r), mux.Vars(r)["role_id"]))
}
