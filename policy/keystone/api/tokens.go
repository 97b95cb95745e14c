package api

import (
	"encoding/json"
	"net/http"

	"imagestack/common/httpx"
	"imagestack/policy/keystone"
)

// authBody is the POST /v3/auth/tokens request.
type authBody struct {
	Auth *struct {
		Identity *struct {
			Methods  []string `json:"methods"`
			Password *struct {
				User *struct {
					ID       string     `json:"id"`
					Name     string     `json:"name"`
					Password string     `json:"password"`
					Domain   *domainRef `json:"domain"`
				} `json:"user"`
			} `json:"password"`
			Token *struct {
				ID string `json:"id"`
			} `json:"token"`
		} `json:"identity"`
		Scope json.RawMessage `json:"scope"` // an object, or the string "unscoped"
	} `json:"auth"`
}

type domainRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type scopeBody struct {
	Project *struct {
		ID     string     `json:"id"`
		Name   string     `json:"name"`
		Domain *domainRef `json:"domain"`
	} `json:"project"`
	Domain *domainRef `json:"domain"`
	System any        `json:"system"`
}

// parseAuth turns the request body into a service AuthRequest.
func parseAuth(a *API, w http.ResponseWriter, r *http.Request) (keystone.AuthRequest, bool) {
	var body authBody
	if !a.decode(w, r, &body) {
		return keystone.AuthRequest{}, false
	}
	if body.Auth == nil || body.Auth.Identity == nil {
		a.badRequest(w, r, "Expecting to find identity in auth.")
		return keystone.AuthRequest{}, false
	}
	id := body.Auth.Identity
	req := keystone.AuthRequest{Methods: id.Methods}
	if p := id.Password; p != nil && p.User != nil {
		req.Password = &keystone.PasswordIdentity{UserID: p.User.ID, UserName: p.User.Name, Password: p.User.Password}
		if p.User.Domain != nil {
			req.Password.DomainID, req.Password.DomainName = p.User.Domain.ID, p.User.Domain.Name
		}
	}
	if id.Token != nil {
		req.TokenID = id.Token.ID
	}
	scope, problem := parseScope(body.Auth.Scope)
	if problem != "" {
		a.badRequest(w, r, problem)
		return req, false
	}
	req.Scope = scope
	return req, true
}

// parseScope reads the scope of an auth request: none (null or absent), the
// string "unscoped", or an object naming a project or a domain. A non-empty
// problem is the 400 message for a scope that is none of these.
func parseScope(raw json.RawMessage) (scope keystone.Scope, problem string) {
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return scope, ""
	case raw[0] == '"':
		var sc string
		if err := json.Unmarshal(raw, &sc); err != nil || sc != "unscoped" {
			return scope, "Invalid scope: " + sc
		}
		scope.Unscoped = true
		return scope, ""
	case raw[0] != '{':
		return scope, "Invalid scope in auth request."
	}
	var s scopeBody
	if err := json.Unmarshal(raw, &s); err != nil {
		return scope, "Invalid scope in auth request."
	}
	if s.System != nil {
		return scope, "System scope is not supported by this identity service."
	}
	if s.Project != nil {
		scope.ProjectID, scope.ProjectName = s.Project.ID, s.Project.Name
		if s.Project.Domain != nil {
			scope.ProjectDomainID, scope.ProjectDomainName = s.Project.Domain.ID, s.Project.Domain.Name
		}
		if s.Project.ID == "" && s.Project.Name == "" {
			return scope, "Expecting to find id or name in project."
		}
	} else if s.Domain != nil {
		scope.DomainID, scope.DomainName = s.Domain.ID, s.Domain.Name
	}
	return scope, ""
}

// issueToken answers POST /v3/auth/tokens with 201 and X-Subject-Token.
func (a *API) issueToken(w http.ResponseWriter, r *http.Request) {
	req, ok := parseAuth(a, w, r)
	if !ok {
		return
	}
	tok, err := a.svc.Authenticate(r.Context(), req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("X-Subject-Token", tok.ID)
	writeJSON(w, r, http.StatusCreated, tokenBody{a.tokenView(tok, r.URL.Query().Has("nocatalog"))})
}

// validateToken answers GET/HEAD /v3/auth/tokens.
func (a *API) validateToken(w http.ResponseWriter, r *http.Request) {
	check := a.svc.ValidateToken
	if r.Method == http.MethodHead {
		check = a.svc.CheckToken
	}
	tok, err := check(r.Context(), creds(r), r.Header.Get("X-Subject-Token"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("X-Subject-Token", r.Header.Get("X-Subject-Token"))
	writeJSON(w, r, http.StatusOK, tokenBody{a.tokenView(tok, r.URL.Query().Has("nocatalog"))})
}

// revokeToken answers DELETE /v3/auth/tokens.
func (a *API) revokeToken(w http.ResponseWriter, r *http.Request) {
	a.noContent(w, r, a.svc.RevokeToken(r.Context(), creds(r), r.Header.Get("X-Subject-Token")))
}

// listAuthProjects answers GET /v3/auth/projects: the projects the caller may scope to.
func (a *API) listAuthProjects(w http.ResponseWriter, r *http.Request) {
	ps, err := a.svc.AuthProjects(r.Context(), creds(r))
	a.renderProjects(w, r, ps, err)
}

// listAuthDomains answers GET /v3/auth/domains.
func (a *API) listAuthDomains(w http.ResponseWriter, r *http.Request) {
	ds, err := a.svc.AuthDomains(r.Context(), creds(r))
	a.renderDomains(w, r, ds, err)
}

// showAuthCatalog answers GET /v3/auth/catalog.
func (a *API) showAuthCatalog(w http.ResponseWriter, r *http.Request) {
	cat, err := a.svc.AuthCatalog(creds(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, struct {
		Catalog []keystone.CatalogEntry `json:"catalog"`
		Links   listLinks               `json:"links"`
	}{cat, a.collectionLinks(r)})
}

// tokenView renders a token body as Keystone does.
func (a *API) tokenView(t *keystone.Token, noCatalog bool) tokenView {
	v := tokenView{
		Methods:   t.Record.Methods,
		User:      tokenUser{ID: t.User.ID, Name: t.User.Name, Domain: ref{ID: t.UserDomain.ID, Name: t.UserDomain.Name}},
		AuditIDs:  t.Record.AuditIDs,
		ExpiresAt: keystoneTime(t.Record.ExpiresAt),
		IssuedAt:  keystoneTime(t.Record.IssuedAt),
	}
	if t.Project != nil {
		v.Project = &tokenProject{ID: t.Project.ID, Name: t.Project.Name,
			Domain: ref{ID: t.ProjectDomain.ID, Name: t.ProjectDomain.Name}}
		v.IsDomain = new(false)
	}
	if t.Domain != nil {
		v.Domain = &ref{ID: t.Domain.ID, Name: t.Domain.Name}
	}
	if t.Scoped() {
		v.Roles = httpx.ListOf(t.Roles, func(r keystone.Role) ref { return ref{ID: r.ID, Name: r.Name} })
		if !noCatalog {
			v.Catalog = a.svc.Catalog()
		}
	}
	return v
}

// tokenBody is the envelope of a token response.
type tokenBody struct {
	Token tokenView `json:"token"`
}
