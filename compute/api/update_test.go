package api_test

import (
	"strings"
	"testing"

	"imagestack/compute/computetest"
)

// TestUpdateServer: PUT /servers/{id} renames and sets access addresses,
// refuses what Nova's schema refuses (400) and hides others' servers (404).
func TestUpdateServer(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithAPI())
	sv := e.Boot(t, e.Member)
	path := "/v2.1/servers/" + sv.ID
	resp, body := do(t, e.Server, "PUT", path, "member", `{"server": {"name": "renamed", "accessIPv4": "192.0.2.9"}}`)
	got, _ := body["server"].(map[string]any)
	if resp.StatusCode != 200 || got["name"] != "renamed" || got["accessIPv4"] != "192.0.2.9" || got["accessIPv6"] != "" {
		t.Fatalf("update: %d %v", resp.StatusCode, body)
	}
	if after := e.Get(t, sv.ID); after.Name != "renamed" || after.AccessIPv4 != "192.0.2.9" {
		t.Fatalf("stored: %+v", after)
	}
	for name, c := range map[string]string{
		"unknown field": `{"server": {"name": "x", "flavorRef": "1"}}`,
		"empty name":    `{"server": {"name": ""}}`,
		"bad address":   `{"server": {"accessIPv6": "10.0.0.1"}}`,
		"no server":     `{"name": "x"}`,
	} {
		if resp, body := do(t, e.Server, "PUT", path, "member", c); resp.StatusCode != 400 || !strings.Contains(toText(body), "badRequest") {
			t.Errorf("%s: %d %v, want 400", name, resp.StatusCode, body)
		}
	}
	// Horizon's Edit Instance sends "description": null from 2.19.
	resp, body = do(t, e.Server, "PUT", path, "member", `{"server": {"name": "edited", "description": null}}`, "X-OpenStack-Nova-API-Version", "2.60")
	if got, _ := body["server"].(map[string]any); resp.StatusCode != 200 || got["name"] != "edited" {
		t.Fatalf("update with a null description at 2.60: %d %v", resp.StatusCode, body)
	}
	if resp, _ := do(t, e.Server, "PUT", path, "member", `{"server": {"description": null}}`, "X-OpenStack-Nova-API-Version", "2.18"); resp.StatusCode != 400 {
		t.Fatalf("a description before 2.19: %d, want 400", resp.StatusCode)
	}
	if resp, _ := do(t, e.Server, "PUT", "/v2.1/servers/00000000-0000-0000-0000-000000000000", "member", `{"server": {"name": "x"}}`); resp.StatusCode != 404 {
		t.Fatalf("unknown server: %d", resp.StatusCode)
	}
}

func toText(m map[string]any) string {
	var b strings.Builder
	for k := range m {
		b.WriteString(k + " ")
	}
	return b.String()
}
