package api_test

import (
	"imagestack/compute/computetest"
	"strings"
	"testing"
)

// TestFlavorAccessAPI: Nova's os-flavor-access list and the
// addTenantAccess/removeTenantAccess actions, with its statuses.
func TestFlavorAccessAPI(t *testing.T) {
	srv := computetest.NewSetup(t, computetest.WithAPI()).Server
	create := `{"flavor":{"name":"p.flavor","ram":64,"vcpus":1,"disk":1,"id":"pf","os-flavor-access:is_public":false}}`
	if resp, _ := do(t, srv, "POST", "/v2.1/flavors", "admin", create); resp.StatusCode != 200 {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	add := `{"addTenantAccess":{"tenant":"A"}}`
	for _, c := range []struct {
		method, path, token, body string
		status                    int
	}{
		{"GET", "/v2.1/flavors/pf", "member", "", 404},
		{"GET", "/v2.1/flavors/pf/os-flavor-access", "member", "", 403},
		{"POST", "/v2.1/flavors/pf/action", "member", add, 403},
		{"GET", "/v2.1/flavors/42/os-flavor-access", "admin", "", 404},
		{"GET", "/v2.1/flavors/nope/os-flavor-access", "admin", "", 404},
		{"POST", "/v2.1/flavors/nope/action", "admin", add, 404},
		{"POST", "/v2.1/flavors/pf/action", "admin", `{"addTenantAccess":{}}`, 400},
		{"POST", "/v2.1/flavors/pf/action", "admin", `{"addTenantAccess":{"tenant":""}}`, 400},
		{"POST", "/v2.1/flavors/pf/action", "admin", `{"addTenantAccess":"A"}`, 400},
		{"POST", "/v2.1/flavors/pf/action", "admin", `{"frobnicate":{"tenant":"A"}}`, 400},
		{"POST", "/v2.1/flavors/pf/action", "admin", add, 200},
		{"POST", "/v2.1/flavors/pf/action", "admin", add, 409},
		{"GET", "/v2.1/flavors/pf", "member", "", 200},
		{"POST", "/v2.1/flavors/pf/action", "admin", `{"removeTenantAccess":{"tenant":"A"}}`, 200},
		{"POST", "/v2.1/flavors/pf/action", "admin", `{"removeTenantAccess":{"tenant":"A"}}`, 404},
		{"GET", "/v2.1/flavors/pf", "member", "", 404},
	} {
		if resp, body := do(t, srv, c.method, c.path, c.token, c.body); resp.StatusCode != c.status {
			t.Errorf("%s %s %s as %s: %d %v, want %d", c.method, c.path, c.body, c.token, resp.StatusCode, body, c.status)
		}
	}
	do(t, srv, "POST", "/v2.1/flavors/pf/action", "admin", `{"addTenantAccess":{"tenant":"B"}}`)
	_, body := do(t, srv, "POST", "/v2.1/flavors/pf/action", "admin", add)
	if got := mustJSON(body); got != `{"flavor_access":[{"flavor_id":"pf","tenant_id":"A"},{"flavor_id":"pf","tenant_id":"B"}]}` {
		t.Fatalf("add answers the access list: %s", got)
	}
	_, body = do(t, srv, "GET", "/v2.1/flavors/pf/os-flavor-access", "admin", "")
	if got := mustJSON(body); got != `{"flavor_access":[{"flavor_id":"pf","tenant_id":"A"},{"flavor_id":"pf","tenant_id":"B"}]}` {
		t.Fatalf("access list: %s", got)
	}
	// The member now sees the flavor in its list, and may boot it.
	if _, body := do(t, srv, "GET", "/v2.1/flavors", "member", ""); !strings.Contains(mustJSON(body), `"id":"pf"`) {
		t.Fatalf("member's list: %v", body)
	}
	boot := `{"server":{"name":"vm","imageRef":"img","flavorRef":"pf"}}`
	if resp, body := do(t, srv, "POST", "/v2.1/servers", "member", boot); resp.StatusCode != 202 {
		t.Fatalf("boot with access: %d %v", resp.StatusCode, body)
	}
	do(t, srv, "POST", "/v2.1/flavors/pf/action", "admin", `{"removeTenantAccess":{"tenant":"A"}}`)
	resp, body := do(t, srv, "POST", "/v2.1/servers", "member", boot)
	if resp.StatusCode != 400 || body["badRequest"].(map[string]any)["message"] != "Flavor pf could not be found." {
		t.Fatalf("boot without access: %d %v", resp.StatusCode, body)
	}
}
