package api_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"imagestack/compute/api"
	"imagestack/compute/computetest"
	"imagestack/compute/console"
	"imagestack/policy/keystone/keystonetest"
)

// TestVNCConsoleAction: os-getVNCConsole's answers, with Nova's statuses
// and messages: the URL for a running server; 400 for a type other than
// novnc (xvpvnc included) or a malformed body; 404 for a server the caller
// cannot see; 409 for a stopped one.
func TestVNCConsoleAction(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithAPI(), computetest.WithConsoles(console.Config{}))
	sv := e.Boot(t, e.Member)
	action := "/v2.1/servers/" + sv.ID + "/action"
	resp, body := do(t, e.Server, "POST", action, "member", `{"os-getVNCConsole": {"type": "novnc"}}`)
	if resp.StatusCode != 200 {
		t.Fatalf("os-getVNCConsole: %d %v", resp.StatusCode, body)
	}
	c := body["console"].(map[string]any)
	if c["type"] != "novnc" || !strings.HasPrefix(c["url"].(string), e.ConsoleServer.URL+"/vnc_lite.html?path=%3Ftoken%3D") {
		t.Fatalf("console: %v", c)
	}
	for _, bad := range []struct{ body, msg string }{
		{`{"os-getVNCConsole": {"type": "xvpvnc"}}`, "Invalid console type xvpvnc"},
		{`{"os-getVNCConsole": {"type": "spice-html5"}}`, "is not one of ['novnc', 'xvpvnc']"},
		{`{"os-getVNCConsole": {}}`, "'type' is a required property"},
		{`{"os-getVNCConsole": {"type": "novnc", "x": 1}}`, "Additional properties are not allowed"},
		{`{"os-getVNCConsole": null}`, "It must be an object"},
	} {
		resp, body := do(t, e.Server, "POST", action, "member", bad.body)
		if resp.StatusCode != 400 || !strings.Contains(mustJSON(body), bad.msg) {
			t.Errorf("%s: %d %v, want 400 %q", bad.body, resp.StatusCode, body, bad.msg)
		}
	}
	if resp, body := do(t, e.Server, "POST", "/v2.1/servers/nope/action", "member", `{"os-getVNCConsole": {"type": "novnc"}}`); resp.StatusCode != 404 {
		t.Fatalf("unknown server: %d %v", resp.StatusCode, body)
	}
	other := e.Boot(t, e.Admin)
	if resp, body := do(t, e.Server, "POST", "/v2.1/servers/"+other.ID+"/action", "member", `{"os-getVNCConsole": {"type": "novnc"}}`); resp.StatusCode != 404 {
		t.Fatalf("another project's server: %d %v", resp.StatusCode, body)
	}
	if err := e.Service.Stop(context.Background(), e.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	resp, body = do(t, e.Server, "POST", action, "member", `{"os-getVNCConsole": {"type": "novnc"}}`)
	if resp.StatusCode != 409 || !strings.Contains(mustJSON(body), "Instance "+sv.ID+" is not ready") {
		t.Fatalf("stopped server: %d %v", resp.StatusCode, body)
	}
}

// TestVNCConsolePolicy: os_compute_api:os-remote-consoles decides who may
// open a console.
func TestVNCConsolePolicy(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithAPI(), computetest.WithConsoles(console.Config{}),
		computetest.WithPolicy(`"os_compute_api:os-remote-consoles": "role:admin"`))
	sv := e.Boot(t, e.Member)
	resp, body := do(t, e.Server, "POST", "/v2.1/servers/"+sv.ID+"/action", "member", `{"os-getVNCConsole": {"type": "novnc"}}`)
	if resp.StatusCode != 403 || !strings.Contains(mustJSON(body), "os_compute_api:os-remote-consoles") {
		t.Fatalf("member denied by policy: %d %v", resp.StatusCode, body)
	}
}

// TestVNCConsoleUnavailable: a host without a console proxy answers
// Nova's 400 for a disabled VNC.
func TestVNCConsoleUnavailable(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithAPI())
	sv := e.Boot(t, e.Member)
	resp, body := do(t, e.Server, "POST", "/v2.1/servers/"+sv.ID+"/action", "member", `{"os-getVNCConsole": {"type": "novnc"}}`)
	if resp.StatusCode != 400 || !strings.Contains(mustJSON(body), "Unavailable console type novnc.") {
		t.Fatalf("no proxy: %d %v", resp.StatusCode, body)
	}
}

// TestConsoleAuthTokensBefore231: Nova answers GET
// /os-console-auth-tokens/{token} with 400 below microversion 2.31.
func TestConsoleAuthTokensBefore231(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithAPI(), computetest.WithConsoles(console.Config{}))
	if resp, body := do(t, e.Server, "GET", "/v2.1/os-console-auth-tokens/abc", "admin", ""); resp.StatusCode != 400 || body["badRequest"] == nil {
		t.Fatalf("at 2.1: %d %v", resp.StatusCode, body)
	}
}

// TestRemoteConsolesRoute: POST /servers/{id}/remote-consoles does not
// exist at 2.1 (404, as in Nova); from 2.6 it opens a VNC console, and
// refuses the protocols this host does not serve (400).
func TestRemoteConsolesRoute(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithAPI(), computetest.WithConsoles(console.Config{}))
	sv := e.Boot(t, e.Member)
	path := "/v2.1/servers/" + sv.ID + "/remote-consoles"
	vnc := `{"remote_console": {"protocol": "vnc", "type": "novnc"}}`
	if resp, body := do(t, e.Server, "POST", path, "member", vnc); resp.StatusCode != 404 || body["itemNotFound"] == nil {
		t.Fatalf("at 2.1: %d %v", resp.StatusCode, body)
	}
	toks := keystonetest.Tokens{"member": keystonetest.Token(computetest.MemberCreds.ProjectID, computetest.MemberCreds.Roles...)}
	at26 := httptest.NewServer(api.New(e.Service, toks, e.Server.URL, "http://image", "http://identity", e.Log).HandlerAt("2.6"))
	defer at26.Close()
	resp, body := do(t, at26, "POST", path, "member", vnc)
	rc, _ := body["remote_console"].(map[string]any)
	if resp.StatusCode != 200 || rc["protocol"] != "vnc" || rc["type"] != "novnc" ||
		!strings.HasPrefix(fmt.Sprint(rc["url"]), e.ConsoleServer.URL+"/vnc_lite.html?path=%3Ftoken%3D") {
		t.Fatalf("at 2.6: %d %v", resp.StatusCode, body)
	}
	if resp, body := do(t, at26, "POST", "/v2.1/servers/"+sv.ID+"/action", "member", `{"os-getVNCConsole": {"type": "novnc"}}`); resp.StatusCode != 404 {
		t.Fatalf("os-getVNCConsole at 2.6: %d %v, want 404 (the action ends at 2.5)", resp.StatusCode, body)
	}
	for req, want := range map[string]string{
		`{"remote_console": {"protocol": "spice", "type": "spice-html5"}}`: "Unavailable console type spice-html5.",
		`{"remote_console": {"protocol": "vnc", "type": "xvpvnc"}}`:        "Invalid console type xvpvnc",
		`{"remote_console": {"protocol": "vnc", "type": "webmks"}}`:        "type one of ['novnc', 'xvpvnc', 'spice-html5', 'serial', 'rdp-html5']",
		`{"remote_console": {"protocol": "vnc"}}`:                          "Invalid input for field/attribute remote_console",
		`{"remote_console": {"protocol": "vnc", "type": "novnc", "x": 1}}`: "Invalid input for field/attribute remote_console",
		`{"console": {}}`: "'remote_console' is a required property",
	} {
		if resp, body := do(t, at26, "POST", path, "member", req); resp.StatusCode != 400 || !strings.Contains(mustJSON(body), want) {
			t.Errorf("%s: %d %v, want 400 %q", req, resp.StatusCode, body, want)
		}
	}
}
