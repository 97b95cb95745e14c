package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
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

func (a *API) projectView(p keystone.Project) projectView {
	return projectView{ID: p.ID, Name: p.Name, DomainID: p.DomainID, Description: p.Description,
		Enabled: p.Enabled, ParentID: p.DomainID, Tags: []string{}, Options: options{},
		Links: a.selfLink("/v3/projects/" + p.ID)}
}

func (a *API) listProjects(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.MayListProjects(creds(r)); err != nil {
		a.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	enabled, ok := boolParam(r, "enabled")
	if !ok {
		a.badRequest(w, r, "Invalid value for query parameter 'enabled'.")
		return
	}
	ps, err := a.svc.ListProjects(r.Context(), creds(r), keystone.ProjectFilter{Name: q.Get("name"), DomainID: q.Get("domain_id"), Enabled: enabled})
	a.renderProjects(w, r, ps, err)
}

// renderProjects answers a project list, or err.
func (a *API) renderProjects(w http.ResponseWriter, r *http.Request, ps []keystone.Project, err error) {
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, struct {
		Projects []projectView `json:"projects"`
		Links    listLinks     `json:"links"`
	}{httpx.ListOf(ps, a.projectView), a.collectionLinks(r)})
}

// renderProject answers one project with status, or err.
func (a *API) renderProject(w http.ResponseWriter, r *http.Request, status int, p keystone.Project, err error) {
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, r, status, struct {
		Project projectView `json:"project"`
	}{a.projectView(p)})
}

func (a *API) showProject(w http.ResponseWriter, r *http.Request) {
	p, err := a.svc.GetProject(r.Context(), creds(r), mux.Vars(r)["project_id"])
	a.renderProject(w, r, http.StatusOK, p, err)
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
		p.DomainID = creds(r).ProjectDomainID
	}
	if b.IsDomain != nil && *b.IsDomain {
		a.badRequest(w, r, "Projects acting as domains are not supported.")
		return
	}
	if b.ParentID != nil && *b.ParentID != "" && *b.ParentID != p.DomainID {
		a.badRequest(w, r, "Project hierarchies are not supported: parent_id must be the project's domain.")
		return
	}
	p, err := a.svc.CreateProject(r.Context(), creds(r), p)
	a.renderProject(w, r, http.StatusCreated, p, err)
}

func (a *API) updateProject(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["project_id"]
	if err := a.svc.MayUpdateProject(creds(r), id); err != nil {
		a.fail(w, r, err)
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
	p, err := a.svc.UpdateProject(r.Context(), creds(r), id, keystone.ProjectPatch{
		Name: body.Project.Name, Description: body.Project.Description, Enabled: body.Project.Enabled})
	a.renderProject(w, r, http.StatusOK, p, err)
}

func (a *API) deleteProject(w http.ResponseWriter, r *http.Request) {
	a.noContent(w, r, a.svc.DeleteProject(r.Context(), creds(r), mux.Vars(r)["project_id"]))
}

// listUserProjects answers GET /v3/users/{id}/projects.
func (a *API) listUserProjects(w http.ResponseWriter, r *http.Request) {
	ps, err := a.svc.ListUserProjects(r.Context(), creds(r), mux.Vars(r)["user_id"])
	a.renderProjects(w, r, ps, err)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
