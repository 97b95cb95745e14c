// Package repotest is the conformance suite every keystone.Repository
// implementation must pass.
package repotest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"imagestack/policy/keystone"
)

// Run exercises the Repository contract on a fresh, empty store, as
// subtests that build on each other (each runs only when the ones before passed).
func Run(t *testing.T, s keystone.Repository) {
	c := &suite{s: s, ctx: context.Background(), now: time.Now().UTC().Truncate(time.Second)}
	for _, step := range []struct {
		name string
		run  func(t *testing.T)
	}{
		{"Domains", c.domains},
		{"Projects", c.projects},
		{"Users", c.users},
		{"FailedLogins", func(t *testing.T) { failedLogins(t, s, c.now) }},
		{"RolesAndAssignments", c.rolesAndAssignments},
		{"Tokens", c.tokens},
		{"Cascades", c.cascades},
	} {
		if !t.Run(step.name, step.run) {
			return
		}
	}
}

// suite is the state the steps of Run share.
type suite struct {
	s   keystone.Repository
	ctx context.Context
	now time.Time
}

func (c *suite) mustNot(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func (c *suite) wantKind(t *testing.T, err, kind error, what string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("%s: got %v, want %v", what, err, kind)
	}
}

// domains creates the domains "default" and "d2".
func (c *suite) domains(t *testing.T) {
	s, ctx := c.s, c.ctx
	// Domains.
	c.mustNot(t, s.CreateDomain(ctx, keystone.Domain{ID: "default", Name: "Default", Enabled: true}), "create domain")
	c.mustNot(t, s.CreateDomain(ctx, keystone.Domain{ID: "d2", Name: "Other", Enabled: true}), "create domain 2")
	c.wantKind(t, s.CreateDomain(ctx, keystone.Domain{ID: "d3", Name: "Default"}), keystone.ErrConflict, "duplicate domain name")
	d, err := s.FindDomain(ctx, "Other")
	c.mustNot(t, err, "find domain")
	if d.ID != "d2" || !d.Enabled {
		t.Fatalf("find domain: %+v", d)
	}
	_, err = s.GetDomain(ctx, "nope")
	c.wantKind(t, err, keystone.ErrNotFound, "get missing domain")
}

// projects checks project names (unique per domain), listing and updates.
func (c *suite) projects(t *testing.T) {
	s, ctx, now := c.s, c.ctx, c.now
	// Projects: names unique per domain, not globally.
	c.mustNot(t, s.CreateProject(ctx, keystone.Project{ID: "p1", Name: "alpha", DomainID: "default", Enabled: true, CreatedAt: now}), "create p1")
	c.mustNot(t, s.CreateProject(ctx, keystone.Project{ID: "p2", Name: "alpha", DomainID: "d2", Enabled: true, CreatedAt: now}), "same name other domain")
	c.wantKind(t, s.CreateProject(ctx, keystone.Project{ID: "p3", Name: "alpha", DomainID: "default", CreatedAt: now}), keystone.ErrConflict, "duplicate project name")
	c.wantKind(t, s.CreateProject(ctx, keystone.Project{ID: "p1", Name: "beta", DomainID: "default", CreatedAt: now}), keystone.ErrConflict, "duplicate project id")
	c.mustNot(t, s.CreateProject(ctx, keystone.Project{ID: "p4", Name: "beta", DomainID: "default", Enabled: false, CreatedAt: now}), "create p4")
	p, err := s.FindProject(ctx, "d2", "alpha")
	c.mustNot(t, err, "find project")
	if p.ID != "p2" {
		t.Fatalf("find project in d2 = %s", p.ID)
	}
	ps, err := s.ListProjects(ctx, keystone.ProjectFilter{DomainID: "default"})
	c.mustNot(t, err, "list projects")
	if len(ps) != 2 || ps[0].Name != "alpha" || ps[1].Name != "beta" {
		t.Fatalf("list projects by domain, sorted by name: %+v", ps)
	}
	on := true
	ps, err = s.ListProjects(ctx, keystone.ProjectFilter{IDs: []string{"p1", "p4", "zzz"}, Enabled: &on})
	c.mustNot(t, err, "list projects by ids")
	if len(ps) != 1 || ps[0].ID != "p1" {
		t.Fatalf("list enabled by ids: %+v", ps)
	}
	ps, err = s.ListProjects(ctx, keystone.ProjectFilter{IDs: []string{}})
	c.mustNot(t, err, "list no ids")
	if len(ps) != 0 {
		t.Fatalf("empty id list must match nothing, got %d", len(ps))
	}
	p.Name, p.Description, p.Enabled = "gamma", "desc", false
	c.mustNot(t, s.UpdateProject(ctx, p), "update project")
	c.mustNot(t, s.UpdateProject(ctx, p), "update project with no change")
	got, err := s.GetProject(ctx, "p2")
	c.mustNot(t, err, "get project")
	if got.Name != "gamma" || got.Description != "desc" || got.Enabled || !got.CreatedAt.Equal(now) {
		t.Fatalf("updated project: %+v", got)
	}
	c.wantKind(t, s.UpdateProject(ctx, keystone.Project{ID: "nope", Name: "x"}), keystone.ErrNotFound, "update missing project")
	c.wantKind(t, s.UpdateProject(ctx, keystone.Project{ID: "p4", Name: "alpha", DomainID: "default"}), keystone.ErrConflict, "rename onto existing name")
}

// users creates users u1 (ann) and u2 (bob) and updates u1.
func (c *suite) users(t *testing.T) {
	s, ctx, now := c.s, c.ctx, c.now
	on := true
	// Users.
	u := keystone.User{ID: "u1", Name: "ann", DomainID: "default", DefaultProjectID: "p1", Enabled: true,
		PasswordHash: "h1", Email: "ann@example.org", CreatedAt: now}
	c.mustNot(t, s.CreateUser(ctx, u), "create user")
	c.wantKind(t, s.CreateUser(ctx, keystone.User{ID: "u2", Name: "ann", DomainID: "default", CreatedAt: now}), keystone.ErrConflict, "duplicate user name")
	c.mustNot(t, s.CreateUser(ctx, keystone.User{ID: "u2", Name: "bob", DomainID: "default", Enabled: true, CreatedAt: now}), "create bob")
	gu, err := s.FindUser(ctx, "default", "ann")
	c.mustNot(t, err, "find user")
	if gu != u {
		t.Fatalf("user round trip:\n got %+v\nwant %+v", gu, u)
	}
	gu.PasswordHash, gu.Enabled, gu.Description = "h2", false, "changed"
	c.mustNot(t, s.UpdateUser(ctx, gu), "update user")
	gu2, _ := s.GetUser(ctx, "u1")
	if gu2.PasswordHash != "h2" || gu2.Enabled || gu2.Description != "changed" {
		t.Fatalf("updated user: %+v", gu2)
	}
	us, err := s.ListUsers(ctx, keystone.UserFilter{Enabled: &on})
	c.mustNot(t, err, "list users")
	if len(us) != 1 || us[0].Name != "bob" {
		t.Fatalf("list enabled users: %+v", us)
	}
}

// rolesAndAssignments checks roles and role assignments.
func (c *suite) rolesAndAssignments(t *testing.T) {
	s, ctx := c.s, c.ctx
	// Roles and assignments.
	c.mustNot(t, s.CreateRole(ctx, keystone.Role{ID: "r1", Name: "member"}), "create role")
	c.mustNot(t, s.CreateRole(ctx, keystone.Role{ID: "r2", Name: "reader"}), "create role 2")
	c.wantKind(t, s.CreateRole(ctx, keystone.Role{ID: "r3", Name: "member"}), keystone.ErrConflict, "duplicate role")
	rs, _ := s.ListRoles(ctx, "reader")
	if len(rs) != 1 || rs[0].ID != "r2" {
		t.Fatalf("roles by name: %+v", rs)
	}
	a1 := keystone.Assignment{UserID: "u1", TargetType: keystone.TargetProject, TargetID: "p1", RoleID: "r1"}
	c.mustNot(t, s.AddAssignment(ctx, a1), "grant")
	c.mustNot(t, s.AddAssignment(ctx, a1), "grant twice is fine")
	c.mustNot(t, s.AddAssignment(ctx, keystone.Assignment{UserID: "u1", TargetType: keystone.TargetProject, TargetID: "p4", RoleID: "r2"}), "grant 2")
	c.mustNot(t, s.AddAssignment(ctx, keystone.Assignment{UserID: "u2", TargetType: keystone.TargetDomain, TargetID: "default", RoleID: "r2"}), "domain grant")
	as, _ := s.ListAssignments(ctx, keystone.AssignmentFilter{UserID: "u1"})
	if len(as) != 2 {
		t.Fatalf("u1 assignments: %+v", as)
	}
	as, _ = s.ListAssignments(ctx, keystone.AssignmentFilter{TargetType: keystone.TargetDomain})
	if len(as) != 1 || as[0].UserID != "u2" {
		t.Fatalf("domain assignments: %+v", as)
	}
	c.mustNot(t, s.RemoveAssignment(ctx, a1), "revoke")
	c.wantKind(t, s.RemoveAssignment(ctx, a1), keystone.ErrNotFound, "revoke twice")
}

// tokens checks token records and their expiry.
func (c *suite) tokens(t *testing.T) {
	s, ctx, now := c.s, c.ctx, c.now
	// Tokens.
	tok := keystone.TokenRecord{Hash: "h-a", UserID: "u1", ProjectID: "p4", Methods: []string{"password", "token"},
		AuditIDs: []string{"x", "y"}, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	c.mustNot(t, s.CreateToken(ctx, tok), "create token")
	gt, err := s.GetToken(ctx, "h-a")
	c.mustNot(t, err, "get token")
	if gt.UserID != "u1" || gt.ProjectID != "p4" || len(gt.Methods) != 2 || gt.AuditIDs[1] != "y" || !gt.ExpiresAt.Equal(tok.ExpiresAt) {
		t.Fatalf("token round trip: %+v", gt)
	}
	c.mustNot(t, s.CreateToken(ctx, keystone.TokenRecord{Hash: "h-old", UserID: "u2", Methods: []string{"password"}, AuditIDs: []string{"z"}, IssuedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)}), "old token")
	n, err := s.DeleteExpiredTokens(ctx, now)
	c.mustNot(t, err, "expire")
	if n != 1 {
		t.Fatalf("expired tokens removed = %d, want 1", n)
	}
	c.mustNot(t, s.CreateToken(ctx, keystone.TokenRecord{Hash: "h-b", UserID: "u1", Methods: []string{"password"}, AuditIDs: []string{"w"}, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}), "token b")
	c.mustNot(t, s.DeleteToken(ctx, "h-b"), "delete token")
	c.wantKind(t, s.DeleteToken(ctx, "h-b"), keystone.ErrNotFound, "delete token twice")
}

// cascades checks what deleting a project, a user or a role takes with it.
func (c *suite) cascades(t *testing.T) {
	s, ctx, now := c.s, c.ctx, c.now
	// Cascades: deleting a project drops its assignments and scoped tokens.
	c.mustNot(t, s.DeleteProject(ctx, "p4"), "delete project")
	c.wantKind(t, s.DeleteProject(ctx, "p4"), keystone.ErrNotFound, "delete project twice")
	_, err := s.GetToken(ctx, "h-a")
	c.wantKind(t, err, keystone.ErrNotFound, "token scoped to deleted project")
	as, _ := s.ListAssignments(ctx, keystone.AssignmentFilter{TargetID: "p4"})
	if len(as) != 0 {
		t.Fatalf("assignments survived project delete: %+v", as)
	}
	// Deleting a user drops its assignments and tokens; a role its assignments.
	c.mustNot(t, s.CreateToken(ctx, keystone.TokenRecord{Hash: "h-c", UserID: "u2", Methods: []string{"password"}, AuditIDs: []string{"v"}, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}), "token c")
	c.mustNot(t, s.DeleteUserTokens(ctx, "u2"), "delete user tokens")
	_, err = s.GetToken(ctx, "h-c")
	c.wantKind(t, err, keystone.ErrNotFound, "token after DeleteUserTokens")
	c.mustNot(t, s.DeleteUser(ctx, "u2"), "delete user")
	as, _ = s.ListAssignments(ctx, keystone.AssignmentFilter{UserID: "u2"})
	if len(as) != 0 {
		t.Fatalf("assignments survived user delete")
	}
	c.mustNot(t, s.AddAssignment(ctx, keystone.Assignment{UserID: "u1", TargetType: keystone.TargetProject, TargetID: "p1", RoleID: "r2"}), "grant r2")
	c.mustNot(t, s.DeleteRole(ctx, "r2"), "delete role")
	as, _ = s.ListAssignments(ctx, keystone.AssignmentFilter{RoleID: "r2"})
	if len(as) != 0 {
		t.Fatalf("assignments survived role delete")
	}
	c.wantKind(t, s.DeleteRole(ctx, "r2"), keystone.ErrNotFound, "delete role twice")
}

// failedLogins checks the lockout counters of user u1: concurrent failures all
// count, whole-user updates leave the counters alone, and a reset clears them.
func failedLogins(t *testing.T, s keystone.Repository, now time.Time) {
	t.Helper()
	ctx := context.Background()
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.RecordFailedAuth(ctx, "u1", now.Add(time.Duration(i)*time.Second))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("record failed login: %v", err)
		}
	}
	u, err := s.GetUser(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if u.FailedAuthCount != n || u.FailedAuthAt.IsZero() || u.FailedAuthAt.Before(now) || u.FailedAuthAt.Location() != time.UTC {
		t.Fatalf("after %d concurrent failures: count %d, last %v", n, u.FailedAuthCount, u.FailedAuthAt)
	}
	u.Description = "renamed while failing"
	u.FailedAuthCount = 0
	if err := s.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if u, _ = s.GetUser(ctx, "u1"); u.FailedAuthCount != n {
		t.Fatalf("UpdateUser changed the failed-login count to %d", u.FailedAuthCount)
	}
	if err := s.ResetFailedAuth(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if err := s.ResetFailedAuth(ctx, "u1"); err != nil {
		t.Fatalf("reset twice: %v", err)
	}
	if u, _ = s.GetUser(ctx, "u1"); u.FailedAuthCount != 0 || !u.FailedAuthAt.IsZero() {
		t.Fatalf("after reset: count %d, last %v", u.FailedAuthCount, u.FailedAuthAt)
	}
	if err := s.RecordFailedAuth(ctx, "nobody", now); !errors.Is(err, keystone.ErrNotFound) {
		t.Fatalf("failed login of a missing user: %v", err)
	}
	if err := s.ResetFailedAuth(ctx, "nobody"); !errors.Is(err, keystone.ErrNotFound) {
		t.Fatalf("reset of a missing user: %v", err)
	}
}

// RunBootstrap checks Repository.Bootstrap on a fresh, empty store.
func RunBootstrap(t *testing.T, s keystone.Repository) {
	ctx := context.Background()
	domain := keystone.Domain{ID: "default", Name: "Default", Enabled: true}
	boom := errors.New("interrupted")
	// An interrupted first bootstrap leaves nothing behind, not even the marker.
	ran, err := s.Bootstrap(ctx, false, func(tx keystone.Repository) error {
		if err := tx.CreateDomain(ctx, domain); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || ran {
		t.Fatalf("failed bootstrap: ran=%v err=%v", ran, err)
	}
	if _, err := s.GetDomain(ctx, "default"); !errors.Is(err, keystone.ErrNotFound) {
		t.Fatalf("a failed bootstrap kept its writes: %v", err)
	}
	// So the next one runs, and only that one.
	ran, err = s.Bootstrap(ctx, false, func(tx keystone.Repository) error { return tx.CreateDomain(ctx, domain) })
	if err != nil || !ran {
		t.Fatalf("bootstrap after a failed one: ran=%v err=%v", ran, err)
	}
	if _, err := s.GetDomain(ctx, "default"); err != nil {
		t.Fatalf("bootstrap did not commit: %v", err)
	}
	calls := 0
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ran, err := s.Bootstrap(ctx, false, func(keystone.Repository) error { return nil })
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("bootstrap again: %v", err)
			}
			if ran {
				calls++
			}
		}()
	}
	wg.Wait()
	if calls != 0 {
		t.Fatalf("bootstrap ran %d more times without force", calls)
	}
	ran, err = s.Bootstrap(ctx, true, func(tx keystone.Repository) error {
		return tx.CreateDomain(ctx, keystone.Domain{ID: "d2", Name: "Other", Enabled: true})
	})
	if err != nil || !ran {
		t.Fatalf("forced bootstrap: ran=%v err=%v", ran, err)
	}
	if _, err := s.GetDomain(ctx, "d2"); err != nil {
		t.Fatalf("forced bootstrap did not commit: %v", err)
	}
}
