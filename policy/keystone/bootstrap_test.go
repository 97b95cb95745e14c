package keystone_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"imagestack/policy/keystone"
	"imagestack/policy/keystone/keystonetest"
)

func (f *fixture) user(t *testing.T, name string) keystone.User {
	t.Helper()
	u, err := f.Repo.FindUser(f.Ctx, keystone.DefaultDomainID, name)
	if err != nil {
		t.Fatalf("user %s: %v", name, err)
	}
	return u
}

// grantOf is the bootstrap grant of account name (its role on its project).
func (f *fixture) grantOf(t *testing.T, name, project, role string) keystone.Assignment {
	t.Helper()
	p, err := f.Repo.FindProject(f.Ctx, keystone.DefaultDomainID, project)
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.Repo.FindRole(f.Ctx, role)
	if err != nil {
		t.Fatal(err)
	}
	return keystone.Assignment{UserID: f.user(t, name).ID, TargetType: keystone.TargetProject, TargetID: p.ID, RoleID: r.ID}
}

func (f *fixture) granted(t *testing.T, a keystone.Assignment) bool {
	t.Helper()
	as, err := f.Repo.ListAssignments(f.Ctx, keystone.AssignmentFilter(a))
	if err != nil {
		t.Fatal(err)
	}
	return len(as) > 0
}

// TestBootstrapOnlyOnFirstStart: what an operator removed stays removed when
// the server starts again; the explicit bootstrap brings it back.
func TestBootstrapOnlyOnFirstStart(t *testing.T) {
	f := newFixture(t)
	adminGrant := f.grantOf(t, "admin", "admin", "admin")
	if err := f.Service.DeleteUser(f.Ctx, asAdmin, f.user(t, "demo").ID); err != nil {
		t.Fatal(err)
	}
	if err := f.Service.Ungrant(f.Ctx, asAdmin, adminGrant); err != nil {
		t.Fatal(err)
	}
	ran, err := f.Service.BootstrapFirstStart(f.Ctx, keystone.DefaultAccounts, keystonetest.Passwords)
	if err != nil || ran {
		t.Fatalf("second start bootstrapped again: ran=%v err=%v", ran, err)
	}
	if _, err := f.Repo.FindUser(f.Ctx, keystone.DefaultDomainID, "demo"); !errors.Is(err, keystone.ErrNotFound) {
		t.Fatalf("deleted demo user is back after a restart: %v", err)
	}
	if f.granted(t, adminGrant) {
		t.Fatal("removed admin grant is back after a restart")
	}

	changes, err := f.Service.Bootstrap(f.Ctx, keystone.DefaultAccounts, keystonetest.Passwords, keystone.BootstrapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"granted role admin on project admin to user admin", "created user demo", "granted role member on project demo to user demo"}
	if !slices.Equal(changes, want) {
		t.Fatalf("bootstrap changes:\n got %q\nwant %q", changes, want)
	}
	if !f.granted(t, adminGrant) {
		t.Fatal("explicit bootstrap did not restore the admin grant")
	}
	tok, err := f.password("demo", "demopw", keystone.Scope{})
	if err != nil || tok.Project == nil || tok.Project.Name != "demo" || !roleNames(tok)["member"] {
		t.Fatalf("demo after explicit bootstrap: %+v %v", tok, err)
	}
	if changes, err := f.Service.Bootstrap(f.Ctx, keystone.DefaultAccounts, keystonetest.Passwords, keystone.BootstrapOptions{}); err != nil || len(changes) != 0 {
		t.Fatalf("bootstrap with nothing missing changed %q (%v)", changes, err)
	}
}

// TestBootstrapRepairsAccounts: the explicit bootstrap re-enables and unlocks
// a default user, keeps a changed password unless asked, and restores it when
// asked, revoking the user's tokens.
func TestBootstrapRepairsAccounts(t *testing.T) {
	f := newFixture(t, keystonetest.WithConfig(func(c *keystone.Config) { c.LockoutFailureAttempts = 2 }))
	admin := f.user(t, "admin")
	changed, off := "changed", false
	if _, err := f.Service.UpdateUser(f.Ctx, asAdmin, admin.ID, keystone.UserPatch{Password: &changed}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Service.UpdateUser(f.Ctx, asAdmin, f.user(t, "demo").ID, keystone.UserPatch{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		_, _ = f.password("admin", "wrong", keystone.Scope{})
	}
	if _, err := f.password("admin", "changed", keystone.Scope{}); err == nil {
		t.Fatal("admin is not locked out")
	}

	changes, err := f.Service.Bootstrap(f.Ctx, keystone.DefaultAccounts, map[string]string{"admin": "adminpw", "demo": "other"}, keystone.BootstrapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"cleared the failed logins of user admin", "enabled user demo"}
	if !slices.Equal(changes, want) {
		t.Fatalf("bootstrap changes:\n got %q\nwant %q", changes, want)
	}
	tok, err := f.password("admin", "changed", keystone.Scope{})
	if err != nil {
		t.Fatalf("bootstrap without ResetPasswords must keep the changed password and unlock: %v", err)
	}
	if _, err := f.password("demo", "demopw", keystone.Scope{}); err != nil {
		t.Fatalf("demo re-enabled with its own password: %v", err)
	}

	changes, err = f.Service.Bootstrap(f.Ctx, keystone.DefaultAccounts, keystonetest.Passwords, keystone.BootstrapOptions{ResetPasswords: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"reset the password of user admin"}; !slices.Equal(changes, want) {
		t.Fatalf("bootstrap changes:\n got %q\nwant %q", changes, want)
	}
	if _, err := f.password("admin", "adminpw", keystone.Scope{}); err != nil {
		t.Fatalf("password not restored: %v", err)
	}
	if _, err := f.Service.Validate(f.Ctx, tok.ID); !errors.Is(err, keystone.ErrNotFound) {
		t.Fatalf("token issued before the password reset still valid: %v", err)
	}
	if ps, _ := f.Repo.ListProjects(f.Ctx, keystone.ProjectFilter{}); len(ps) != 2 {
		t.Fatalf("projects after three bootstraps: %d", len(ps))
	}
}

// failingStore fails CreateUser of one name while bootstrapping, as a crash
// in the middle of the first start would stop it.
type failingStore struct {
	keystone.Repository
	failUser string
}

var errCrash = errors.New("crash")

func (s *failingStore) Bootstrap(ctx context.Context, force bool, fn func(keystone.Repository) error) (bool, error) {
	return s.Repository.Bootstrap(ctx, force, func(tx keystone.Repository) error { return fn(&failingStore{Repository: tx, failUser: s.failUser}) })
}

func (s *failingStore) CreateUser(ctx context.Context, u keystone.User) error {
	if u.Name == s.failUser {
		return errCrash
	}
	return s.Repository.CreateUser(ctx, u)
}

// TestInterruptedFirstBootstrapCompletes: a first start that dies half-way
// through the bootstrap leaves nothing, and the next start does all of it.
func TestInterruptedFirstBootstrapCompletes(t *testing.T) {
	crashing := keystonetest.NewSetup(t, keystonetest.WithoutBootstrap(),
		keystonetest.WithRepository(func(r keystone.Repository) keystone.Repository {
			return &failingStore{Repository: r, failUser: "demo"}
		}))
	ctx, store, pass := crashing.Ctx, crashing.Repo, keystonetest.Passwords
	if _, err := crashing.Service.BootstrapFirstStart(ctx, keystone.DefaultAccounts, pass); !errors.Is(err, errCrash) {
		t.Fatalf("interrupted bootstrap: %v", err)
	}
	if _, err := store.FindUser(ctx, keystone.DefaultDomainID, "admin"); !errors.Is(err, keystone.ErrNotFound) {
		t.Fatalf("an interrupted bootstrap kept the admin user: %v", err)
	}
	svc := keystone.New(store, nil, crashing.Config, nil)
	ran, err := svc.BootstrapFirstStart(ctx, keystone.DefaultAccounts, pass)
	if err != nil || !ran {
		t.Fatalf("start after the interrupted one: ran=%v err=%v", ran, err)
	}
	for _, name := range []string{"admin", "demo"} {
		if _, err := svc.Authenticate(ctx, keystone.AuthRequest{Methods: []string{"password"},
			Password: &keystone.PasswordIdentity{UserName: name, DomainID: keystone.DefaultDomainID, Password: pass[name]}}); err != nil {
			t.Fatalf("%s after the completed bootstrap: %v", name, err)
		}
	}
}
