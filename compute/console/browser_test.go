package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"imagestack/compute/computetest"
	"imagestack/compute/console"
)

// TestBrowserConnects: headless Chromium opens the URL the API gives, and
// Debian's noVNC in it connects through the proxy to the server's VNC
// server (its status line names the desktop).
func TestBrowserConnects(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: run scripts/test-env.sh as root, which installs it")
	}
	e := newSetup(t, console.Config{})
	sv := e.Boot(t, e.Member)
	page := consoleURL(t, e, sv.ID)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tab := openPage(ctx, t, chromium, page)
	want := "Connected to " + computetest.DesktopName + sv.ID
	// The page is read in real time until noVNC says it connected (a
	// virtual time budget ran out before a loaded machine's handshake).
	status := ""
	for ctx.Err() == nil && status != want {
		time.Sleep(100 * time.Millisecond)
		status = tab.eval(t, `(document.getElementById("status") || {}).textContent || ""`)
	}
	if status != want {
		t.Fatalf("noVNC did not connect; its status says %q", status)
	}
}

// devtoolsPage is a page of a headless Chromium, reached through its
// DevTools protocol.
type devtoolsPage struct {
	conn *websocket.Conn
	id   int
}

// openPage starts headless Chromium on url and connects to its page.
// Chromium's whole process group is ended when the test ends.
func openPage(ctx context.Context, t *testing.T, chromium, url string) *devtoolsPage {
	t.Helper()
	dir := t.TempDir()
	// --no-sandbox: tests may run as root, where Chromium's sandbox refuses
	// to start.
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir="+dir,
		"--remote-debugging-port=0", url)
	// Its own process group, ended whole afterwards: no helper process of
	// Chromium outlives the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Start(); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
	var port string
	for ctx.Err() == nil && port == "" { // Chromium writes its port once it listens
		time.Sleep(50 * time.Millisecond)
		data, _ := os.ReadFile(filepath.Join(dir, "DevToolsActivePort"))
		port, _, _ = strings.Cut(string(data), "\n")
	}
	var ws string
	for ctx.Err() == nil && ws == "" {
		time.Sleep(50 * time.Millisecond)
		ws = pageSocket(port)
	}
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, ws, nil)
	if err != nil {
		t.Fatalf("chromium's page %q: %v", ws, err)
	}
	t.Cleanup(func() { conn.Close() })
	return &devtoolsPage{conn: conn}
}

// pageSocket returns the DevTools socket of Chromium's first page ("" while
// it has none).
func pageSocket(port string) string {
	resp, err := http.Get("http://127.0.0.1:" + port + "/json/list")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var targets []struct{ Type, WebSocketDebuggerURL string }
	_ = json.NewDecoder(resp.Body).Decode(&targets)
	for _, tg := range targets {
		if tg.Type == "page" {
			return tg.WebSocketDebuggerURL
		}
	}
	return ""
}

// eval returns the string expr evaluates to in the page.
func (p *devtoolsPage) eval(t *testing.T, expr string) string {
	t.Helper()
	p.id++
	req := map[string]any{"id": p.id, "method": "Runtime.evaluate", "params": map[string]any{"expression": expr, "returnByValue": true}}
	if err := p.conn.WriteJSON(req); err != nil {
		t.Fatalf("devtools: %v", err)
	}
	for {
		var resp struct {
			ID     int
			Result struct{ Result struct{ Value any } }
			Error  *struct{ Message string }
		}
		if err := p.conn.ReadJSON(&resp); err != nil {
			t.Fatalf("devtools: %v", err)
		}
		if resp.ID != p.id {
			continue // an event
		}
		if resp.Error != nil {
			t.Fatalf("devtools: %s", resp.Error.Message)
		}
		return fmt.Sprint(resp.Result.Result.Value)
	}
}
