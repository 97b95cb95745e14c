package api_test

import (
	"strings"
	"testing"
)

// limitsEnv holds an identity API with tokens for admin and demo, and the
// image service's id as the catalog gives it.
type limitsEnv struct {
	*env
	admin, demo, imageID, demoID, adminID string
}

func newLimitsEnv(t *testing.T) *limitsEnv {
	e := &limitsEnv{env: newEnv(t)}
	e.admin = e.token("admin", "adminpw", "admin")
	e.demo = e.token("demo", "demopw", "demo")
	_, body := e.do("GET", "/v3/services?type=image", e.admin, nil)
	svcs := body["services"].([]any)
	if len(svcs) != 1 {
		t.Fatalf("services?type=image: %v", body)
	}
	e.imageID = svcs[0].(map[string]any)["id"].(string)
	for name, dst := range map[string]*string{"demo": &e.demoID, "admin": &e.adminID} {
		_, body = e.do("GET", "/v3/projects?name="+name, e.admin, nil)
		*dst = body["projects"].([]any)[0].(map[string]any)["id"].(string)
	}
	return e
}

func (e *limitsEnv) expect(method, path, token string, body any, status int) map[string]any {
	e.t.Helper()
	resp, out := e.do(method, path, token, body)
	if resp.StatusCode != status {
		e.t.Fatalf("%s %s = %d %v, want %d", method, path, resp.StatusCode, out, status)
	}
	return out
}

func regLimit(service, resource string, def int) map[string]any {
	return map[string]any{"registered_limits": []any{map[string]any{"service_id": service, "resource_name": resource, "default_limit": def}}}
}

func projLimit(service, project, resource string, n int) map[string]any {
	return map[string]any{"limits": []any{map[string]any{"service_id": service, "project_id": project, "resource_name": resource, "resource_limit": n}}}
}

func errMessage(body map[string]any) string {
	return body["error"].(map[string]any)["message"].(string)
}

// TestRegisteredLimitsCRUD: Keystone's bodies, duplicates 409, unknown
// services 400, admin-only writes, reads for every user, and a registered
// limit that project limits override cannot change (403).
func TestRegisteredLimitsCRUD(t *testing.T) {
	e := newLimitsEnv(t)
	out := e.expect("POST", "/v3/registered_limits", e.admin, regLimit(e.imageID, "image_count_total", 10), 201)
	rl := out["registered_limits"].([]any)[0].(map[string]any)
	if rl["service_id"] != e.imageID || rl["region_id"] != nil || rl["description"] != nil || rl["default_limit"] != 10.0 {
		t.Fatalf("registered limit view: %v", rl)
	}
	id := rl["id"].(string)
	out = e.expect("POST", "/v3/registered_limits", e.admin, regLimit(e.imageID, "image_count_total", 5), 409)
	if msg := errMessage(out); msg != "Conflict occurred attempting to store registered_limit - Duplicate entry." {
		t.Errorf("duplicate: %q", msg)
	}
	out = e.expect("POST", "/v3/registered_limits", e.admin, regLimit("nosuch", "x", 5), 400)
	if msg := errMessage(out); msg != "Expecting to find service_id in registered_limit. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error." {
		t.Errorf("unknown service: %q", msg)
	}
	e.expect("POST", "/v3/registered_limits", e.admin, regLimit(e.imageID, "x", -2), 400)
	e.expect("POST", "/v3/registered_limits", e.admin, map[string]any{"registered_limits": []any{}}, 400)
	e.expect("POST", "/v3/registered_limits", e.demo, regLimit(e.imageID, "y", 1), 403)

	list := e.expect("GET", "/v3/registered_limits?resource_name=image_count_total", e.demo, nil, 200)["registered_limits"].([]any)
	if len(list) != 1 || len(e.expect("GET", "/v3/registered_limits?service_id=other", e.admin, nil, 200)["registered_limits"].([]any)) != 0 {
		t.Fatalf("filtered lists: %v", list)
	}
	e.expect("GET", "/v3/registered_limits/"+id, e.demo, nil, 200)
	out = e.expect("PATCH", "/v3/registered_limits/"+id, e.admin, map[string]any{"registered_limit": map[string]any{"default_limit": 7, "description": "images"}}, 200)
	if got := out["registered_limit"].(map[string]any); got["default_limit"] != 7.0 || got["description"] != "images" {
		t.Fatalf("patched: %v", got)
	}
	e.expect("PATCH", "/v3/registered_limits/"+id, e.demo, map[string]any{"registered_limit": map[string]any{"default_limit": 1}}, 403)

	e.expect("POST", "/v3/limits", e.admin, projLimit(e.imageID, e.demoID, "image_count_total", 3), 201)
	out = e.expect("DELETE", "/v3/registered_limits/"+id, e.admin, nil, 403)
	if msg := errMessage(out); msg != "Unable to update or delete registered limit "+id+" because there are project limits associated with it." {
		t.Errorf("referenced: %q", msg)
	}
	e.expect("PATCH", "/v3/registered_limits/"+id, e.admin, map[string]any{"registered_limit": map[string]any{"default_limit": 1}}, 403)
	e.expect("GET", "/v3/registered_limits/nosuch", e.admin, nil, 404)
}

// TestLimitsCRUD: a limit needs its registered limit (403), a known project
// (400) and is unique per project (409); members read their own project's
// limits only; updates and deletes are for admins.
func TestLimitsCRUD(t *testing.T) {
	e := newLimitsEnv(t)
	e.expect("POST", "/v3/registered_limits", e.admin, regLimit(e.imageID, "image_size_total", 1000), 201)
	out := e.expect("POST", "/v3/limits", e.admin, projLimit(e.imageID, e.demoID, "nope", 5), 403)
	if msg := errMessage(out); msg != "Unable to create a limit that has no corresponding registered limit." {
		t.Errorf("no registered limit: %q", msg)
	}
	e.expect("POST", "/v3/limits", e.admin, projLimit(e.imageID, "nosuch", "image_size_total", 5), 400)
	e.expect("POST", "/v3/limits", e.demo, projLimit(e.imageID, e.demoID, "image_size_total", 5), 403)
	out = e.expect("POST", "/v3/limits", e.admin, projLimit(e.imageID, e.demoID, "image_size_total", 5), 201)
	l := out["limits"].([]any)[0].(map[string]any)
	if l["project_id"] != e.demoID || l["domain_id"] != nil || l["resource_name"] != "image_size_total" || l["service_id"] != e.imageID || l["resource_limit"] != 5.0 {
		t.Fatalf("limit view: %v", l)
	}
	id := l["id"].(string)
	e.expect("POST", "/v3/limits", e.admin, projLimit(e.imageID, e.demoID, "image_size_total", 6), 409)
	adminOut := e.expect("POST", "/v3/limits", e.admin, projLimit(e.imageID, e.adminID, "image_size_total", 50), 201)
	adminLimit := adminOut["limits"].([]any)[0].(map[string]any)["id"].(string)

	if n := len(e.expect("GET", "/v3/limits", e.admin, nil, 200)["limits"].([]any)); n != 2 {
		t.Errorf("admin sees %d limits, want 2", n)
	}
	if got := e.expect("GET", "/v3/limits", e.demo, nil, 200)["limits"].([]any); len(got) != 1 || got[0].(map[string]any)["id"] != id {
		t.Errorf("demo sees %v, want its own limit only", got)
	}
	if got := e.expect("GET", "/v3/limits?project_id="+e.adminID, e.demo, nil, 200)["limits"].([]any); len(got) != 0 {
		t.Errorf("demo filtering on another project sees %v", got)
	}
	e.expect("GET", "/v3/limits/"+id, e.demo, nil, 200)
	e.expect("GET", "/v3/limits/"+adminLimit, e.demo, nil, 403)
	out = e.expect("PATCH", "/v3/limits/"+id, e.admin, map[string]any{"limit": map[string]any{"resource_limit": 7}}, 200)
	if out["limit"].(map[string]any)["resource_limit"] != 7.0 {
		t.Fatalf("patched limit: %v", out)
	}
	e.expect("PATCH", "/v3/limits/"+id, e.demo, map[string]any{"limit": map[string]any{"resource_limit": 9}}, 403)
	e.expect("DELETE", "/v3/limits/"+id, e.demo, nil, 403)
	e.expect("DELETE", "/v3/limits/"+id, e.admin, nil, 204)
	e.expect("GET", "/v3/limits/"+id, e.admin, nil, 404)
	model := e.expect("GET", "/v3/limits/model", e.demo, nil, 200)["model"].(map[string]any)
	if model["name"] != "flat" {
		t.Errorf("model: %v", model)
	}
}

// TestLimitResourceNameLength: a resource name Keystone's schema refuses
// (empty, or longer than 255) is 400, never stored nor a database error.
func TestLimitResourceNameLength(t *testing.T) {
	e := newLimitsEnv(t)
	long := strings.Repeat("r", 256)
	e.expect("POST", "/v3/registered_limits", e.admin, regLimit(e.imageID, long, 1), 400)
	e.expect("POST", "/v3/limits", e.admin, projLimit(e.imageID, e.demoID, long, 1), 400)
	out := e.expect("POST", "/v3/registered_limits", e.admin, regLimit(e.imageID, strings.Repeat("r", 255), 1), 201)
	id := out["registered_limits"].([]any)[0].(map[string]any)["id"].(string)
	for _, name := range []string{long, ""} {
		e.expect("PATCH", "/v3/registered_limits/"+id, e.admin, map[string]any{"registered_limit": map[string]any{"resource_name": name}}, 400)
	}
}
