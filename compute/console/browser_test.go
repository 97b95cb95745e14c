package console_test

import (
	"context"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

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
	// --no-sandbox: tests may run as root, where Chromium's sandbox refuses
	// to start. The virtual time budget lets the page's scripts run their
	// course before the DOM is dumped.
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir="+t.TempDir(),
		"--virtual-time-budget=10000", "--dump-dom", page)
	// Its own process group, ended whole afterwards: no helper process of
	// Chromium outlives the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := cmd.Output()
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	want := `<div id="status">Connected to ` + computetest.DesktopName + sv.ID + `</div>`
	if !strings.Contains(string(out), want) {
		i := strings.Index(string(out), `<div id="status">`)
		t.Fatalf("noVNC did not connect; its page says %.120s", string(out)[max(i, 0):])
	}
}
