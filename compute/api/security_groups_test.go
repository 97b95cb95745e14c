package api_test

import (
	"strings"
	"testing"

	"imagestack/compute/computetest"
)

// TestCreateSecurityGroups: a create request's security_groups (names or
// ids, as Horizon sends them) are the groups of the server's ports and of
// its view; an unknown group or a malformed list is a 400, as in Nova.
func TestCreateSecurityGroups(t *testing.T) {
	nets := computetest.NewNetworks()
	nets.Add("11111111-1111-1111-1111-111111111111", "private", "10.0.0")
	nets.AddSecurityGroup("22222222-2222-2222-2222-222222222222", "web")
	e := computetest.NewSetup(t, computetest.WithAPI(), computetest.WithNetworks(nets), computetest.WithConfigDrives(false))
	for body, msg := range map[string]string{
		`"security_groups": [{"name": "nope"}]`: "Security group nope not found.",
		`"security_groups": "web"`:              "It is not an array of security groups.",
		`"security_groups": [{}]`:               "A security group needs a name",
	} {
		resp, b := do(t, e.Server, "POST", "/v2.1/servers", "member", `{"server": {"name": "vm", "imageRef": "img", "flavorRef": "42", `+body+`}}`)
		if got, _ := b["badRequest"].(map[string]any)["message"].(string); resp.StatusCode != 400 || !strings.Contains(got, msg) {
			t.Errorf("%s: %d %v, want 400 saying %q", body, resp.StatusCode, b, msg)
		}
	}
	resp, body := do(t, e.Server, "POST", "/v2.1/servers", "member", `{"server": {"name": "vm", "imageRef": "img", "flavorRef": "42",
		"security_groups": [{"name": "22222222-2222-2222-2222-222222222222"}, {"name": "default"}]}}`)
	created, _ := body["server"].(map[string]any)
	if resp.StatusCode != 202 || mustJSON(created["security_groups"]) != `[{"name":"22222222-2222-2222-2222-222222222222"},{"name":"default"}]` {
		t.Fatalf("create: %d %v", resp.StatusCode, body)
	}
	id := created["id"].(string)
	e.Service.Wait()
	if got := nets.Allocated(id); len(got) != 1 || mustJSON(got[0].SecurityGroups) != `["web","default"]` {
		t.Fatalf("the port's groups: %+v", got)
	}
	_, body = do(t, e.Server, "GET", "/v2.1/servers/"+id, "member", "")
	if got := mustJSON(body["server"].(map[string]any)["security_groups"]); got != `[{"name":"web"},{"name":"default"}]` {
		t.Fatalf("server view security_groups %s", got)
	}
	resp, body = do(t, e.Server, "POST", "/v2.1/servers", "member", `{"server": {"name": "vm2", "imageRef": "img", "flavorRef": "42"}}`)
	e.Service.Wait()
	_, body = do(t, e.Server, "GET", "/v2.1/servers/"+body["server"].(map[string]any)["id"].(string), "member", "")
	if got := mustJSON(body["server"].(map[string]any)["security_groups"]); resp.StatusCode != 202 || got != `[{"name":"default"}]` {
		t.Fatalf("without security_groups: %d %s", resp.StatusCode, got)
	}
}
