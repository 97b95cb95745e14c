package tests

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"imagestack/compute/computetest"
)

// TestRemoteConsoleCLI: `openstack console url show --novnc` gives the
// noVNC page of the console proxy; the page is served, and the websocket
// it opens (as noVNC's vnc_lite.html builds it from the URL) completes an
// RFB handshake with the guest's own VNC server through the proxy. A
// stopped server has no console (409), and its open console closes.
func TestRemoteConsoleCLI(t *testing.T) {
	requireLibvirt(t)
	s := NewServer(t, nil, "")
	s.MustCLI("demo", "image", "create", "--file", bootImage(t, "IMAGESTACK-VNC"), "--disk-format", "raw", "--container-format", "bare", "tiny")
	s.MustCLI("demo", "server", "create", "--image", "tiny", "--flavor", "m1.nano", "--wait", "vnc1")

	var shown struct{ Type, URL string }
	out := s.MustCLI("demo", "console", "url", "show", "--novnc", "-f", "json", "vnc1")
	if err := json.Unmarshal([]byte(out), &shown); err != nil || shown.Type != "novnc" {
		t.Fatalf("console url show: %s", out)
	}
	if !strings.HasPrefix(shown.URL, s.ConsoleURL+"/vnc_lite.html?path=%3Ftoken%3D") {
		t.Fatalf("console URL %s is not the proxy's noVNC page (%s)", shown.URL, s.ConsoleURL)
	}
	resp, err := http.Get(shown.URL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "noVNC") {
		t.Fatalf("noVNC page: %d %.200s", resp.StatusCode, page)
	}

	u, _ := url.Parse(shown.URL)
	d := websocket.Dialer{Subprotocols: []string{"binary"}, HandshakeTimeout: 10 * time.Second}
	ws, resp, err := d.Dial("ws://"+u.Host+"/"+u.Query().Get("path"), http.Header{"Origin": {s.ConsoleURL}})
	if err != nil {
		t.Fatalf("console websocket: %v (%v)\n%s", err, resp, s.log.String())
	}
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	w, h, name, err := computetest.RFBHandshake(computetest.WebsocketStream(ws))
	if err != nil {
		t.Fatalf("RFB handshake with the guest: %v", err)
	}
	if w == 0 || h == 0 || name == "" {
		t.Fatalf("ServerInit: %dx%d %q", w, h, name)
	}
	t.Logf("guest desktop %q, %dx%d", name, w, h)

	s.MustCLI("demo", "server", "stop", "vnc1")
	waitStatus2(t, s, "vnc1", "SHUTOFF")
	if _, _, err := ws.ReadMessage(); err == nil {
		t.Fatal("the console of a stopped server stays open")
	}
	if _, errOut, err := s.CLI("demo", "console", "url", "show", "--novnc", "vnc1"); err == nil || !strings.Contains(errOut, "409") {
		t.Fatalf("console of a stopped server: %v %s", err, errOut)
	}
	s.MustCLI("demo", "server", "delete", "--wait", "vnc1")
}
