package api_test

import (
	"testing"

	"imagestack/compute/computetest"
)

// TestPauseServer: pause makes an active server PAUSED (its domain
// paused), unpause ACTIVE again; the states Nova refuses get 409.
func TestPauseServer(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithAPI())
	sv := e.Boot(t, e.Member)
	action := func(body string) int {
		t.Helper()
		resp, _ := do(t, e.Server, "POST", "/v2.1/servers/"+sv.ID+"/action", "member", body)
		e.Service.Wait()
		return resp.StatusCode
	}
	status := func() string {
		_, body := do(t, e.Server, "GET", "/v2.1/servers/"+sv.ID, "member", "")
		return body["server"].(map[string]any)["status"].(string)
	}
	if got := action(`{"pause": null}`); got != 202 || status() != "PAUSED" {
		t.Fatalf("pause: %d, status %s", got, status())
	}
	if ps, _ := e.Hypervisor.Domain(sv.ID); ps != 3 {
		t.Fatalf("domain power state %d, want paused (3)", ps)
	}
	for _, body := range []string{`{"pause": null}`, `{"os-stop": null}`} {
		if got := action(body); got != 409 {
			t.Errorf("%s on a paused server: %d, want 409", body, got)
		}
	}
	if got := action(`{"unpause": null}`); got != 202 || status() != "ACTIVE" {
		t.Fatalf("unpause: %d, status %s", got, status())
	}
	if got := action(`{"unpause": null}`); got != 409 {
		t.Fatalf("unpause of an active server: %d, want 409", got)
	}
}
