package api_test

import (
	"strings"
	"testing"

	"imagestack/compute"
	"imagestack/compute/computetest"
)

const (
	v215 = "compute 2.15"
	v264 = "compute 2.64"
)

// TestServerGroupsCRUD: create with "policies" before 2.64 and "policy"
// and "rules" from it; the view follows the microversion; list, show,
// delete; others' groups are 404; an admin lists all with all_projects.
func TestServerGroupsCRUD(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithAPI())
	resp, body := do(t, e.Server, "POST", "/v2.1/os-server-groups", "member", `{"server_group": {"name": "g1", "policies": ["anti-affinity"]}}`)
	g1, _ := body["server_group"].(map[string]any)
	if resp.StatusCode != 200 || g1["name"] != "g1" || mustJSON(g1["policies"]) != `["anti-affinity"]` || mustJSON(g1["metadata"]) != `{}` {
		t.Fatalf("create at 2.1: %d %v", resp.StatusCode, body)
	}
	if _, has := g1["project_id"]; has {
		t.Fatalf("project_id before 2.13: %v", g1)
	}
	// soft policies only from 2.15
	if resp, _ := do(t, e.Server, "POST", "/v2.1/os-server-groups", "member", `{"server_group": {"name": "s", "policies": ["soft-affinity"]}}`); resp.StatusCode != 400 {
		t.Fatalf("soft-affinity at 2.1: %d", resp.StatusCode)
	}
	resp, body = do(t, e.Server, "POST", "/v2.1/os-server-groups", "member", `{"server_group": {"name": "s", "policies": ["soft-affinity"]}}`, "OpenStack-API-Version", v215)
	if resp.StatusCode != 200 || body["server_group"].(map[string]any)["project_id"] != "A" {
		t.Fatalf("soft-affinity at 2.15: %d %v", resp.StatusCode, body)
	}
	resp, body = do(t, e.Server, "POST", "/v2.1/os-server-groups", "member",
		`{"server_group": {"name": "g2", "policy": "anti-affinity", "rules": {"max_server_per_host": 2}}}`, "OpenStack-API-Version", v264)
	g2, _ := body["server_group"].(map[string]any)
	if resp.StatusCode != 200 || g2["policy"] != "anti-affinity" || mustJSON(g2["rules"]) != `{"max_server_per_host":2}` || g2["policies"] != nil {
		t.Fatalf("create at 2.64: %d %v", resp.StatusCode, body)
	}
	for _, bad := range []string{
		`{"server_group": {"name": "x", "policy": "affinity", "rules": {"max_server_per_host": 2}}}`,
		`{"server_group": {"name": "x", "policies": ["affinity"]}}`,
		`{"server_group": {"name": "x", "policy": "anti-affinity", "rules": {"max_server_per_host": 0}}}`,
		`{"server_group": {"policy": "affinity"}}`,
	} {
		if resp, body := do(t, e.Server, "POST", "/v2.1/os-server-groups", "member", bad, "OpenStack-API-Version", v264); resp.StatusCode != 400 {
			t.Fatalf("%s: %d %v", bad, resp.StatusCode, body)
		}
	}
	_, body = do(t, e.Server, "GET", "/v2.1/os-server-groups?limit=2&offset=1", "member", "", "OpenStack-API-Version", v264)
	if list := body["server_groups"].([]any); len(list) != 2 || list[1].(map[string]any)["id"] != g2["id"] {
		t.Fatalf("list page: %v", body)
	}
	id := g1["id"].(string)
	if resp, _ := do(t, e.Server, "GET", "/v2.1/os-server-groups/"+id, "admin", ""); resp.StatusCode != 200 {
		t.Fatalf("admin show: %d", resp.StatusCode)
	}
	_, body = do(t, e.Server, "GET", "/v2.1/os-server-groups", "admin", "")
	if list := body["server_groups"].([]any); len(list) != 0 {
		t.Fatalf("admin's own project's groups: %v", body)
	}
	_, body = do(t, e.Server, "GET", "/v2.1/os-server-groups?all_projects=True", "admin", "")
	if list := body["server_groups"].([]any); len(list) != 3 {
		t.Fatalf("all projects' groups: %v", body)
	}
	if resp, _ := do(t, e.Server, "DELETE", "/v2.1/os-server-groups/"+id, "member", ""); resp.StatusCode != 204 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	resp, body = do(t, e.Server, "GET", "/v2.1/os-server-groups/"+id, "member", "")
	if resp.StatusCode != 404 || body["itemNotFound"].(map[string]any)["message"] != "Instance group "+id+" could not be found." {
		t.Fatalf("show deleted: %d %v", resp.StatusCode, body)
	}
}

// TestServerGroupQuota: the 11th group of a project is 403 with Nova's words.
func TestServerGroupQuota(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithAPI())
	for i := range 11 {
		resp, body := do(t, e.Server, "POST", "/v2.1/os-server-groups", "member", `{"server_group": {"name": "g", "policies": ["affinity"]}}`)
		if i < 10 && resp.StatusCode != 200 {
			t.Fatalf("group %d: %d %v", i, resp.StatusCode, body)
		}
		if i == 10 && (resp.StatusCode != 403 || body["forbidden"].(map[string]any)["message"] != "Quota exceeded, too many server groups.") {
			t.Fatalf("group beyond quota: %d %v", resp.StatusCode, body)
		}
	}
}

// TestAntiAffinityNoValidHost: on this one host, the second member of an
// anti-affinity group has no valid host: ERROR with Nova's fault, never
// spawned; the first shows its group at 2.71; deleting it frees the host.
func TestAntiAffinityNoValidHost(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithAPI())
	_, body := do(t, e.Server, "POST", "/v2.1/os-server-groups", "member", `{"server_group": {"name": "g", "policies": ["anti-affinity"]}}`)
	gid := body["server_group"].(map[string]any)["id"].(string)
	create := func() string {
		t.Helper()
		resp, body := do(t, e.Server, "POST", "/v2.1/servers", "member",
			`{"server": {"name": "vm", "imageRef": "img", "flavorRef": "42"}, "os:scheduler_hints": {"group": "`+gid+`"}}`)
		if resp.StatusCode != 202 {
			t.Fatalf("create in group: %d %v", resp.StatusCode, body)
		}
		e.Service.Wait()
		return body["server"].(map[string]any)["id"].(string)
	}
	first, second := create(), create()
	if sv := e.Get(t, first); sv.VMState != compute.VMActive {
		t.Fatalf("first member: %+v", sv)
	}
	_, body = do(t, e.Server, "GET", "/v2.1/servers/"+second, "member", "")
	s := body["server"].(map[string]any)
	fault, _ := s["fault"].(map[string]any)
	if s["status"] != "ERROR" || fault["code"] != 500.0 || fault["message"] != "No valid host was found. There are not enough hosts available." {
		t.Fatalf("second member: %v", s)
	}
	if _, spawned := e.Hypervisor.Domain(second); spawned {
		t.Fatal("the server without a host was spawned")
	}
	_, body = do(t, e.Server, "GET", "/v2.1/servers/"+first, "member", "", "OpenStack-API-Version", "compute 2.71")
	if got := mustJSON(body["server"].(map[string]any)["server_groups"]); got != `["`+gid+`"]` {
		t.Fatalf("server_groups at 2.71: %s", got)
	}
	_, body = do(t, e.Server, "GET", "/v2.1/servers/"+first, "member", "", "OpenStack-API-Version", "compute 2.70")
	if _, has := body["server"].(map[string]any)["server_groups"]; has {
		t.Fatal("server_groups before 2.71")
	}
	_, body = do(t, e.Server, "GET", "/v2.1/os-server-groups/"+gid, "member", "")
	if members := mustJSON(body["server_group"].(map[string]any)["members"]); !strings.Contains(members, first) || !strings.Contains(members, second) {
		t.Fatalf("members: %s", members)
	}
	do(t, e.Server, "DELETE", "/v2.1/servers/"+first, "member", "")
	e.Service.Wait()
	_, body = do(t, e.Server, "GET", "/v2.1/os-server-groups/"+gid, "member", "")
	if members := mustJSON(body["server_group"].(map[string]any)["members"]); strings.Contains(members, first) {
		t.Fatalf("a deleted server stays a member: %s", members)
	}
	if third := create(); e.Get(t, third).VMState != compute.VMActive {
		t.Fatalf("a member after the other left: %+v", e.Get(t, third))
	}
}

// TestGroupHints: an unknown group is 400; a group full of members is 403
// with Nova's words.
func TestGroupHints(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithAPI())
	resp, body := do(t, e.Server, "POST", "/v2.1/servers", "member",
		`{"server": {"name": "vm", "imageRef": "img", "flavorRef": "42"}, "os:scheduler_hints": {"group": "3b6c8a52-7a1f-4a5e-9c1c-0f1f0f1f0f1f"}}`)
	if resp.StatusCode != 400 {
		t.Fatalf("unknown group: %d %v", resp.StatusCode, body)
	}
	_, body = do(t, e.Server, "POST", "/v2.1/os-server-groups", "member", `{"server_group": {"name": "g", "policies": ["affinity"]}}`)
	gid := body["server_group"].(map[string]any)["id"].(string)
	do(t, e.Server, "PUT", "/v2.1/os-quota-sets/A", "admin", `{"quota_set": {"server_group_members": 1}}`)
	hinted := `{"server": {"name": "vm", "imageRef": "img", "flavorRef": "42"}, "os:scheduler_hints": {"group": "` + gid + `"}}`
	if resp, body := do(t, e.Server, "POST", "/v2.1/servers", "member", hinted); resp.StatusCode != 202 {
		t.Fatalf("first member: %d %v", resp.StatusCode, body)
	}
	e.Service.Wait()
	resp, body = do(t, e.Server, "POST", "/v2.1/servers", "member", hinted)
	if resp.StatusCode != 403 || body["forbidden"].(map[string]any)["message"] != "Quota exceeded, too many servers in group" {
		t.Fatalf("member beyond quota: %d %v", resp.StatusCode, body)
	}
}
