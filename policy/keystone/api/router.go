// Package api serves the Keystone v3 subset over HTTP: version discovery,
// tokens, and the admin CRUD for domains, projects, users, roles and role
// assignments. Handlers stay thin: they parse, call the service (which owns
// policy) and render; errors are mapped to statuses in errors.go only.
package api

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/policy"
	"imagestack/policy/authn"
	"imagestack/policy/keystone"
)

// API is the identity HTTP API.
type API struct {
	svc     *keystone.Service
	baseURL string // public root, e.g. http://127.0.0.1:5000 (no trailing slash)
	log     *slog.Logger
}

// New returns the identity API; baseURL is the public root URL used in links.
func New(svc *keystone.Service, baseURL string, log *slog.Logger) *API {
	return &API{svc: svc, baseURL: strings.TrimRight(baseURL, "/"), log: log}
}

// Handler returns the complete identity server handler, with request ids,
// access logs, panic recovery and 404/405 answers.
func (a *API) Handler() http.Handler {
	r := mux.NewRouter()
	a.AddTo(r)
	return httpx.Wrap(r, httpx.Family{Name: "identity", Logger: a.log, WriteError: a.writeError})
}

// AddTo holds the whole identity route table.
func (a *API) AddTo(r *mux.Router) {
	r.HandleFunc("/", a.listVersions).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/v3", a.showVersion).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/v3/", a.showVersion).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/v3/auth/tokens", a.issueToken).Methods(http.MethodPost)

	// Everything else needs a token. (No mux subrouter here: gorilla/mux
	// answers 404 instead of 405 for a method mismatch inside one.)
	v3 := &authed{r: r, mw: authn.RequireToken(Validator(a.svc), a.baseURL, a.writeError)}

	v3.HandleFunc("/auth/tokens", a.validateToken).Methods(http.MethodGet, http.MethodHead)
	v3.HandleFunc("/auth/tokens", a.revokeToken).Methods(http.MethodDelete)
	v3.HandleFunc("/auth/projects", a.listAuthProjects).Methods(http.MethodGet)
	v3.HandleFunc("/auth/domains", a.listAuthDomains).Methods(http.MethodGet)
	v3.HandleFunc("/auth/catalog", a.showAuthCatalog).Methods(http.MethodGet)

	v3.HandleFunc("/domains", a.listDomains).Methods(http.MethodGet)
	v3.HandleFunc("/domains/{domain_id}", a.showDomain).Methods(http.MethodGet)

	v3.HandleFunc("/projects", a.listProjects).Methods(http.MethodGet)
	v3.HandleFunc("/projects", a.createProject).Methods(http.MethodPost)
	v3.HandleFunc("/projects/{project_id}", a.showProject).Methods(http.MethodGet)
	v3.HandleFunc("/projects/{project_id}", a.updateProject).Methods(http.MethodPatch)
	v3.HandleFunc("/projects/{project_id}", a.deleteProject).Methods(http.MethodDelete)

	v3.HandleFunc("/users", a.listUsers).Methods(http.MethodGet)
	v3.HandleFunc("/users", a.createUser).Methods(http.MethodPost)
	v3.HandleFunc("/users/{user_id}", a.showUser).Methods(http.MethodGet)
	v3.HandleFunc("/users/{user_id}", a.updateUser).Methods(http.MethodPatch)
	v3.HandleFunc("/users/{user_id}", a.deleteUser).Methods(http.MethodDelete)
	v3.HandleFunc("/users/{user_id}/password", a.changePassword).Methods(http.MethodPost)
	v3.HandleFunc("/users/{user_id}/projects", a.listUserProjects).Methods(http.MethodGet)

	v3.HandleFunc("/roles", a.listRoles).Methods(http.MethodGet)
	v3.HandleFunc("/roles", a.createRole).Methods(http.MethodPost)
	v3.HandleFunc("/roles/{role_id}", a.showRole).Methods(http.MethodGet)
	v3.HandleFunc("/roles/{role_id}", a.updateRole).Methods(http.MethodPatch)
	v3.HandleFunc("/roles/{role_id}", a.deleteRole).Methods(http.MethodDelete)

	for _, target := range []string{"projects", "domains"} {
		base := "/" + target + "/{target_id}/users/{user_id}/roles"
		v3.HandleFunc(base, a.listGrants).Methods(http.MethodGet)
		v3.HandleFunc(base+"/{role_id}", a.checkGrant).Methods(http.MethodGet, http.MethodHead)
		v3.HandleFunc(base+"/{role_id}", a.createGrant).Methods(http.MethodPut)
		v3.HandleFunc(base+"/{role_id}", a.revokeGrant).Methods(http.MethodDelete)
	}
	v3.HandleFunc("/role_assignments", a.listRoleAssignments).Methods(http.MethodGet)

	v3.HandleFunc("/services", a.listServices).Methods(http.MethodGet)
	v3.HandleFunc("/endpoints", a.listEndpoints).Methods(http.MethodGet)
	v3.HandleFunc("/regions", a.listRegions).Methods(http.MethodGet)
	v3.HandleFunc("/services/{service_id}", a.showService).Methods(http.MethodGet)
	v3.HandleFunc("/regions/{region_id}", a.showRegion).Methods(http.MethodGet)

	v3.HandleFunc("/registered_limits", a.listRegisteredLimits).Methods(http.MethodGet, http.MethodHead)
	v3.HandleFunc("/registered_limits", a.createRegisteredLimits).Methods(http.MethodPost)
	v3.HandleFunc("/registered_limits/{registered_limit_id}", a.showRegisteredLimit).Methods(http.MethodGet, http.MethodHead)
	v3.HandleFunc("/registered_limits/{registered_limit_id}", a.updateRegisteredLimit).Methods(http.MethodPatch)
	v3.HandleFunc("/registered_limits/{registered_limit_id}", a.deleteRegisteredLimit).Methods(http.MethodDelete)
	v3.HandleFunc("/limits/model", a.showLimitModel).Methods(http.MethodGet, http.MethodHead)
	v3.HandleFunc("/limits", a.listLimits).Methods(http.MethodGet, http.MethodHead)
	v3.HandleFunc("/limits", a.createLimits).Methods(http.MethodPost)
	v3.HandleFunc("/limits/{limit_id}", a.showLimit).Methods(http.MethodGet, http.MethodHead)
	v3.HandleFunc("/limits/{limit_id}", a.updateLimit).Methods(http.MethodPatch)
	v3.HandleFunc("/limits/{limit_id}", a.deleteLimit).Methods(http.MethodDelete)
}

// authed registers /v3 routes behind the token middleware.
type authed struct {
	r  *mux.Router
	mw func(http.Handler) http.Handler
}

func (v *authed) HandleFunc(path string, h http.HandlerFunc) *mux.Route {
	return v.r.Handle("/v3"+path, v.mw(h))
}

// creds are the caller's credentials, which the token middleware set.
func creds(r *http.Request) policy.Credentials { return authn.CredentialsFrom(r.Context()) }

// keystoneTime formats times as Keystone does: microseconds and a Z.
func keystoneTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }
