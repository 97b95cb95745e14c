package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/policy"
	"imagestack/policy/authn"
	"imagestack/policy/keystone"
)

type projectBody struct {
	Project *struct {
		Name        *string `json:"name"`
		DomainID    *string `json:"domain_id"`
		Description *string `json:"description"`
		Enabled     *bool   `json:"enabled"`
		ParentID    *string `json:"parent_id"`
		IsDomain    *bool   `json:"is_domain"`
	} `json:"project"`
}

func (a *API) projectView(p keystone.Project) map[string]any {
	return map[string]any{
		"id": p.ID, "name": p.Name, "domain_id": p.DomainID, "description": p.Description,
		"enabled": p.Enabled, "parent_id": p.DomainID, "is_domain": false,
		"tags": []string{}, "options": map[string]any{},
		"links": a.selfLink("/v3/projects/" + p.ID),
	}
}

func (a *API) listProjects(w http.ResponseWriter, r *http.Request) {
	if !a.authorize(w, r, "identity:list_projects", nil) {
		return
	}
	q := r.URL.Query()
	enabled, ok := boolParam(r, "enabled")
	if !ok {
		a.badRequest(w, r, "Invalid value for query parameter 'enabled'.")
		return
	}
	ps, err := a.svc.Repository().ListProjects(r.Context(), keystone.ProjectFilter{Name: q.Get("name"), DomainID: q.Get("domain_id"), Enabled: enabled})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.renderProjects(w, r, ps)
}

func (a *API) renderProjects(w http.ResponseWriter, r *http.Request, ps []keystone.Project) {
	out := make([]any, len(ps))
	for i, p := range ps {
		out[i] = a.projectView(p)
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"projects": out, "links": a.collectionLinks(r)})
}

func (a *API) showProject(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["project_id"]
	if !a.authorize(w, r, "identity:get_project", policy.Target{"target.project.id": id}) {
		return
	}
	p, err := a.svc.Repository().GetProject(r.Context(), id)
	if err != nil {
		a.fail(w, r, notFoundMsg(err, "project", id))
		return
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"project": a.projectView(p)})
}

func (a *API) createProject(w http.ResponseWriter, r *http.Request) {
	var body projectBody
	if !a.decode(w, r, &body) {
		return
	}
	if body.Project == nil || body.Project.Name == nil {
		a.badRequest(w, r, "Invalid input for field 'project': 'name' is a required property.")
		return
	}
	b := body.Project
	p := keystone.Project{Name: *b.Name, DomainID: deref(b.DomainID), Description: deref(b.Description), Enabled: b.Enabled == nil || *b.Enabled}
	if p.DomainID == "" {
		// Keystone puts a project in the domain of the caller's token.
		p.DomainID = authn.CredentialsFrom(r.Context()).ProjectDomainID
	}
	if b.IsDomain != nil && *b.IsDomain {
		a.badRequest(w, r, "Projects acting as domains are not supported.")
		return
	}
	if b.ParentID != nil && *b.ParentID != "" && *b.ParentID != p.DomainID {
		a.badRequest(w, r, "Project hierarchies are not supported: parent_id must be the project's domain.")
		return
	}
	if !a.authorize(w, r, "identity:create_project", policy.Target{"target.project.domain_id": p.DomainID}) {
		return
	}
	p, err := a.svc.CreateProject(r.Context(), p)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, map[string]any{"project": a.projectView(p)})
}

func (a *API) updateProject(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["project_id"]
	if !a.authorize(w, r, "identity:update_project", policy.Target{"target.project.id": id}) {
		return
	}
	var body projectBody
	if !a.decode(w, r, &body) {
		return
	}
	if body.Project == nil {
		a.badRequest(w, r, "Invalid input for field 'project': an object is required.")
		return
	}
	if body.Project.DomainID != nil {
		a.badRequest(w, r, "Update of `domain_id` is not allowed.")
		return
	}
	p, err := a.svc.UpdateProject(r.Context(), id, keystone.ProjectPatch{
		Name: body.Project.Name, Description: body.Project.Description, Enabled: body.Project.Enabled})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"project": a.projectView(p)})
}

func (a *API) deleteProject(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["project_id"]
	if !a.authorize(w, r, "identity:delete_project", policy.Target{"target.project.id": id}) {
		return
	}
	if err := a.svc.DeleteProject(r.Context(), id); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// listUserProjects answers GET /v3/users/{id}/projects.
func (a *API) listUserProjects(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["user_id"]
	if !a.authorize(w, r, "identity:list_user_projects", policy.Target{"target.user.id": id}) {
		return
	}
	if _, err := a.svc.Repository().GetUser(r.Context(), id); err != nil {
		a.fail(w, r, notFoundMsg(err, "user", id))
		return
	}
	a.renderUserProjects(w, r, id)
}

// renderUserProjects lists the enabled projects userID has any role on.
func (a *API) renderUserProjects(w http.ResponseWriter, r *http.Request, userID string) {
	as, err := a.svc.Repository().ListAssignments(r.Context(), keystone.AssignmentFilter{UserID: userID, TargetType: keystone.TargetProject})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ids := []string{}
	for _, as := range as {
		ids = append(ids, as.TargetID)
	}
	enabled := true
	ps, err := a.svc.Repository().ListProjects(r.Context(), keystone.ProjectFilter{IDs: ids, Enabled: &enabled})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.renderProjects(w, r, ps)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
