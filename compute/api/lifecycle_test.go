package api_test

import (
	"context"
	"testing"
	"time"

	"imagestack/compute"
	"imagestack/compute/computetest"
)

// lifecycleAPI is a server API with a booted member's server; act posts
// an action and waits for its background work, answering the status and
// the fault message.
func lifecycleAPI(t *testing.T, opts ...computetest.Option) (e *computetest.Setup, id string, act func(tok, body string, hdr ...string) (int, string), status func() string) {
	e = computetest.NewSetup(t, append(opts, computetest.WithAPI())...)
	id = e.Boot(t, e.Member).ID
	act = func(tok, body string, hdr ...string) (int, string) {
		t.Helper()
		resp, m := do(t, e.Server, "POST", "/v2.1/servers/"+id+"/action", tok, body, hdr...)
		e.Service.Wait()
		msg := ""
		for _, f := range m {
			if fault, ok := f.(map[string]any); ok {
				msg, _ = fault["message"].(string)
			}
		}
		return resp.StatusCode, msg
	}
	status = func() string {
		_, body := do(t, e.Server, "GET", "/v2.1/servers/"+id, "member", "")
		return body["server"].(map[string]any)["status"].(string)
	}
	return e, id, act, status
}

// TestSuspendResumeAPI: suspend 202 -> SUSPENDED, resume 202 -> ACTIVE,
// the states Nova refuses 409 with its message.
func TestSuspendResumeAPI(t *testing.T) {
	_, id, act, status := lifecycleAPI(t)
	if code, _ := act("member", `{"suspend": null}`); code != 202 || status() != "SUSPENDED" {
		t.Fatalf("suspend: %d, status %s", code, status())
	}
	if code, msg := act("member", `{"suspend": null}`); code != 409 || msg != "Cannot 'suspend' instance "+id+" while it is in vm_state suspended" {
		t.Fatalf("second suspend: %d %q", code, msg)
	}
	if code, _ := act("member", `{"resume": null}`); code != 202 || status() != "ACTIVE" {
		t.Fatalf("resume: %d, status %s", code, status())
	}
}

// TestResizeAPI: resize 202 -> VERIFY_RESIZE with the new flavor shown;
// confirmResize 204 -> ACTIVE; Nova's 400s for bad bodies and flavors.
func TestResizeAPI(t *testing.T) {
	e, id, act, status := lifecycleAPI(t)
	f := compute.Flavor{ID: "r2", Name: "r2", RAM: 256, VCPUs: 2, Disk: 2, RxTxFactor: 1, IsPublic: true}
	if _, err := e.Service.CreateFlavor(context.Background(), e.Admin, f); err != nil {
		t.Fatal(err)
	}
	for body, want := range map[string]string{
		`{"resize": {}}`:                                            `Invalid input for field/attribute resize. Value: {}. 'flavorRef' is a required property`,
		`{"resize": {"flavorRef": "42"}}`:                           "When resizing, instances must change flavor!",
		`{"resize": {"flavorRef": "zzz"}}`:                          "Flavor zzz could not be found.",
		`{"resize": {"flavorRef": "r2", "OS-DCF:diskConfig": "x"}}`: "Invalid input for field/attribute OS-DCF:diskConfig. Value: x. 'x' is not one of ['AUTO', 'MANUAL']",
	} {
		if code, msg := act("member", body); code != 400 || msg != want {
			t.Errorf("%s: %d %q, want 400 %q", body, code, msg, want)
		}
	}
	if code, msg := act("member", `{"confirmResize": null}`); code != 409 || msg != "Cannot 'confirmResize' instance "+id+" while it is in vm_state active" {
		t.Fatalf("confirm of an active server: %d %q", code, msg)
	}
	if code, _ := act("member", `{"resize": {"flavorRef": "r2", "OS-DCF:diskConfig": "AUTO"}}`); code != 202 || status() != "VERIFY_RESIZE" {
		t.Fatalf("resize: %d, status %s", code, status())
	}
	_, body := do(t, e.Server, "GET", "/v2.1/servers/"+id, "member", "")
	if fl := body["server"].(map[string]any)["flavor"].(map[string]any); fl["id"] != "r2" {
		t.Fatalf("flavor after resize: %v", fl)
	}
	_, body = do(t, e.Server, "GET", "/v2.1/servers/"+id, "member", "", "OpenStack-API-Version", "compute 2.47")
	if fl := body["server"].(map[string]any)["flavor"].(map[string]any); fl["original_name"] != "r2" || fl["vcpus"] != 2.0 {
		t.Fatalf("flavor copy (2.47) after resize: %v", fl)
	}
	if code, _ := act("member", `{"revertResize": null}`); code != 202 || status() != "ACTIVE" {
		t.Fatalf("revert: %d, status %s", code, status())
	}
	_, body = do(t, e.Server, "GET", "/v2.1/servers/"+id, "member", "", "OpenStack-API-Version", "compute 2.47")
	if fl := body["server"].(map[string]any)["flavor"].(map[string]any); fl["original_name"] != "m1.nano" || fl["vcpus"] != 1.0 {
		t.Fatalf("flavor copy (2.47) after revert: %v", fl)
	}
	act("member", `{"resize": {"flavorRef": 2}}`)
	if code, _ := act("member", `{"confirmResize": null}`); code != 204 || status() != "ACTIVE" {
		t.Fatalf("confirm: %d, status %s", code, status())
	}
}

// TestResetStateAPI: admins reset (202), members get 403, other states 400.
func TestResetStateAPI(t *testing.T) {
	_, _, act, status := lifecycleAPI(t)
	if code, _ := act("member", `{"os-resetState": {"state": "error"}}`); code != 403 {
		t.Fatalf("member reset: %d, want 403", code)
	}
	if code, msg := act("admin", `{"os-resetState": {"state": "paused"}}`); code != 400 || msg != "Invalid input for field/attribute state. Value: paused. 'paused' is not one of ['active', 'error']" {
		t.Fatalf("reset to paused: %d %q", code, msg)
	}
	if code, _ := act("admin", `{"os-resetState": {"state": "error"}}`); code != 202 || status() != "ERROR" {
		t.Fatalf("reset to error: %d, status %s", code, status())
	}
}

// TestTriggerCrashDumpAPI: 202 from microversion 2.17, a bare 404 below.
func TestTriggerCrashDumpAPI(t *testing.T) {
	e, id, act, _ := lifecycleAPI(t)
	if code, _ := act("member", `{"trigger_crash_dump": null}`, "OpenStack-API-Version", "compute 2.16"); code != 404 {
		t.Fatalf("at 2.16: %d, want 404", code)
	}
	if code, _ := act("member", `{"trigger_crash_dump": null}`, "OpenStack-API-Version", "compute 2.17"); code != 202 || e.Hypervisor.NMIs(id) != 1 {
		t.Fatalf("at 2.17: %d, %d NMIs", code, e.Hypervisor.NMIs(id))
	}
}

// TestSoftDeleteAPI: with reclaim_instance_interval, DELETE makes the
// server SOFT_DELETED; restore 202 -> ACTIVE; restore again 409;
// forceDelete 202 -> gone.
func TestSoftDeleteAPI(t *testing.T) {
	e, id, act, status := lifecycleAPI(t, computetest.WithReclaimInterval(time.Hour))
	if resp, _ := do(t, e.Server, "DELETE", "/v2.1/servers/"+id, "member", ""); resp.StatusCode != 204 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	e.Service.Wait()
	if status() != "SOFT_DELETED" {
		t.Fatalf("after delete: %s", status())
	}
	if code, _ := act("member", `{"restore": null}`); code != 202 || status() != "ACTIVE" {
		t.Fatalf("restore: %d, status %s", code, status())
	}
	if code, msg := act("member", `{"restore": null}`); code != 409 || msg != "Cannot 'restore' instance "+id+" while it is in vm_state active" {
		t.Fatalf("restore of an active server: %d %q", code, msg)
	}
	if code, _ := act("member", `{"forceDelete": null}`); code != 202 {
		t.Fatalf("forceDelete: %d", code)
	}
	if resp, _ := do(t, e.Server, "GET", "/v2.1/servers/"+id, "member", ""); resp.StatusCode != 404 {
		t.Fatalf("after forceDelete: %d", resp.StatusCode)
	}
}
