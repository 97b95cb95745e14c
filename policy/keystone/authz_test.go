package keystone_test

import (
	"errors"
	"testing"

	"imagestack/policy"
	"imagestack/policy/keystone"
)

// TestServiceOwnsPolicy: the service, not the HTTP layer, decides what a
// caller may do: a member is refused the admin operations with Keystone's
// message, may still see itself and its own token, and a service built
// without an Authorizer refuses every guarded operation.
func TestServiceOwnsPolicy(t *testing.T) {
	f := newFixture(t)
	demoTok, err := f.password("demo", "demopw", keystone.Scope{})
	if err != nil {
		t.Fatal(err)
	}
	adminTok, err := f.password("admin", "adminpw", keystone.Scope{})
	if err != nil {
		t.Fatal(err)
	}
	demo := demoTok.Credentials()
	forbidden := func(t *testing.T, err error, rule string) {
		t.Helper()
		if !errors.Is(err, keystone.ErrForbidden) || keystone.Message(err) != "You are not authorized to perform the requested action: "+rule+"." {
			t.Fatalf("got %v, want 403 for %s", err, rule)
		}
	}
	t.Run("member refused admin operations", func(t *testing.T) {
		_, err := f.Service.ListUsers(f.Ctx, demo, keystone.UserFilter{})
		forbidden(t, err, "identity:list_users")
		_, err = f.Service.CreateProject(f.Ctx, demo, keystone.Project{Name: "p"})
		forbidden(t, err, "identity:create_project")
		_, err = f.Service.ListRoleAssignments(f.Ctx, demo, keystone.AssignmentQuery{})
		forbidden(t, err, "identity:list_role_assignments")
		_, err = f.Service.ValidateToken(f.Ctx, demo, adminTok.ID)
		forbidden(t, err, "identity:validate_token")
	})
	t.Run("member sees itself", func(t *testing.T) {
		if u, err := f.Service.GetUser(f.Ctx, demo, demo.UserID); err != nil || u.Name != "demo" {
			t.Fatalf("own user: %+v %v", u, err)
		}
		if tok, err := f.Service.ValidateToken(f.Ctx, demo, demoTok.ID); err != nil || tok.User.Name != "demo" {
			t.Fatalf("own token: %v", err)
		}
		if ps, err := f.Service.AuthProjects(f.Ctx, demo); err != nil || len(ps) != 1 || ps[0].Name != "demo" {
			t.Fatalf("own projects: %+v %v", ps, err)
		}
	})
	t.Run("admin may", func(t *testing.T) {
		if _, err := f.Service.ListUsers(f.Ctx, adminTok.Credentials(), keystone.UserFilter{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("no authorizer refuses", func(t *testing.T) {
		bare := keystone.New(f.Repo, nil, f.Config, nil)
		_, err := bare.ListRegions(policy.Credentials{Roles: []string{"admin"}})
		forbidden(t, err, "identity:list_regions")
	})
}
