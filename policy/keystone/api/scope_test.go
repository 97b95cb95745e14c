package api_test

import "testing"

// TestAuthScopeForms: the scope of an auth request is absent, null, the
// string "unscoped" or an object; anything else is a 400 with Keystone's
// message.
func TestAuthScopeForms(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		name    string
		scope   any
		status  int
		message string
	}{
		{"null", nil, 201, ""},
		{"unscoped", "unscoped", 201, ""},
		{"other string", "everything", 400, "Invalid scope: everything"},
		{"number", 7, 400, "Invalid scope in auth request."},
		{"array", []string{"unscoped"}, 400, "Invalid scope in auth request."},
		{"wrong field type", map[string]any{"project": map[string]any{"id": 7}}, 400, "Invalid scope in auth request."},
		{"system", map[string]any{"system": map[string]any{"all": true}}, 400, "System scope is not supported by this identity service."},
		{"project without id or name", map[string]any{"project": map[string]any{"domain": map[string]any{"id": "default"}}}, 400, "Expecting to find id or name in project."},
		{"project by name", map[string]any{"project": map[string]any{"name": "admin", "domain": map[string]any{"name": "Default"}}}, 201, ""},
		{"domain", map[string]any{"domain": map[string]any{"name": "Default"}}, 401, ""},
		{"empty object", map[string]any{}, 201, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			auth := passwordAuth("admin", "adminpw", "")
			auth["auth"].(map[string]any)["scope"] = c.scope
			resp, body := e.do("POST", "/v3/auth/tokens", "", auth)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, c.status, body)
			}
			if c.message != "" && body["error"].(map[string]any)["message"] != c.message {
				t.Fatalf("message %v, want %q", body["error"], c.message)
			}
		})
	}
}
