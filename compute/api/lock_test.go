package api_test

import (
	"testing"

	"imagestack/compute/computetest"
)

// TestLockServer: a locked server refuses its project's actions and delete
// (409) but not an admin's; the owner unlocks it; a lock an admin set
// needs an admin to lift.
func TestLockServer(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithAPI())
	sv := e.Boot(t, e.Member)
	action := func(tok, body string) int {
		t.Helper()
		resp, _ := do(t, e.Server, "POST", "/v2.1/servers/"+sv.ID+"/action", tok, body)
		e.Service.Wait()
		return resp.StatusCode
	}
	if got := action("member", `{"lock": null}`); got != 202 {
		t.Fatalf("lock: %d", got)
	}
	if got := action("member", `{"os-stop": null}`); got != 409 {
		t.Fatalf("stop of a locked server by its member: %d, want 409", got)
	}
	if resp, _ := do(t, e.Server, "DELETE", "/v2.1/servers/"+sv.ID, "member", ""); resp.StatusCode != 409 {
		t.Fatalf("delete of a locked server: %d, want 409", resp.StatusCode)
	}
	if got := action("admin", `{"os-stop": null}`); got != 202 {
		t.Fatalf("stop by an admin: %d, want 202", got)
	}
	if got := action("member", `{"unlock": null}`); got != 202 {
		t.Fatalf("unlock by the owner: %d", got)
	}
	if got := action("member", `{"os-start": null}`); got != 202 {
		t.Fatalf("start after unlock: %d", got)
	}
	if got := action("admin", `{"lock": null}`); got != 202 {
		t.Fatalf("lock by an admin: %d", got)
	}
	if got := action("member", `{"unlock": null}`); got != 403 {
		t.Fatalf("owner unlocking an admin's lock: %d, want 403", got)
	}
	if got := action("admin", `{"unlock": null}`); got != 202 {
		t.Fatalf("admin unlock: %d", got)
	}
	if got := action("member", `{"lock": {"locked_reason": "x"}}`); got != 400 {
		t.Fatalf("lock reason at 2.2: %d, want 400", got)
	}
}
