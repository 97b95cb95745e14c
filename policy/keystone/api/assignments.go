package api

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"imagestack/policy"
	"imagestack/policy/keystone"
)

// grantFromPath reads /{projects|domains}/{target_id}/users/{user_id}/roles/{role_id}.
func grantFromPath(r *http.Request) keystone.Assignment {
	v := mux.Vars(r)
	tt := keystone.TargetProject
	if strings.HasPrefix(r.URL.Path, "/v3/domains/") {
		tt = keystone.TargetDomain
	}
	return keystone.Assignment{UserID: v["user_id"], TargetType: tt, TargetID: v["target_id"], RoleID: v["role_id"]}
}

func grantTarget(g keystone.Assignment) policy.Target {
	return policy.Target{"target.user.id": g.UserID, "target.role.id": g.RoleID,
		"target." + g.TargetType + ".id": g.TargetID}
}

func (a *API) createGrant(w http.ResponseWriter, r *http.Request) {
	g := grantFromPath(r)
	if !a.authorize(w, r, "identity:create_grant", grantTarget(g)) {
		return
	}
	if err := a.svc.Grant(r.Context(), g); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) revokeGrant(w http.ResponseWriter, r *http.Request) {
	g := grantFromPath(r)
	if !a.authorize(w, r, "identity:revoke_grant", grantTarget(g)) {
		return
	}
	if err := a.svc.Ungrant(r.Context(), g); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) checkGrant(w http.ResponseWriter, r *http.Request) {
	g := grantFromPath(r)
	if !a.authorize(w, r, "identity:check_grant", grantTarget(g)) {
		return
	}
	if err := a.svc.CheckAssignmentRefs(r.Context(), g); err != nil {
		a.fail(w, r, err)
		return
	}
	as, err := a.svc.Repository().ListAssignments(r.Context(), keystone.AssignmentFilter(g))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if len(as) == 0 {
		a.writeError(w, r, http.StatusNotFound, "Could not find role assignment.")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// listGrants answers GET /v3/{projects|domains}/{id}/users/{uid}/roles.
func (a *API) listGrants(w http.ResponseWriter, r *http.Request) {
	g := grantFromPath(r)
	if !a.authorize(w, r, "identity:list_grants", grantTarget(g)) {
		return
	}
	as, err := a.svc.Repository().ListAssignments(r.Context(), keystone.AssignmentFilter{UserID: g.UserID, TargetType: g.TargetType, TargetID: g.TargetID})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var rs []keystone.Role
	for _, as := range as {
		if role, err := a.svc.Repository().GetRole(r.Context(), as.RoleID); err == nil {
			rs = append(rs, role)
		}
	}
	a.renderRoles(w, r, rs)
}

// listRoleAssignments answers GET /v3/role_assignments with Keystone's filters.
func (a *API) listRoleAssignments(w http.ResponseWriter, r *http.Request) {
	if !a.authorize(w, r, "identity:list_role_assignments", nil) {
		return
	}
	q := r.URL.Query()
	if q.Get("group.id") != "" || q.Has("scope.system") {
		// No groups and no system scope exist here, so nothing matches.
		writeJSON(w, r, http.StatusOK, map[string]any{"role_assignments": []any{}, "links": a.collectionLinks(r)})
		return
	}
	f := keystone.AssignmentFilter{UserID: q.Get("user.id"), RoleID: q.Get("role.id")}
	switch {
	case q.Get("scope.project.id") != "" && q.Get("scope.domain.id") != "":
		a.badRequest(w, r, "Specify one of domain or project scope, not both.")
		return
	case q.Get("scope.project.id") != "":
		f.TargetType, f.TargetID = keystone.TargetProject, q.Get("scope.project.id")
	case q.Get("scope.domain.id") != "":
		f.TargetType, f.TargetID = keystone.TargetDomain, q.Get("scope.domain.id")
	}
	effective := q.Has("effective")
	names := q.Has("include_names") && q.Get("include_names") != "false" && q.Get("include_names") != "0"
	view, err := newAssignmentRenderer(r.Context(), a, names)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if effective && f.RoleID != "" {
		// An effective role may come from an implied one: filter after expansion.
		f.RoleID = ""
	}
	as, err := a.svc.Repository().ListAssignments(r.Context(), f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := []any{}
	for _, as := range as {
		out = append(out, view.render(as, ""))
		if effective {
			for _, implied := range view.implied(as.RoleID) {
				ia := as
				ia.RoleID = implied
				out = append(out, view.render(ia, as.RoleID))
			}
		}
	}
	if effective && q.Get("role.id") != "" {
		kept := []any{}
		for _, item := range out {
			if item.(map[string]any)["role"].(map[string]any)["id"] == q.Get("role.id") {
				kept = append(kept, item)
			}
		}
		out = kept
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"role_assignments": out, "links": a.collectionLinks(r)})
}
