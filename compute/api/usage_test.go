package api_test

import (
	"testing"

	"imagestack/compute/computetest"
)

// TestTenantUsages: GET /os-simple-tenant-usage is for admins and lists the
// projects with servers in the period, each server's share only when
// detailed, as Nova's index (Horizon's admin overview).
func TestTenantUsages(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithAPI())
	sv := e.Boot(t, e.Member)
	if resp, _ := do(t, e.Server, "GET", "/v2.1/os-simple-tenant-usage", "member", ""); resp.StatusCode != 403 {
		t.Fatalf("all projects' usage as a member: %d", resp.StatusCode)
	}
	resp, body := do(t, e.Server, "GET", "/v2.1/os-simple-tenant-usage?start=2020-01-01T00:00:00&end=2099-01-01T00:00:00", "admin", "")
	us, _ := body["tenant_usages"].([]any)
	if resp.StatusCode != 200 || len(us) != 1 {
		t.Fatalf("usages: %d %v", resp.StatusCode, body)
	}
	u := us[0].(map[string]any)
	if _, has := u["server_usages"]; has || u["tenant_id"] != computetest.MemberCreds.ProjectID || u["total_hours"].(float64) <= 0 {
		t.Fatalf("usage without detail: %v", u)
	}
	_, body = do(t, e.Server, "GET", "/v2.1/os-simple-tenant-usage?detailed=1", "admin", "")
	servers, _ := body["tenant_usages"].([]any)[0].(map[string]any)["server_usages"].([]any)
	if len(servers) != 1 || servers[0].(map[string]any)["instance_id"] != sv.ID {
		t.Fatalf("detailed usage: %v", body)
	}
	_, body = do(t, e.Server, "GET", "/v2.1/os-simple-tenant-usage?start=2020-01-01T00:00:00&end=2020-01-02T00:00:00", "admin", "")
	if us, _ := body["tenant_usages"].([]any); us == nil || len(us) != 0 {
		t.Fatalf("usages of a period without servers: %v", body)
	}
}
