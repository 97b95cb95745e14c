package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"imagestack/policy/keystone"
	"imagestack/policy/keystone/keystonetest"
)

type env struct {
	t   *testing.T
	url string
}

func newEnv(t *testing.T, opts ...keystonetest.Option) *env {
	t.Helper()
	return &env{t: t, url: keystonetest.NewSetup(t, append(opts, keystonetest.WithAPI())...).URL}
}

// do sends a request and decodes a JSON answer (if any) into a generic map.
func (e *env) do(method, path, token string, body any, hdr ...string) (*http.Response, map[string]any) {
	e.t.Helper()
	resp, raw := send(e.t, e.url+path, method, token, body, hdr...)
	var m map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			e.t.Fatalf("%s %s: body is not JSON: %q", method, path, raw)
		}
	}
	return resp, m
}

// send sends body (if any) as JSON with the token and extra header pairs,
// and returns the response with its whole body read.
func send(t *testing.T, url, method, token string, body any, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, raw
}

func passwordAuth(user, pw, project string) map[string]any {
	a := map[string]any{"identity": map[string]any{"methods": []string{"password"},
		"password": map[string]any{"user": map[string]any{"name": user, "domain": map[string]any{"name": "Default"}, "password": pw}}}}
	if project != "" {
		a["scope"] = map[string]any{"project": map[string]any{"name": project, "domain": map[string]any{"id": "default"}}}
	}
	return map[string]any{"auth": a}
}

func (e *env) token(user, pw, project string) string {
	e.t.Helper()
	resp, _ := e.do("POST", "/v3/auth/tokens", "", passwordAuth(user, pw, project))
	if resp.StatusCode != 201 {
		e.t.Fatalf("auth %s: %d", user, resp.StatusCode)
	}
	return resp.Header.Get("X-Subject-Token")
}

func TestVersions(t *testing.T) {
	e := newEnv(t)
	resp, body := e.do("GET", "/", "", nil)
	if resp.StatusCode != 300 {
		t.Fatalf("GET / = %d", resp.StatusCode)
	}
	v := body["versions"].(map[string]any)["values"].([]any)[0].(map[string]any)
	if v["id"] != "v3.14" || v["status"] != "stable" {
		t.Fatalf("version: %v", v)
	}
	if !strings.HasPrefix(resp.Header.Get("X-Openstack-Request-Id"), "req-") {
		t.Fatalf("request id header: %q", resp.Header.Get("X-Openstack-Request-Id"))
	}
	resp, body = e.do("GET", "/v3", "", nil)
	if resp.StatusCode != 200 || body["version"].(map[string]any)["id"] != "v3.14" {
		t.Fatalf("GET /v3 = %d %v", resp.StatusCode, body)
	}
}

func TestIssueTokenWireFormat(t *testing.T) {
	e := newEnv(t)
	resp, body := e.do("POST", "/v3/auth/tokens", "", passwordAuth("admin", "adminpw", "admin"))
	if resp.StatusCode != 201 || resp.Header.Get("X-Subject-Token") == "" {
		t.Fatalf("issue: %d %v", resp.StatusCode, body)
	}
	tok := body["token"].(map[string]any)
	for _, k := range []string{"methods", "user", "project", "roles", "catalog", "expires_at", "issued_at", "audit_ids", "is_domain"} {
		if _, ok := tok[k]; !ok {
			t.Errorf("token body lacks %q", k)
		}
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000000Z", tok["expires_at"].(string)); err != nil {
		t.Errorf("expires_at format: %v", err)
	}
	user := tok["user"].(map[string]any)
	if user["name"] != "admin" || user["domain"].(map[string]any)["name"] != "Default" {
		t.Errorf("user: %v", user)
	}
	if _, ok := user["password_expires_at"]; !ok {
		t.Error("user.password_expires_at missing")
	}
	types := map[string]bool{}
	for _, s := range tok["catalog"].([]any) {
		svc := s.(map[string]any)
		types[svc["type"].(string)] = true
		for _, ep := range svc["endpoints"].([]any) {
			m := ep.(map[string]any)
			if m["region_id"] != "RegionOne" || m["url"] == "" {
				t.Errorf("endpoint: %v", m)
			}
		}
	}
	if !types["image"] || !types["identity"] {
		t.Errorf("catalog types: %v", types)
	}
}

func TestAuthErrors(t *testing.T) {
	e := newEnv(t)
	resp, body := e.do("POST", "/v3/auth/tokens", "", passwordAuth("admin", "wrong", "admin"))
	if resp.StatusCode != 401 {
		t.Fatalf("bad password = %d", resp.StatusCode)
	}
	if errBody := body["error"].(map[string]any); errBody["code"].(float64) != 401 || errBody["title"] != "Unauthorized" {
		t.Fatalf("error body: %v", body)
	}
	if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Keystone uri=") {
		t.Fatalf("WWW-Authenticate: %q", resp.Header.Get("WWW-Authenticate"))
	}
	resp, _ = e.do("POST", "/v3/auth/tokens", "", map[string]any{"auth": "nonsense"})
	if resp.StatusCode != 400 {
		t.Fatalf("malformed body = %d", resp.StatusCode)
	}
	resp, _ = e.do("GET", "/v3/projects", "forged-token", nil)
	if resp.StatusCode != 401 {
		t.Fatalf("forged token = %d", resp.StatusCode)
	}
	resp, _ = e.do("GET", "/v3/projects", "", nil)
	if resp.StatusCode != 401 {
		t.Fatalf("no token = %d", resp.StatusCode)
	}
}

func TestValidateAndRevoke(t *testing.T) {
	e := newEnv(t)
	admin := e.token("admin", "adminpw", "admin")
	demo := e.token("demo", "demopw", "demo")
	resp, body := e.do("GET", "/v3/auth/tokens", admin, nil, "X-Subject-Token", demo)
	if resp.StatusCode != 200 || body["token"].(map[string]any)["project"].(map[string]any)["name"] != "demo" {
		t.Fatalf("admin validates demo: %d %v", resp.StatusCode, body)
	}
	resp, _ = e.do("HEAD", "/v3/auth/tokens", demo, nil, "X-Subject-Token", demo)
	if resp.StatusCode != 200 {
		t.Fatalf("HEAD own token = %d", resp.StatusCode)
	}
	resp, _ = e.do("GET", "/v3/auth/tokens", demo, nil, "X-Subject-Token", admin)
	if resp.StatusCode != 403 {
		t.Fatalf("demo validating admin's token = %d", resp.StatusCode)
	}
	resp, _ = e.do("GET", "/v3/auth/tokens", admin, nil, "X-Subject-Token", "bogus")
	if resp.StatusCode != 404 {
		t.Fatalf("validate bogus = %d", resp.StatusCode)
	}
	resp, _ = e.do("DELETE", "/v3/auth/tokens", admin, nil, "X-Subject-Token", demo)
	if resp.StatusCode != 204 {
		t.Fatalf("revoke = %d", resp.StatusCode)
	}
	resp, _ = e.do("GET", "/v3/auth/projects", demo, nil)
	if resp.StatusCode != 401 {
		t.Fatalf("revoked token used = %d", resp.StatusCode)
	}
}

// TestProjectsUsersRolesAsAdmin: an admin's life cycle of a project, a user
// and a grant, step by step (each step runs when the ones before passed).
func TestProjectsUsersRolesAsAdmin(t *testing.T) {
	outer := newEnv(t)
	admin := outer.token("admin", "adminpw", "admin")
	var pid, uid, rid string
	for _, step := range []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"create project", func(t *testing.T, e *env) {
			resp, body := e.do("POST", "/v3/projects", admin, map[string]any{"project": map[string]any{"name": "p2", "description": "second"}})
			if resp.StatusCode != 201 {
				t.Fatalf("create project = %d %v", resp.StatusCode, body)
			}
			p := body["project"].(map[string]any)
			if p["domain_id"] != "default" || p["enabled"] != true || p["links"].(map[string]any)["self"] == "" {
				t.Fatalf("project view: %v", p)
			}
			pid = p["id"].(string)
			resp, _ = e.do("POST", "/v3/projects", admin, map[string]any{"project": map[string]any{"name": "p2"}})
			if resp.StatusCode != 409 {
				t.Fatalf("duplicate project = %d", resp.StatusCode)
			}
			resp, body = e.do("GET", "/v3/projects?name=p2", admin, nil)
			if resp.StatusCode != 200 || len(body["projects"].([]any)) != 1 {
				t.Fatalf("list by name: %v", body)
			}
		}},
		{"create user", func(t *testing.T, e *env) {
			resp, body := e.do("POST", "/v3/users", admin, map[string]any{"user": map[string]any{"name": "u2", "password": "x", "default_project_id": pid}})
			if resp.StatusCode != 201 {
				t.Fatalf("create user = %d %v", resp.StatusCode, body)
			}
			uid = body["user"].(map[string]any)["id"].(string)
			if _, leaked := body["user"].(map[string]any)["password"]; leaked {
				t.Fatal("user view leaks the password")
			}
		}},
		{"grant", func(t *testing.T, e *env) {
			_, body := e.do("GET", "/v3/roles?name=member", admin, nil)
			rid = body["roles"].([]any)[0].(map[string]any)["id"].(string)
			resp, _ := e.do("PUT", "/v3/projects/"+pid+"/users/"+uid+"/roles/"+rid, admin, nil)
			if resp.StatusCode != 204 {
				t.Fatalf("grant = %d", resp.StatusCode)
			}
			resp, _ = e.do("HEAD", "/v3/projects/"+pid+"/users/"+uid+"/roles/"+rid, admin, nil)
			if resp.StatusCode != 204 {
				t.Fatalf("check grant = %d", resp.StatusCode)
			}
		}},
		{"role assignments", func(t *testing.T, e *env) {
			resp, body := e.do("GET", "/v3/role_assignments?user.id="+uid+"&include_names", admin, nil)
			ras := body["role_assignments"].([]any)
			if resp.StatusCode != 200 || len(ras) != 1 {
				t.Fatalf("assignments: %v", body)
			}
			ra := ras[0].(map[string]any)
			if ra["role"].(map[string]any)["name"] != "member" || ra["scope"].(map[string]any)["project"].(map[string]any)["name"] != "p2" {
				t.Fatalf("assignment: %v", ra)
			}
			_, body = e.do("GET", "/v3/role_assignments?user.id="+uid+"&effective", admin, nil)
			if n := len(body["role_assignments"].([]any)); n != 2 {
				t.Fatalf("effective assignments (member + implied reader) = %d", n)
			}
		}},
		{"user scopes to the project", func(t *testing.T, e *env) {
			// u2 can now scope to p2 and see it in its project list.
			u2 := e.token("u2", "x", "p2")
			resp, body := e.do("GET", "/v3/auth/projects", u2, nil)
			if resp.StatusCode != 200 || len(body["projects"].([]any)) != 1 {
				t.Fatalf("u2 auth/projects: %v", body)
			}
			resp, _ = e.do("GET", "/v3/users/"+uid+"/projects", u2, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("own projects = %d", resp.StatusCode)
			}
		}},
		{"password change", func(t *testing.T, e *env) {
			resp, _ := e.do("PATCH", "/v3/users/"+uid, admin, map[string]any{"user": map[string]any{"password": "y"}})
			if resp.StatusCode != 200 {
				t.Fatalf("set password = %d", resp.StatusCode)
			}
			resp, _ = e.do("POST", "/v3/auth/tokens", "", passwordAuth("u2", "x", "p2"))
			if resp.StatusCode != 401 {
				t.Fatalf("old password = %d", resp.StatusCode)
			}
			e.token("u2", "y", "p2")
		}},
		{"removal and deletes", func(t *testing.T, e *env) {
			resp, _ := e.do("DELETE", "/v3/projects/"+pid+"/users/"+uid+"/roles/"+rid, admin, nil)
			if resp.StatusCode != 204 {
				t.Fatalf("revoke grant = %d", resp.StatusCode)
			}
			resp, _ = e.do("DELETE", "/v3/projects/"+pid+"/users/"+uid+"/roles/"+rid, admin, nil)
			if resp.StatusCode != 404 {
				t.Fatalf("revoke absent grant = %d", resp.StatusCode)
			}
			resp, _ = e.do("DELETE", "/v3/users/"+uid, admin, nil)
			if resp.StatusCode != 204 {
				t.Fatalf("delete user = %d", resp.StatusCode)
			}
			resp, _ = e.do("DELETE", "/v3/projects/"+pid, admin, nil)
			if resp.StatusCode != 204 {
				t.Fatalf("delete project = %d", resp.StatusCode)
			}
			resp, body := e.do("GET", "/v3/projects/"+pid, admin, nil)
			if resp.StatusCode != 404 || !strings.Contains(body["error"].(map[string]any)["message"].(string), pid) {
				t.Fatalf("deleted project = %d %v", resp.StatusCode, body)
			}
		}},
	} {
		if !t.Run(step.name, func(t *testing.T) { step.run(t, &env{t: t, url: outer.url}) }) {
			return
		}
	}
}

func TestNonAdminForbidden(t *testing.T) {
	e := newEnv(t)
	demo := e.token("demo", "demopw", "demo")
	for _, c := range []struct{ method, path string }{
		{"GET", "/v3/projects"}, {"POST", "/v3/projects"}, {"GET", "/v3/users"}, {"POST", "/v3/users"},
		{"GET", "/v3/roles"}, {"POST", "/v3/roles"}, {"GET", "/v3/role_assignments"}, {"GET", "/v3/domains"},
	} {
		resp, body := e.do(c.method, c.path, demo, map[string]any{"project": map[string]any{"name": "x"}, "user": map[string]any{"name": "x"}, "role": map[string]any{"name": "x"}})
		if resp.StatusCode != 403 || body["error"].(map[string]any)["code"].(float64) != 403 {
			t.Errorf("%s %s as member = %d %v", c.method, c.path, resp.StatusCode, body)
		}
	}
}

// TestPolicyBeforeRequestChecks: where Keystone enforces policy before it
// reads the request, a caller without the right gets 403 even for a
// malformed body or query; where the policy target comes from the body
// (creating users and projects), the body is checked first.
func TestPolicyBeforeRequestChecks(t *testing.T) {
	e := newEnv(t)
	demo := e.token("demo", "demopw", "demo")
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/v3/users?enabled=maybe", 403}, {"GET", "/v3/projects?enabled=maybe", 403},
		{"PATCH", "/v3/users/someone", 403}, {"PATCH", "/v3/projects/some", 403},
		{"POST", "/v3/roles", 403}, {"PATCH", "/v3/roles/some", 403}, {"POST", "/v3/users/someone/password", 403},
		{"POST", "/v3/users", 400}, {"POST", "/v3/projects", 400},
	} {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			e := &env{t: t, url: e.url}
			if resp, body := e.do(c.method, c.path, demo, []int{1}); resp.StatusCode != c.want {
				t.Fatalf("= %d %v, want %d", resp.StatusCode, body, c.want)
			}
		})
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	e := newEnv(t)
	resp, body := e.do("GET", "/v3/nothing-here", "", nil)
	if resp.StatusCode != 404 || body["error"].(map[string]any)["code"].(float64) != 404 {
		t.Fatalf("unknown route = %d %v", resp.StatusCode, body)
	}
	resp, _ = e.do("PUT", "/v3/auth/tokens", "", nil)
	if resp.StatusCode != 405 {
		t.Fatalf("wrong method = %d", resp.StatusCode)
	}
	if allow := resp.Header.Get("Allow"); allow != "DELETE, GET, HEAD, POST" {
		t.Fatalf("Allow = %q", allow)
	}
}

// TestChangeOwnPassword: POST /v3/users/{id}/password checks the original
// password like a login does, and then replaces it.
func TestChangeOwnPassword(t *testing.T) {
	e := newEnv(t)
	demo := e.token("demo", "demopw", "demo")
	_, body := e.do("GET", "/v3/auth/tokens", demo, nil, "X-Subject-Token", demo)
	uid := body["token"].(map[string]any)["user"].(map[string]any)["id"].(string)
	change := func(original, password string) int {
		resp, _ := e.do("POST", "/v3/users/"+uid+"/password", demo,
			map[string]any{"user": map[string]any{"original_password": original, "password": password}})
		return resp.StatusCode
	}
	if code := change("wrong", "new"); code != 401 {
		t.Fatalf("wrong original password = %d, want 401", code)
	}
	if code := change("demopw", "new"); code != 204 {
		t.Fatalf("change = %d, want 204", code)
	}
	if resp, _ := e.do("POST", "/v3/auth/tokens", "", passwordAuth("demo", "demopw", "demo")); resp.StatusCode != 401 {
		t.Fatalf("old password after the change = %d", resp.StatusCode)
	}
	e.token("demo", "new", "demo")
}

// outageRepo answers one kind of lookup (fail: "GetUser", "GetProject",
// "GetDomain" or "GetRole") with an outage while down is set.
type outageRepo struct {
	keystone.Repository
	fail string
	down atomic.Bool
}

func (r *outageRepo) err(method string) error {
	if r.down.Load() && method == r.fail {
		return fmt.Errorf("%w: the identity database is unreachable", keystone.ErrUnavailable)
	}
	return nil
}

func (r *outageRepo) GetUser(ctx context.Context, id string) (keystone.User, error) {
	if err := r.err("GetUser"); err != nil {
		return keystone.User{}, err
	}
	return r.Repository.GetUser(ctx, id)
}

func (r *outageRepo) GetProject(ctx context.Context, id string) (keystone.Project, error) {
	if err := r.err("GetProject"); err != nil {
		return keystone.Project{}, err
	}
	return r.Repository.GetProject(ctx, id)
}

func (r *outageRepo) GetDomain(ctx context.Context, id string) (keystone.Domain, error) {
	if err := r.err("GetDomain"); err != nil {
		return keystone.Domain{}, err
	}
	return r.Repository.GetDomain(ctx, id)
}

func (r *outageRepo) GetRole(ctx context.Context, id string) (keystone.Role, error) {
	if err := r.err("GetRole"); err != nil {
		return keystone.Role{}, err
	}
	return r.Repository.GetRole(ctx, id)
}

// TestLookupOutagesAre503: a name or role lookup that fails because the
// database is out of reach answers 503 with Retry-After; it rendered a view
// with empty names (role assignments) or left the role out (grants) before.
func TestLookupOutagesAre503(t *testing.T) {
	for _, c := range []struct{ fail, path string }{
		{"GetUser", "/v3/role_assignments?include_names"},
		{"GetProject", "/v3/role_assignments?include_names"},
		{"GetDomain", "/v3/role_assignments?include_names"},
		{"GetRole", "/v3/projects/{project}/users/{user}/roles"},
	} {
		t.Run(c.fail, func(t *testing.T) {
			repo := &outageRepo{fail: c.fail}
			e := newEnv(t, keystonetest.WithRepository(func(r keystone.Repository) keystone.Repository {
				repo.Repository = r
				return repo
			}))
			admin := e.token("admin", "adminpw", "admin")
			// Validating the caller's token once caches it, so that the outage
			// meets the lookup under test and not the token check.
			_, body := e.do("GET", "/v3/auth/tokens", admin, nil, "X-Subject-Token", admin)
			tok := body["token"].(map[string]any)
			path := strings.NewReplacer("{project}", tok["project"].(map[string]any)["id"].(string),
				"{user}", tok["user"].(map[string]any)["id"].(string)).Replace(c.path)
			if resp, _ := e.do("GET", path, admin, nil); resp.StatusCode != 200 {
				t.Fatalf("GET %s before the outage = %d", path, resp.StatusCode)
			}
			repo.down.Store(true)
			resp, body := e.do("GET", path, admin, nil)
			if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || body["error"].(map[string]any)["code"].(float64) != 503 {
				t.Fatalf("GET %s during the outage = %d %v", path, resp.StatusCode, body)
			}
		})
	}
}
