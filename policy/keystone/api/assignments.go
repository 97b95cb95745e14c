package api

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

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

func (a *API) createGrant(w http.ResponseWriter, r *http.Request) {
	a.noContent(w, r, a.svc.Grant(r.Context(), creds(r), grantFromPath(r)))
}

func (a *API) revokeGrant(w http.ResponseWriter, r *http.Request) {
	a.noContent(w, r, a.svc.Ungrant(r.Context(), creds(r), grantFromPath(r)))
}

func (a *API) checkGrant(w http.ResponseWriter, r *http.Request) {
	a.noContent(w, r, a.svc.CheckGrant(r.Context(), creds(r), grantFromPath(r)))
}

// listGrants answers GET /v3/{projects|domains}/{id}/users/{uid}/roles.
func (a *API) listGrants(w http.ResponseWriter, r *http.Request) {
	rs, err := a.svc.ListGrants(r.Context(), creds(r), grantFromPath(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.renderRoles(w, r, rs)
}

// listRoleAssignments answers GET /v3/role_assignments with Keystone's filters.
func (a *API) listRoleAssignments(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	query := keystone.AssignmentQuery{UserID: q.Get("user.id"), RoleID: q.Get("role.id"),
		ProjectID: q.Get("scope.project.id"), DomainID: q.Get("scope.domain.id"),
		GroupID: q.Get("group.id"), System: q.Has("scope.system"), Effective: q.Has("effective"),
		Names: q.Has("include_names") && q.Get("include_names") != "false" && q.Get("include_names") != "0"}
	as, err := a.svc.ListRoleAssignments(r.Context(), creds(r), query)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]any, len(as))
	for i, ra := range as {
		out[i] = a.assignmentView(ra, query.Names)
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"role_assignments": out, "links": a.collectionLinks(r)})
}

// assignmentView renders one role assignment, with names when asked for.
func (a *API) assignmentView(ra keystone.RoleAssignment, names bool) map[string]any {
	role := map[string]any{"id": ra.RoleID}
	user := map[string]any{"id": ra.UserID}
	target := map[string]any{"id": ra.TargetID}
	if names {
		role["name"], user["name"], target["name"] = ra.RoleName, ra.UserName, ra.TargetName
		user["domain"] = map[string]any{"id": ra.UserDomain.ID, "name": ra.UserDomain.Name}
		if ra.TargetType == keystone.TargetProject {
			target["domain"] = map[string]any{"id": ra.TargetDomain.ID, "name": ra.TargetDomain.Name}
		}
	}
	link := a.baseURL + "/v3/" + ra.TargetType + "s/" + ra.TargetID + "/users/" + ra.UserID + "/roles/"
	links := map[string]any{"assignment": link + ra.RoleID}
	if ra.PriorRoleID != "" {
		links = map[string]any{"assignment": link + ra.PriorRoleID, "prior_role": a.baseURL + "/v3/roles/" + ra.PriorRoleID}
	}
	return map[string]any{"role": role, "user": user, "scope": map[string]any{ra.TargetType: target}, "links": links}
}
