package keystone_test

import (
	"errors"
	"testing"
	"time"

	"imagestack/policy/keystone"
	"imagestack/policy/keystone/keystonetest"
)

// fixture is a bootstrapped service with admin/demo accounts and a fake clock.
type fixture struct{ *keystonetest.Setup }

func newFixture(t testing.TB, opts ...keystonetest.Option) *fixture {
	return &fixture{keystonetest.NewSetup(t, opts...)}
}

// asAdmin is the caller of the identity operations these tests make.
var asAdmin = keystonetest.Admin

func (f *fixture) password(name, pw string, scope keystone.Scope) (*keystone.Token, error) {
	return f.Service.Authenticate(f.Ctx, keystone.AuthRequest{Methods: []string{"password"},
		Password: &keystone.PasswordIdentity{UserName: name, DomainName: "Default", Password: pw}, Scope: scope})
}

func roleNames(t *keystone.Token) map[string]bool {
	m := map[string]bool{}
	for _, r := range t.Roles {
		m[r.Name] = true
	}
	return m
}

func TestPasswordAuthAndScopes(t *testing.T) {
	f := newFixture(t)
	tok, err := f.password("admin", "adminpw", keystone.Scope{ProjectName: "admin", ProjectDomainID: "default"})
	if err != nil {
		t.Fatal(err)
	}
	if tok.Project == nil || tok.Project.Name != "admin" {
		t.Fatalf("project scope: %+v", tok.Project)
	}
	if r := roleNames(tok); !r["admin"] || !r["member"] || !r["reader"] {
		t.Fatalf("admin must carry implied member and reader roles: %v", r)
	}
	if tok.ID == "" || !tok.Record.ExpiresAt.Equal(f.Now.Add(time.Hour)) {
		t.Fatalf("token id %q expires %v", tok.ID, tok.Record.ExpiresAt)
	}
	// Unscoped request falls back to the default project.
	tok, err = f.password("demo", "demopw", keystone.Scope{})
	if err != nil || tok.Project == nil || tok.Project.Name != "demo" {
		t.Fatalf("default project fallback: %+v %v", tok, err)
	}
	if r := roleNames(tok); !r["member"] || !r["reader"] || r["admin"] {
		t.Fatalf("demo roles: %v", r)
	}
	// Explicit "unscoped" does not.
	tok, err = f.password("demo", "demopw", keystone.Scope{Unscoped: true})
	if err != nil || tok.Scoped() {
		t.Fatalf("explicit unscoped: %+v %v", tok, err)
	}
	// By user id and project id.
	u, _ := f.Repo.FindUser(f.Ctx, "default", "demo")
	tok, err = f.Service.Authenticate(f.Ctx, keystone.AuthRequest{Methods: []string{"password"},
		Password: &keystone.PasswordIdentity{UserID: u.ID, Password: "demopw"}, Scope: keystone.Scope{ProjectID: u.DefaultProjectID}})
	if err != nil || tok.User.ID != u.ID {
		t.Fatalf("auth by id: %v", err)
	}
}

func TestAuthFailures(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name  string
		user  string
		pw    string
		scope keystone.Scope
		kind  error
	}{
		{"wrong password", "demo", "nope", keystone.Scope{}, keystone.ErrUnauthorized},
		{"unknown user", "ghost", "x", keystone.Scope{}, keystone.ErrUnauthorized},
		{"project without role", "demo", "demopw", keystone.Scope{ProjectName: "admin", ProjectDomainName: "Default"}, keystone.ErrUnauthorized},
		{"unknown project", "demo", "demopw", keystone.Scope{ProjectName: "nowhere", ProjectDomainName: "Default"}, keystone.ErrUnauthorized},
		{"project name without domain", "demo", "demopw", keystone.Scope{ProjectName: "demo"}, keystone.ErrBadRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.password(c.user, c.pw, c.scope)
			if !errors.Is(err, c.kind) {
				t.Fatalf("got %v, want %v", err, c.kind)
			}
		})
	}
	_, err := f.Service.Authenticate(f.Ctx, keystone.AuthRequest{Methods: []string{"password"},
		Password: &keystone.PasswordIdentity{UserName: "demo", Password: "demopw"}})
	if !errors.Is(err, keystone.ErrBadRequest) {
		t.Fatalf("user name without domain: %v", err)
	}
}

func TestTokenLifecycle(t *testing.T) {
	f := newFixture(t)
	tok, err := f.password("demo", "demopw", keystone.Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Service.Validate(f.Ctx, tok.ID); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	if _, err := f.Service.Validate(f.Ctx, tok.ID+"x"); !errors.Is(err, keystone.ErrNotFound) {
		t.Fatalf("forged token: %v", err)
	}
	// The token method re-scopes but never extends the lifetime.
	f.Now = f.Now.Add(30 * time.Minute)
	child, err := f.Service.Authenticate(f.Ctx, keystone.AuthRequest{Methods: []string{"token"}, TokenID: tok.ID,
		Scope: keystone.Scope{ProjectName: "demo", ProjectDomainID: "default"}})
	if err != nil {
		t.Fatal(err)
	}
	if !child.Record.ExpiresAt.Equal(tok.Record.ExpiresAt) || len(child.Record.AuditIDs) != 2 || child.Record.AuditIDs[1] != tok.Record.AuditIDs[0] {
		t.Fatalf("child token: %+v", child.Record)
	}
	// Expiry.
	f.Now = f.Now.Add(31 * time.Minute)
	if _, err := f.Service.Validate(f.Ctx, tok.ID); !errors.Is(err, keystone.ErrNotFound) {
		t.Fatalf("expired token validated: %v", err)
	}
	if _, err := f.Service.Authenticate(f.Ctx, keystone.AuthRequest{Methods: []string{"token"}, TokenID: tok.ID}); !errors.Is(err, keystone.ErrUnauthorized) {
		t.Fatalf("expired token as auth method: %v", err)
	}
	// Revocation.
	tok2, _ := f.password("demo", "demopw", keystone.Scope{})
	if err := f.Service.Revoke(f.Ctx, tok2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Service.Validate(f.Ctx, tok2.ID); !errors.Is(err, keystone.ErrNotFound) {
		t.Fatalf("revoked token validated: %v", err)
	}
}

func TestIdentityChangesAffectTokens(t *testing.T) {
	f := newFixture(t)
	ctx := f.Ctx
	p, err := f.Service.CreateProject(ctx, asAdmin, keystone.Project{Name: "p2", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	u, err := f.Service.CreateUser(ctx, asAdmin, keystone.User{Name: "u2", DefaultProjectID: p.ID, Enabled: true}, "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.password("u2", "x", keystone.Scope{ProjectID: p.ID}); !errors.Is(err, keystone.ErrUnauthorized) {
		t.Fatalf("scope without role must fail: %v", err)
	}
	member, _ := f.Repo.FindRole(ctx, "member")
	grant := keystone.Assignment{UserID: u.ID, TargetType: keystone.TargetProject, TargetID: p.ID, RoleID: member.ID}
	if err := f.Service.Grant(ctx, asAdmin, grant); err != nil {
		t.Fatal(err)
	}
	tok, err := f.password("u2", "x", keystone.Scope{ProjectID: p.ID})
	if err != nil {
		t.Fatalf("scope after grant: %v", err)
	}
	if _, err := f.Service.Validate(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	// Losing the last role on the scope invalidates the token at once.
	if err := f.Service.Ungrant(ctx, asAdmin, grant); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Service.Validate(ctx, tok.ID); !errors.Is(err, keystone.ErrNotFound) {
		t.Fatalf("token survived role removal: %v", err)
	}
	// A password change revokes the user's tokens.
	_ = f.Service.Grant(ctx, asAdmin, grant)
	tok, _ = f.password("u2", "x", keystone.Scope{ProjectID: p.ID})
	pw := "y"
	if _, err := f.Service.UpdateUser(ctx, asAdmin, u.ID, keystone.UserPatch{Password: &pw}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Service.Validate(ctx, tok.ID); !errors.Is(err, keystone.ErrNotFound) {
		t.Fatalf("token survived password change: %v", err)
	}
	if _, err := f.password("u2", "x", keystone.Scope{}); !errors.Is(err, keystone.ErrUnauthorized) {
		t.Fatal("old password still works")
	}
	if _, err := f.password("u2", "y", keystone.Scope{}); err != nil {
		t.Fatalf("new password: %v", err)
	}
	// Duplicate names conflict.
	if _, err := f.Service.CreateProject(ctx, asAdmin, keystone.Project{Name: "p2", Enabled: true}); !errors.Is(err, keystone.ErrConflict) {
		t.Fatalf("duplicate project: %v", err)
	}
	if _, err := f.Service.CreateUser(ctx, asAdmin, keystone.User{Name: "u2", Enabled: true}, "z"); !errors.Is(err, keystone.ErrConflict) {
		t.Fatalf("duplicate user: %v", err)
	}
}

func TestPasswordHashing(t *testing.T) {
	h, err := keystone.HashPassword("s3cret", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if h == "s3cret" || !keystone.CheckPassword(h, "s3cret") || keystone.CheckPassword(h, "s3cret ") {
		t.Fatalf("hash %q", h)
	}
	h2, _ := keystone.HashPassword("s3cret", 1000)
	if h == h2 {
		t.Fatal("hashes must be salted")
	}
	for _, bad := range []string{"", "plain", "pbkdf2-sha256$x$y$z", "pbkdf2-sha256$1000$!!$!!"} {
		if keystone.CheckPassword(bad, "") {
			t.Fatalf("malformed hash %q matched", bad)
		}
	}
}
