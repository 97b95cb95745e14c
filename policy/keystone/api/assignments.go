package api

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
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
	view := func(ra keystone.RoleAssignment) assignmentView { return a.assignmentView(ra, query.Names) }
	writeJSON(w, r, http.StatusOK, struct {
		RoleAssignments []assignmentView `json:"role_assignments"`
		Links           listLinks        `json:"links"`
	}{httpx.ListOf(as, view), a.collectionLinks(r)})
}

// assignmentView renders one role assignment, with names when asked for.
func (a *API) assignmentView(ra keystone.RoleAssignment, names bool) assignmentView {
	v := assignmentView{Role: assignee{ID: ra.RoleID}, User: assignee{ID: ra.UserID}}
	target := &assignee{ID: ra.TargetID}
	if names {
		v.Role.Name, v.User.Name, target.Name = &ra.RoleName, &ra.UserName, &ra.TargetName
		v.User.Domain = &ref{ID: ra.UserDomain.ID, Name: ra.UserDomain.Name}
		if ra.TargetType == keystone.TargetProject {
			target.Domain = &ref{ID: ra.TargetDomain.ID, Name: ra.TargetDomain.Name}
		}
	}
	if ra.TargetType == keystone.TargetProject {
		v.Scope.Project = target
	} else {
		v.Scope.Domain = target
	}
	link := a.baseURL + "/v3/" + ra.TargetType + "s/" + ra.TargetID + "/users/" + ra.UserID + "/roles/"
	v.Links.Assignment = link + ra.RoleID
	if ra.PriorRoleID != "" {
		v.Links = assignmentLinks{Assignment: link + ra.PriorRoleID, PriorRole: a.baseURL + "/v3/roles/" + ra.PriorRoleID}
	}
	return v
}
