package console_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"imagestack/compute"
	"imagestack/compute/computetest"
	"imagestack/compute/console"
)

// newSetup is a compute API with a console proxy reading Debian's noVNC.
func newSetup(t *testing.T, cfg console.Config) *computetest.Setup {
	t.Helper()
	return computetest.NewSetup(t, computetest.WithAPI(), computetest.WithConsoles(cfg))
}

// consoleURL asks the compute API for a server's noVNC URL, as
// `openstack console url show --novnc` does.
func consoleURL(t *testing.T, e *computetest.Setup, id string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", e.Server.URL+"/v2.1/servers/"+id+"/action", strings.NewReader(`{"os-getVNCConsole": {"type": "novnc"}}`))
	req.Header.Set("X-Auth-Token", "member")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Console struct{ Type, URL string }
	}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &body); err != nil || resp.StatusCode != 200 || body.Console.Type != "novnc" {
		t.Fatalf("os-getVNCConsole: %d %s", resp.StatusCode, raw)
	}
	return body.Console.URL
}

// websocketURL is the URL noVNC's vnc_lite.html opens for a page URL:
// ws://<host>:<port>/<its "path" query>.
func websocketURL(t *testing.T, page string) string {
	t.Helper()
	u, err := url.Parse(page)
	if err != nil {
		t.Fatal(err)
	}
	return "ws://" + u.Host + "/" + u.Query().Get("path")
}

// dial opens a console websocket as noVNC does (subprotocol "binary", the
// page's origin).
func dial(wsURL, origin string) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{Subprotocols: []string{"binary"}, HandshakeTimeout: 5 * time.Second}
	return d.Dial(wsURL, http.Header{"Origin": {origin}})
}

// TestConsoleHandshake: the URL the API gives opens the server's console
// through the proxy: an RFB handshake (version, security None,
// SecurityResult, ClientInit, ServerInit) with the server's own VNC
// server; closing the browser's end closes the session.
func TestConsoleHandshake(t *testing.T) {
	e := newSetup(t, console.Config{})
	sv := e.Boot(t, e.Member)
	page := consoleURL(t, e, sv.ID)
	if !strings.HasPrefix(page, e.ConsoleServer.URL+"/vnc_lite.html?path=%3Ftoken%3D") {
		t.Fatalf("console URL %s is not Nova's form", page)
	}
	ws, resp, err := dial(websocketURL(t, page), e.ConsoleServer.URL)
	if err != nil {
		t.Fatalf("websocket: %v (%v)", err, resp)
	}
	if ws.Subprotocol() != "binary" {
		t.Errorf("subprotocol %q, want binary", ws.Subprotocol())
	}
	w, h, name, err := computetest.RFBHandshake(computetest.WebsocketStream(ws))
	if err != nil {
		t.Fatalf("RFB handshake: %v", err)
	}
	if w != 1 || h != 1 || name != computetest.DesktopName+sv.ID {
		t.Fatalf("ServerInit: %dx%d %q", w, h, name)
	}
	if e.Consoles.Sessions() != 1 {
		t.Fatalf("%d sessions open, want 1", e.Consoles.Sessions())
	}
	ws.Close()
	waitFor(t, "the session to end", func() bool { return e.Consoles.Sessions() == 0 })

	// The token lasts its TTL: noVNC may reconnect with it.
	ws, _, err = dial(websocketURL(t, page), e.ConsoleServer.URL)
	if err != nil {
		t.Fatalf("reconnecting: %v", err)
	}
	defer ws.Close()
	if _, _, _, err := computetest.RFBHandshake(computetest.WebsocketStream(ws)); err != nil {
		t.Fatalf("RFB handshake again: %v", err)
	}
}

// TestConsoleEndsWithVM: stopping the server closes its open console with
// a close frame, and its token no longer opens anything (404).
func TestConsoleEndsWithVM(t *testing.T) {
	e := newSetup(t, console.Config{})
	sv := e.Boot(t, e.Member)
	page := consoleURL(t, e, sv.ID)
	ws, _, err := dial(websocketURL(t, page), "")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if _, _, _, err := computetest.RFBHandshake(computetest.WebsocketStream(ws)); err != nil {
		t.Fatal(err)
	}
	if err := e.Service.Stop(context.Background(), e.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err = ws.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Fatalf("after stop, read %v, want a normal close", err)
	}
	waitFor(t, "the session to end", func() bool { return e.Consoles.Sessions() == 0 })
	_, resp, err := dial(websocketURL(t, page), "")
	if err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("console of a stopped server: %v %v, want 404", err, resp)
	}
}

// TestConsoleRefusals: a bad, expired or revoked token, or a page of
// another site, is refused with an HTTP status before any upgrade.
func TestConsoleRefusals(t *testing.T) {
	e := newSetup(t, console.Config{TokenTTL: time.Minute})
	sv := e.Boot(t, e.Member)
	page := consoleURL(t, e, sv.ID)
	good := websocketURL(t, page)
	cases := []struct {
		name, url, origin string
		status            int
	}{
		{"no token", "ws" + strings.TrimPrefix(e.ConsoleServer.URL, "http") + "/", "", 403},
		{"bad token", "ws" + strings.TrimPrefix(e.ConsoleServer.URL, "http") + "/?token=nope", "", 403},
		{"other site", good, "http://evil.example", 403},
	}
	for _, c := range cases {
		ws, resp, err := dial(c.url, c.origin)
		if err == nil {
			ws.Close()
		}
		if !errors.Is(err, websocket.ErrBadHandshake) || resp.StatusCode != c.status {
			t.Errorf("%s: %v %v, want %d", c.name, err, resp, c.status)
		}
	}
	e.Consoles.SetClock(func() time.Time { return time.Now().Add(time.Minute) })
	if _, resp, err := dial(good, ""); err == nil || resp.StatusCode != 403 {
		t.Fatalf("expired token: %v %v, want 403", err, resp)
	}
	e.Consoles.SetClock(time.Now)
	page = consoleURL(t, e, sv.ID)
	if err := e.Service.Delete(context.Background(), e.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if _, resp, err := dial(websocketURL(t, page), ""); err == nil || resp.StatusCode != 403 {
		t.Fatalf("token of a deleted server: %v %v, want 403", err, resp)
	}
}

// TestNoVNCPages: the proxy serves the novnc package's files as they are
// on disk, and nothing else.
func TestNoVNCPages(t *testing.T) {
	e := newSetup(t, console.Config{})
	sv := e.Boot(t, e.Member)
	page := consoleURL(t, e, sv.ID)
	for _, f := range []string{"vnc_lite.html", "core/rfb.js", "vnc_auto.html"} {
		want, err := os.ReadFile(filepath.Join(console.DefaultNoVNCDir, f))
		if err != nil {
			t.Fatalf("Debian's novnc package is not installed: %v", err)
		}
		u := e.ConsoleServer.URL + "/" + f
		if f == "vnc_lite.html" {
			u = page
		}
		status, ctype, body := get(t, u)
		if status != 200 || body != string(want) {
			t.Errorf("%s: %d, %d bytes, want the file's %d", f, status, len(body), len(want))
		}
		if f == "core/rfb.js" && !strings.Contains(ctype, "javascript") {
			t.Errorf("%s served as %q: browsers refuse modules that are not javascript", f, ctype)
		}
	}
	for _, p := range []string{"/", "/core/", "/../../etc/passwd", "/nothing.html"} {
		if status, _, _ := get(t, e.ConsoleServer.URL+p); status != 404 {
			t.Errorf("%s: %d, want 404", p, status)
		}
	}
}

// TestNoVNCMissing: a proxy whose pages are missing says so (503).
func TestNoVNCMissing(t *testing.T) {
	e := newSetup(t, console.Config{NoVNCDir: filepath.Join(t.TempDir(), "none")})
	if status, _, _ := get(t, e.ConsoleServer.URL+"/vnc_lite.html"); status != 503 {
		t.Fatalf("missing noVNC: %d, want 503", status)
	}
}

// TestTokenBounds: a server's oldest tokens make room for its new ones,
// and a full proxy refuses new tokens (503) until some expire.
func TestTokenBounds(t *testing.T) {
	p, err := console.New(console.Config{PublicURL: "http://proxy:6080", MaxTokens: 3, MaxTokensPerServer: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	authorize := func(id string) compute.ConsoleAuth {
		t.Helper()
		a, err := p.Authorize(ctx, id, "novnc")
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	first, second, third := authorize("s1"), authorize("s1"), authorize("s1")
	if _, err := p.Lookup(ctx, first.Token); !errors.Is(err, compute.ErrNotFound) {
		t.Fatalf("a server's oldest token survived its limit: %v", err)
	}
	for _, a := range []compute.ConsoleAuth{second, third} {
		if got, err := p.Lookup(ctx, a.Token); err != nil || got.ServerID != "s1" || got.URL != a.URL {
			t.Fatalf("lookup: %+v %v", got, err)
		}
	}
	authorize("s2")
	if _, err := p.Authorize(ctx, "s3", "novnc"); !errors.Is(err, compute.ErrUnavailable) {
		t.Fatalf("a full proxy gave a token: %v", err)
	}
	if p.Tokens() != 3 {
		t.Fatalf("%d tokens held, want 3", p.Tokens())
	}
	p.SetClock(func() time.Time { return time.Now().Add(console.DefaultTokenTTL) })
	authorize("s3")
	if p.Tokens() != 1 {
		t.Fatalf("%d tokens held after expiry, want 1", p.Tokens())
	}
	if second.Token == third.Token || len(second.Token) < 40 {
		t.Fatalf("tokens %q %q are not random 256-bit values", second.Token, third.Token)
	}
}

// TestPublicURLWithPath: behind a reverse proxy serving the console under
// a path, noVNC is told to open its websocket under that path.
func TestPublicURLWithPath(t *testing.T) {
	p, err := console.New(console.Config{PublicURL: "https://cloud.example/console/"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := p.Authorize(context.Background(), "s1", "novnc")
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://cloud.example/console/vnc_lite.html?path=console%2F%3Ftoken%3D" + a.Token; a.URL != want {
		t.Fatalf("URL %s, want %s", a.URL, want)
	}
}

func get(t *testing.T, u string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited in vain for %s", what)
		}
	}
}

// TestOrigins: a browser's Origin may name the host the request went to,
// on any port (as Nova's check), or the proxy's public host (behind a
// reverse proxy that rewrites Host); any other is refused.
func TestOrigins(t *testing.T) {
	e := newSetup(t, console.Config{PublicURL: "https://console.example:443"})
	sv := e.Boot(t, e.Member)
	page, err := url.Parse(consoleURL(t, e, sv.ID))
	if err != nil {
		t.Fatal(err)
	}
	ws := "ws" + strings.TrimPrefix(e.ConsoleServer.URL, "http") + "/" + page.Query().Get("path")
	for origin, ok := range map[string]bool{
		"https://console.example":      true,
		"http://127.0.0.1:1":           true,
		"":                             true,
		"http://localhost":             false,
		"https://console.example.evil": false,
		"null":                         false,
	} {
		c, resp, err := dial(ws, origin)
		if ok && err != nil || !ok && (err == nil || resp.StatusCode != 403) {
			t.Errorf("origin %q: %v %v, want accepted %v", origin, err, resp, ok)
		}
		if err == nil {
			c.Close()
		}
	}
}

// TestSessionBound: a token opens consoles again and again, but no more
// than the server's limit at once (429 beyond it).
func TestSessionBound(t *testing.T) {
	e := newSetup(t, console.Config{MaxSessionsPerServer: 1})
	sv := e.Boot(t, e.Member)
	ws := websocketURL(t, consoleURL(t, e, sv.ID))
	first, _, err := dial(ws, "")
	if err != nil {
		t.Fatal(err)
	}
	if c, resp, err := dial(ws, ""); err == nil || resp.StatusCode != http.StatusTooManyRequests {
		if err == nil {
			c.Close()
		}
		t.Fatalf("a second console of the server: %v %v, want 429", err, resp)
	}
	first.Close()
	waitFor(t, "the first console to end", func() bool { return e.Consoles.Sessions() == 0 })
	var again *websocket.Conn
	waitFor(t, "its slot to be free", func() bool {
		again, _, err = dial(ws, "")
		return err == nil
	})
	defer again.Close()
	if _, _, _, err := computetest.RFBHandshake(computetest.WebsocketStream(again)); err != nil {
		t.Fatal(err)
	}
}

// TestSessionTimeout: with EnforceSessionTimeout, an open console closes
// when its token expires; without it (TestConsoleHandshake), it stays.
func TestSessionTimeout(t *testing.T) {
	e := newSetup(t, console.Config{TokenTTL: 500 * time.Millisecond, EnforceSessionTimeout: true})
	sv := e.Boot(t, e.Member)
	ws, _, err := dial(websocketURL(t, consoleURL(t, e, sv.ID)), "")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if _, _, _, err := computetest.RFBHandshake(computetest.WebsocketStream(ws)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := ws.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Fatalf("at expiry: %v, want a normal close", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("closed %v after the handshake, long after the token's 500ms", waited)
	}
}
