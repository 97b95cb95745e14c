package api

import (
	"net/http"

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
		Scope any `json:"scope"` // an object, or the string "unscoped"
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
	switch sc := body.Auth.Scope.(type) {
	case nil:
	case string:
		if sc != "unscoped" {
			a.badRequest(w, r, "Invalid scope: "+sc)
			return req, false
		}
		req.Scope.Unscoped = true
	case map[string]any:
		var s scopeBody
		if !remarshal(sc, &s) {
			a.badRequest(w, r, "Invalid scope in auth request.")
			return req, false
		}
		if s.System != nil {
			a.badRequest(w, r, "System scope is not supported by this identity service.")
			return req, false
		}
		if s.Project != nil {
			req.Scope.ProjectID, req.Scope.ProjectName = s.Project.ID, s.Project.Name
			if s.Project.Domain != nil {
				req.Scope.ProjectDomainID, req.Scope.ProjectDomainName = s.Project.Domain.ID, s.Project.Domain.Name
			}
			if s.Project.ID == "" && s.Project.Name == "" {
				a.badRequest(w, r, "Expecting to find id or name in project.")
				return req, false
			}
		} else if s.Domain != nil {
			req.Scope.DomainID, req.Scope.DomainName = s.Domain.ID, s.Domain.Name
		}
	default:
		a.badRequest(w, r, "Invalid scope in auth request.")
		return req, false
	}
	return req, true
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
	writeJSON(w, r, http.StatusCreated, map[string]any{"token": a.tokenView(tok, r.URL.Query().Has("nocatalog"))})
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
	writeJSON(w, r, http.StatusOK, map[string]any{"token": a.tokenView(tok, r.URL.Query().Has("nocatalog"))})
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
	writeJSON(w, r, http.StatusOK, map[string]any{"catalog": cat, "links": a.collectionLinks(r)})
}

// tokenView renders a token body as Keystone does.
func (a *API) tokenView(t *keystone.Token, noCatalog bool) map[string]any {
	v := map[string]any{
		"methods": t.Record.Methods,
		"user": map[string]any{
			"id": t.User.ID, "name": t.User.Name,
			"domain":              map[string]string{"id": t.UserDomain.ID, "name": t.UserDomain.Name},
			"password_expires_at": nil,
		},
		"audit_ids":  t.Record.AuditIDs,
		"expires_at": keystoneTime(t.Record.ExpiresAt),
		"issued_at":  keystoneTime(t.Record.IssuedAt),
	}
	if t.Project != nil {
		v["project"] = map[string]any{"id": t.Project.ID, "name": t.Project.Name,
			"domain": map[string]string{"id": t.ProjectDomain.ID, "name": t.ProjectDomain.Name}}
		v["is_domain"] = false
	}
	if t.Domain != nil {
		v["domain"] = map[string]string{"id": t.Domain.ID, "name": t.Domain.Name}
	}
	if t.Scoped() {
		roles := make([]map[string]string, len(t.Roles))
		for i, r := range t.Roles {
			roles[i] = map[string]string{"id": r.ID, "name": r.Name}
		}
		v["roles"] = roles
		if !noCatalog {
			v["catalog"] = a.svc.Catalog()
		}
	}
	return v
}
