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

// TestTenantUsagePages: from 2.40 a usage report counts a page of servers
// (limit, marker, a next link when full), as Horizon reads it: it asks again
// after the last server it got until a page has none.
func TestTenantUsagePages(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithAPI())
	a, b := e.Boot(t, e.Member), e.Boot(t, e.Member)
	first, last := a.ID, b.ID
	if last < first {
		first, last = last, first
	}
	mv := []string{"X-OpenStack-Nova-API-Version", "2.40"}
	path := "/v2.1/os-simple-tenant-usage/" + computetest.MemberCreds.ProjectID + "?start=2020-01-01T00:00:00&end=2099-01-01T00:00:00"
	servers := func(body map[string]any) []any {
		s, _ := body["tenant_usage"].(map[string]any)["server_usages"].([]any)
		return s
	}
	_, body := do(t, e.Server, "GET", path+"&limit=1", "member", "", mv...)
	links, _ := body["tenant_usage_links"].([]any)
	if s := servers(body); len(s) != 1 || s[0].(map[string]any)["instance_id"] != first || len(links) != 1 {
		t.Fatalf("first page of one: %v", body)
	}
	_, body = do(t, e.Server, "GET", path+"&marker="+first, "member", "", mv...)
	if s := servers(body); len(s) != 1 || s[0].(map[string]any)["instance_id"] != last || body["tenant_usage_links"] != nil {
		t.Fatalf("the page after the first server: %v", body)
	}
	if _, body = do(t, e.Server, "GET", path+"&marker="+last, "member", "", mv...); len(servers(body)) != 0 {
		t.Fatalf("the page after the last server: %v", body)
	}
	if resp, body := do(t, e.Server, "GET", path+"&marker=nosuch", "member", "", mv...); resp.StatusCode != 400 {
		t.Fatalf("an unknown marker: %d %v", resp.StatusCode, body)
	}
	// Before 2.40 the marker is no parameter: every server counts.
	if _, body = do(t, e.Server, "GET", path+"&marker="+last, "member", "", "X-OpenStack-Nova-API-Version", "2.39"); len(servers(body)) != 2 {
		t.Fatalf("2.39 with a marker: %v", body)
	}
	_, body = do(t, e.Server, "GET", "/v2.1/os-simple-tenant-usage?detailed=1&marker="+last, "admin", "", mv...)
	if us, _ := body["tenant_usages"].([]any); len(us) != 0 {
		t.Fatalf("all projects after the last server: %v", body)
	}
}
