package api_test

import (
	"testing"
	"time"

	"imagestack/compute/computetest"
)

// TestInstanceActions: create and each accepted action are listed newest
// first with the request that asked for them, the caller and the time, as
// Nova's os-instance-actions at 2.1; a refused action is not listed, and an
// unknown server is a 404.
func TestInstanceActions(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithAPI())
	before := time.Now().UTC().Add(-time.Second)
	resp, body := do(t, e.Server, "POST", "/v2.1/servers", "member", `{"server": {"name": "vm", "imageRef": "img", "flavorRef": "42"}}`)
	if resp.StatusCode != 202 {
		t.Fatalf("create: %d %v", resp.StatusCode, body)
	}
	id, createReq := body["server"].(map[string]any)["id"].(string), resp.Header.Get("X-Openstack-Request-Id")
	e.Service.Wait()
	resp, _ = do(t, e.Server, "POST", "/v2.1/servers/"+id+"/action", "member", `{"os-stop": null}`)
	stopReq := resp.Header.Get("X-Openstack-Request-Id")
	e.Service.Wait()
	if resp, _ := do(t, e.Server, "POST", "/v2.1/servers/"+id+"/action", "member", `{"os-stop": null}`); resp.StatusCode != 409 {
		t.Fatalf("stopping a stopped server: %d", resp.StatusCode)
	}
	resp, body = do(t, e.Server, "GET", "/v2.1/servers/"+id+"/os-instance-actions", "member", "")
	actions, _ := body["instanceActions"].([]any)
	if resp.StatusCode != 200 || len(actions) != 2 {
		t.Fatalf("actions: %d %v", resp.StatusCode, body)
	}
	for i, want := range []struct{ action, req string }{{"stop", stopReq}, {"create", createReq}} {
		a := actions[i].(map[string]any)
		start, err := time.Parse("2006-01-02T15:04:05.000000", a["start_time"].(string))
		if a["action"] != want.action || a["request_id"] != want.req || a["instance_uuid"] != id || a["message"] != nil ||
			a["user_id"] != computetest.MemberCreds.UserID || a["project_id"] != computetest.MemberCreds.ProjectID ||
			err != nil || start.Before(before) || len(a) != 7 {
			t.Errorf("action %d: %v, want %s of request %s", i, a, want.action, want.req)
		}
	}
	if resp, _ := do(t, e.Server, "GET", "/v2.1/servers/"+id+"/os-instance-actions", "admin", ""); resp.StatusCode != 200 {
		t.Errorf("an admin lists another project's server actions: %d", resp.StatusCode)
	}
	if resp, _ := do(t, e.Server, "GET", "/v2.1/servers/00000000-0000-0000-0000-000000000000/os-instance-actions", "member", ""); resp.StatusCode != 404 {
		t.Errorf("actions of no server: %d", resp.StatusCode)
	}
}
