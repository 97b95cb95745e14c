package keystone

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"time"

	"imagestack/policy"
)

// AuthRequest is a parsed POST /v3/auth/tokens body.
type AuthRequest struct {
	Methods  []string
	Password *PasswordIdentity // when "password" is among Methods
	TokenID  string            // when "token" is among Methods
	Scope    Scope
}

// PasswordIdentity names a user by id, or by name within a domain (by id or name).
type PasswordIdentity struct {
	UserID, UserName     string
	DomainID, DomainName string
	Password             string
}

// Scope is the requested authorization scope. All empty = unscoped request,
// which falls back to the user's default project.
type Scope struct {
	ProjectID, ProjectName             string
	ProjectDomainID, ProjectDomainName string
	DomainID, DomainName               string
	// Unscoped is the explicit "unscoped" scope: no default-project fallback.
	Unscoped bool
}

// Token is a validated token with everything its body shows.
type Token struct {
	ID            string // the secret; only known right after issue
	Record        TokenRecord
	User          User
	UserDomain    Domain
	Project       *Project
	ProjectDomain *Domain
	Domain        *Domain // domain-scoped tokens
	Roles         []Role
}

// Scoped reports whether the token carries roles (project or domain scope).
func (t *Token) Scoped() bool { return t.Project != nil || t.Domain != nil }

// Credentials returns the caller as the policy engine sees it.
func (t *Token) Credentials() policy.Credentials {
	c := policy.Credentials{UserID: t.User.ID, UserDomainID: t.User.DomainID}
	if t.Project != nil {
		c.ProjectID = t.Project.ID
		c.ProjectDomainID = t.Project.DomainID
	}
	if t.Domain != nil {
		c.DomainID = t.Domain.ID
	}
	for _, r := range t.Roles {
		c.Roles = append(c.Roles, r.Name)
	}
	return c
}

var errAuth = errorf(ErrUnauthorized, "The request you have made requires authentication.")

// Authenticate checks the identity in req and issues a token for the requested
// scope. Bad credentials, unknown or disabled users, and scopes the user has no
// role on are all ErrUnauthorized; malformed requests are ErrBadRequest.
func (s *Service) Authenticate(ctx context.Context, req AuthRequest) (*Token, error) {
	if len(req.Methods) == 0 {
		return nil, errorf(ErrBadRequest, "Expecting to find identity methods in request.")
	}
	var user User
	var parent *TokenRecord
	switch {
	case slices.Contains(req.Methods, "password"):
		if req.Password == nil {
			return nil, errorf(ErrBadRequest, "Expecting to find password in identity.")
		}
		u, err := s.passwordUser(ctx, *req.Password)
		if err != nil {
			return nil, err
		}
		user = u
	case slices.Contains(req.Methods, "token"):
		if req.TokenID == "" {
			return nil, errorf(ErrBadRequest, "Expecting to find id in token.")
		}
		old, err := s.Validate(ctx, req.TokenID)
		if err != nil {
			return nil, authError(err)
		}
		user, parent = old.User, &old.Record
	default:
		return nil, errorf(ErrUnauthorized, "Attempted to authenticate with an unsupported method.")
	}

	now := s.now().UTC().Truncate(time.Microsecond)
	rec := TokenRecord{UserID: user.ID, Methods: req.Methods, IssuedAt: now, ExpiresAt: now.Add(s.cfg.TokenTTL)}
	rec.AuditIDs = []string{randomToken(16)}
	if parent != nil {
		// A token obtained from a token never outlives its parent.
		if parent.ExpiresAt.Before(rec.ExpiresAt) {
			rec.ExpiresAt = parent.ExpiresAt
		}
		rec.AuditIDs = append(rec.AuditIDs, parent.AuditIDs[0])
		rec.Methods = mergeMethods(parent.Methods, req.Methods)
	}
	if err := s.resolveScope(ctx, user, req.Scope, &rec); err != nil {
		return nil, err
	}
	id := randomToken(32)
	rec.Hash = tokenHash(id)
	tok, err := s.expand(ctx, rec)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, errAuth
		}
		return nil, err
	}
	if err := s.repo.CreateToken(ctx, rec); err != nil {
		return nil, err
	}
	tok.ID = id
	return tok, nil
}

func mergeMethods(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, m := range b {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// authError is what a failed lookup during authentication answers: what
// does not exist is the generic 401, anything else (a malformed request, the
// database out of reach) stays what it is, never "bad credentials".
func authError(err error) error {
	if errors.Is(err, ErrNotFound) {
		return errAuth
	}
	return err
}

// domainRef resolves a domain given by id or name to its id.
func (s *Service) domainRef(ctx context.Context, id, name string) (string, error) {
	switch {
	case id != "":
		d, err := s.repo.GetDomain(ctx, id)
		if err != nil {
			return "", err
		}
		if !d.Enabled {
			return "", errAuth
		}
		return d.ID, nil
	case name != "":
		d, err := s.repo.FindDomain(ctx, name)
		if err != nil {
			return "", err
		}
		if !d.Enabled {
			return "", errAuth
		}
		return d.ID, nil
	}
	return "", errorf(ErrBadRequest, "Expecting to find domain id or name.")
}

// resolveScope fills the scope of rec, falling back to the default project for
// unscoped requests (silently unscoped when the user has no role there).
func (s *Service) resolveScope(ctx context.Context, user User, sc Scope, rec *TokenRecord) error {
	switch {
	case sc.ProjectID != "":
		rec.ProjectID = sc.ProjectID
	case sc.ProjectName != "":
		domainID, err := s.domainRef(ctx, sc.ProjectDomainID, sc.ProjectDomainName)
		if err != nil {
			return authError(err)
		}
		p, err := s.repo.FindProject(ctx, domainID, sc.ProjectName)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				return errAuth
			}
			return err
		}
		rec.ProjectID = p.ID
	case sc.DomainID != "" || sc.DomainName != "":
		domainID, err := s.domainRef(ctx, sc.DomainID, sc.DomainName)
		if err != nil {
			return authError(err)
		}
		rec.DomainID = domainID
	case !sc.Unscoped && user.DefaultProjectID != "":
		roles, err := s.repo.ListAssignments(ctx, AssignmentFilter{UserID: user.ID, TargetType: TargetProject, TargetID: user.DefaultProjectID})
		if err != nil {
			return err
		}
		if len(roles) > 0 {
			rec.ProjectID = user.DefaultProjectID
		}
	}
	return nil
}

// Validate returns the token with this id, with roles as currently assigned.
// Unknown, expired and revoked tokens, tokens of disabled or deleted users, and
// scoped tokens whose user lost every role on the scope are ErrNotFound.
func (s *Service) Validate(ctx context.Context, id string) (*Token, error) {
	if id == "" || len(id) > 512 {
		return nil, errorf(ErrNotFound, "Could not find token.")
	}
	hash := tokenHash(id)
	now := s.now()
	gen := s.gen.Load()
	s.cacheM.Lock()
	c, ok := s.cache[hash]
	s.cacheM.Unlock()
	if ok && c.gen == gen && now.Before(c.expires) && now.Before(c.tok.Record.ExpiresAt) {
		return c.tok, nil
	}
	rec, err := s.repo.GetToken(ctx, hash)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, errorf(ErrNotFound, "Could not find token.")
		}
		return nil, err
	}
	if !now.Before(rec.ExpiresAt) {
		return nil, errorf(ErrNotFound, "Could not find token: it has expired.")
	}
	tok, err := s.expand(ctx, rec)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, errorf(ErrNotFound, "Could not find token.")
		}
		return nil, err
	}
	s.cacheM.Lock()
	if len(s.cache) > 100_000 {
		clear(s.cache) // bound memory under a flood of distinct tokens
	}
	if s.gen.Load() == gen {
		s.cache[hash] = cachedToken{tok: tok, gen: gen, expires: now.Add(s.cfg.ValidationCacheTTL)}
	}
	s.cacheM.Unlock()
	return tok, nil
}

// expand loads the user, scope and effective roles of rec. A scope the user no
// longer has any role on, or a disabled user/project, is ErrNotFound.
func (s *Service) expand(ctx context.Context, rec TokenRecord) (*Token, error) {
	user, err := s.repo.GetUser(ctx, rec.UserID)
	if err != nil {
		return nil, err
	}
	if !user.Enabled {
		return nil, errorf(ErrNotFound, "user disabled")
	}
	ud, err := s.repo.GetDomain(ctx, user.DomainID)
	if err != nil {
		return nil, err
	}
	tok := &Token{Record: rec, User: user, UserDomain: ud}
	var f AssignmentFilter
	switch {
	case rec.ProjectID != "":
		p, err := s.repo.GetProject(ctx, rec.ProjectID)
		if err != nil {
			return nil, err
		}
		if !p.Enabled {
			return nil, errorf(ErrNotFound, "project disabled")
		}
		pd, err := s.repo.GetDomain(ctx, p.DomainID)
		if err != nil {
			return nil, err
		}
		tok.Project, tok.ProjectDomain = &p, &pd
		f = AssignmentFilter{UserID: user.ID, TargetType: TargetProject, TargetID: p.ID}
	case rec.DomainID != "":
		d, err := s.repo.GetDomain(ctx, rec.DomainID)
		if err != nil {
			return nil, err
		}
		tok.Domain = &d
		f = AssignmentFilter{UserID: user.ID, TargetType: TargetDomain, TargetID: d.ID}
	default:
		return tok, nil
	}
	roles, err := s.effectiveRoles(ctx, f)
	if err != nil {
		return nil, err
	}
	if len(roles) == 0 {
		return nil, errorf(ErrNotFound, "no role on scope")
	}
	tok.Roles = roles
	return tok, nil
}

// impliedRoles mirrors Keystone's bootstrap: admin implies member, member
// implies reader, so policies written for "reader" accept members and admins.
var impliedRoles = map[string][]string{"admin": {"member"}, "member": {"reader"}}

// effectiveRoles returns the roles assigned by f plus the roles they imply.
func (s *Service) effectiveRoles(ctx context.Context, f AssignmentFilter) ([]Role, error) {
	as, err := s.repo.ListAssignments(ctx, f)
	if err != nil || len(as) == 0 {
		return nil, err
	}
	all, err := s.repo.ListRoles(ctx, "")
	if err != nil {
		return nil, err
	}
	byID, byName := map[string]Role{}, map[string]Role{}
	for _, r := range all {
		byID[r.ID], byName[r.Name] = r, r
	}
	seen := map[string]bool{}
	var out []Role
	var add func(r Role)
	add = func(r Role) {
		if seen[r.ID] {
			return
		}
		seen[r.ID] = true
		out = append(out, r)
		for _, name := range impliedRoles[r.Name] {
			if ir, ok := byName[name]; ok {
				add(ir)
			}
		}
	}
	for _, a := range as {
		if r, ok := byID[a.RoleID]; ok {
			add(r)
		}
	}
	return out, nil
}

// Revoke invalidates the token with this id.
func (s *Service) Revoke(ctx context.Context, id string) error {
	if err := s.repo.DeleteToken(ctx, tokenHash(id)); err != nil {
		if errors.Is(err, ErrNotFound) {
			return errorf(ErrNotFound, "Could not find token.")
		}
		return err
	}
	s.changed()
	return nil
}

// randomToken returns n random bytes, URL-safe base64 encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.TrimRight(base64.RawURLEncoding.EncodeToString(b), "=")
}
