package api_test

import (
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"imagestack/policy/keystone/keystonetest"
)

// update rewrites the pinned bodies in testdata/views from the current code:
// go test ./policy/keystone/api -run TestWireBodies -update
var update = flag.Bool("update", false, "rewrite testdata/views from the current responses")

// wire fetches responses whose random parts (ids, tokens, audit ids, the
// test server's address) are replaced by stable names, so whole bodies can be
// compared with the pinned ones.
type wire struct {
	t     *testing.T
	url   string
	names map[string]string // random string -> stable name
}

// raw sends a request and returns the status and the body with every known
// random string replaced.
func (w *wire) raw(method, path, token string, body any, hdr ...string) (int, []byte, http.Header) {
	w.t.Helper()
	resp, out := send(w.t, w.url+path, method, token, body, hdr...)
	s := strings.ReplaceAll(string(out), w.url, "http://keystone")
	for random, name := range w.names {
		s = strings.ReplaceAll(s, random, name)
	}
	return resp.StatusCode, []byte(s), resp.Header
}

// learn names every id of a list response (users, projects, roles, domains).
func (w *wire) learn(token, kind string) {
	w.t.Helper()
	status, body, _ := w.raw("GET", "/v3/"+kind+"s", token, nil)
	var list map[string]json.RawMessage
	var items []struct{ ID, Name string }
	if status != 200 || json.Unmarshal(body, &list) != nil || json.Unmarshal(list[kind+"s"], &items) != nil {
		w.t.Fatalf("GET /v3/%ss = %d %s", kind, status, body)
	}
	for _, x := range items {
		if x.ID != "default" && !strings.HasPrefix(x.ID, "<") {
			w.names[x.ID] = "<" + kind + ":" + x.Name + ">"
		}
	}
}

// token issues a token for the auth body and names it.
func (w *wire) token(name string, auth any) (string, []byte) {
	w.t.Helper()
	status, body, hdr := w.raw("POST", "/v3/auth/tokens", "", auth)
	if status != 201 {
		w.t.Fatalf("token %s = %d %s", name, status, body)
	}
	id := hdr.Get("X-Subject-Token")
	w.names[id] = "<token:" + name + ">"
	return id, body
}

// pin compares body with testdata/views/name.json structurally; audit ids
// (random and not otherwise referenced) are compared by count only.
func (w *wire) pin(name string, status, wantStatus int, body []byte) {
	w.t.Helper()
	if status != wantStatus {
		w.t.Errorf("%s: status %d, want %d: %s", name, status, wantStatus, body)
		return
	}
	var got any
	if err := json.Unmarshal(body, &got); err != nil {
		w.t.Fatalf("%s: %v: %s", name, err, body)
	}
	got = normalise(got)
	file := filepath.Join("testdata", "views", name+".json")
	if *update {
		if err := os.WriteFile(file, []byte(encode(got)), 0o644); err != nil {
			w.t.Fatal(err)
		}
		return
	}
	pinned, err := os.ReadFile(file)
	if err != nil {
		w.t.Fatal(err)
	}
	var want any
	if err := json.Unmarshal(pinned, &want); err != nil {
		w.t.Fatalf("%s: %v", file, err)
	}
	if !reflect.DeepEqual(got, want) {
		w.t.Errorf("%s: body differs from %s:\n%s", name, file, encode(got))
	}
}

// normalise replaces each audit id by "<audit>" and sorts arrays of
// objects: lists come in id order, and the ids are random.
func normalise(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if ids, ok := e.([]any); ok && k == "audit_ids" {
				for i := range ids {
					ids[i] = "<audit>"
				}
				continue
			}
			x[k] = normalise(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalise(e)
		}
		sort.SliceStable(x, func(i, j int) bool { return encode(x[i]) < encode(x[j]) })
	}
	return v
}

func scoped(user, pw string, scope any) map[string]any {
	a := passwordAuth(user, pw, "")
	if scope != nil {
		a["auth"].(map[string]any)["scope"] = scope
	}
	return a
}

// TestWireBodies pins complete identity response bodies (keys, nulls, what
// is omitted), so that the views can change form but not what they send.
func TestWireBodies(t *testing.T) {
	s := keystonetest.NewSetup(t, keystonetest.WithAPI())
	w := &wire{t: t, url: s.URL, names: map[string]string{}}
	admin, _ := w.token("admin", passwordAuth("admin", "adminpw", "admin"))
	for _, kind := range []string{"user", "project", "role"} {
		w.learn(admin, kind)
	}
	for _, u := range []map[string]any{
		{"name": "full", "password": "fullpw", "email": "full@example.org", "description": "all fields",
			"default_project_id": keyOf(w.names, "<project:demo>")},
		{"name": "bare", "password": "barepw", "enabled": false},
	} {
		if st, body, _ := w.raw("POST", "/v3/users", admin, map[string]any{"user": u}); st != 201 {
			t.Fatalf("create user %v = %d %s", u["name"], st, body)
		}
	}
	w.learn(admin, "user")

	// The admin token was issued before its ids had names: it is pinned as
	// validated, and a second token as issued.
	st, body, _ := w.raw("GET", "/v3/auth/tokens", admin, nil, "X-Subject-Token", admin)
	w.pin("token_validate", st, 200, body)
	_, body = w.token("admin2", passwordAuth("admin", "adminpw", "admin"))
	w.pin("token_project", 201, 201, body)
	st, body, _ = w.raw("POST", "/v3/auth/tokens?nocatalog", "", passwordAuth("admin", "adminpw", "admin"))
	w.pin("token_project_nocatalog", st, 201, body)

	adminID, adminRole := keyOf(w.names, "<user:admin>"), keyOf(w.names, "<role:admin>")
	st, body, _ = w.raw("PUT", "/v3/domains/default/users/"+adminID+"/roles/"+adminRole, admin, nil)
	if st != 204 {
		t.Fatalf("domain grant = %d %s", st, body)
	}
	st, body, _ = w.raw("POST", "/v3/auth/tokens", "", scoped("admin", "adminpw", map[string]any{"domain": map[string]any{"id": "default"}}))
	w.pin("token_domain", st, 201, body)
	st, body, _ = w.raw("POST", "/v3/auth/tokens", "", scoped("admin", "adminpw", "unscoped"))
	w.pin("token_unscoped", st, 201, body)
	st, body, _ = w.raw("POST", "/v3/auth/tokens", "", scoped("full", "fullpw", nil))
	w.pin("token_default_project_without_role", st, 201, body)

	for _, c := range []struct{ name, path string }{
		{"versions", "/"},
		{"version", "/v3"},
		{"users", "/v3/users"},
		{"users_by_name", "/v3/users?name=full"},
		{"user", "/v3/users/" + adminID},
		{"user_full", "/v3/users/" + keyOf(w.names, "<user:full>")},
		{"user_bare", "/v3/users/" + keyOf(w.names, "<user:bare>")},
		{"projects", "/v3/projects"},
		{"project", "/v3/projects/" + keyOf(w.names, "<project:admin>")},
		{"user_projects", "/v3/users/" + adminID + "/projects"},
		{"domains", "/v3/domains"},
		{"domain", "/v3/domains/default"},
		{"roles", "/v3/roles"},
		{"role", "/v3/roles/" + adminRole},
		{"grants", "/v3/projects/" + keyOf(w.names, "<project:admin>") + "/users/" + adminID + "/roles"},
		{"role_assignments", "/v3/role_assignments"},
		{"role_assignments_names", "/v3/role_assignments?include_names"},
		{"role_assignments_effective", "/v3/role_assignments?effective&user.id=" + adminID},
		{"auth_projects", "/v3/auth/projects"},
		{"auth_domains", "/v3/auth/domains"},
		{"auth_catalog", "/v3/auth/catalog"},
		{"services", "/v3/services"},
		{"endpoints", "/v3/endpoints"},
		{"regions", "/v3/regions"},
		{"error_not_found", "/v3/users/nobody"},
		{"error_bad_request", "/v3/users?enabled=maybe"},
	} {
		want := map[string]int{"/": 300, "/v3/users/nobody": 404, "/v3/users?enabled=maybe": 400}[c.path]
		if want == 0 {
			want = 200
		}
		st, body, _ := w.raw("GET", c.path, admin, nil)
		w.pin(c.name, st, want, body)
	}
}

// encode is v as indented JSON, with "<" and ">" left readable.
func encode(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
	return b.String()
}

// keyOf finds the random string a stable name stands for.
func keyOf(names map[string]string, name string) string {
	for k, v := range names {
		if v == name {
			return k
		}
	}
	panic("no id named " + name)
}
