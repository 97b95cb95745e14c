package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"imagestack/common/config"
)

// TestRoles: an api process serves the four APIs and never connects to
// libvirt; a compute process connects to libvirt and serves no API.
func TestRoles(t *testing.T) {
	t.Setenv("STATE_DIR", "")
	t.Setenv("IMAGESTACK_DATABASE_DSN", "")
	t.Run("API", func(t *testing.T) {
		p := startRoles(t, "api")
		for _, name := range apiListeners {
			waitHTTP(t, name, p.addrs[name])
		}
		if n := p.libvirt.Load(); n != 0 {
			t.Fatalf("the api role connected to libvirt %d times", n)
		}
		if c, err := net.Dial("tcp", p.addrs["console"]); err == nil {
			c.Close()
			t.Fatal("the api role serves the console proxy")
		}
	})
	t.Run("Compute", func(t *testing.T) {
		p := startRoles(t, "compute")
		// Listeners are bound before libvirt is dialled: once it has
		// been, every listener of the process is there.
		for deadline := time.Now().Add(20 * time.Second); p.libvirt.Load() == 0; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the compute role never connected to libvirt")
			}
		}
		for _, name := range apiListeners {
			if c, err := net.Dial("tcp", p.addrs[name]); err == nil {
				c.Close()
				t.Errorf("the compute role serves the %s API", name)
			}
		}
		waitHTTP(t, "console", p.addrs["console"])
	})
}

// roleProcess is runRoles running in the test, with a fake libvirt socket
// counting the connections made to it.
type roleProcess struct {
	addrs   map[string]string
	libvirt *atomic.Int32
}

// startRoles runs runRoles with roles on free loopback ports, SQLite and a
// fake libvirt, until the test ends.
func startRoles(t *testing.T, roles string) roleProcess {
	dir := t.TempDir()
	p := roleProcess{addrs: map[string]string{}, libvirt: fakeLibvirt(t, filepath.Join(dir, "libvirt.sock"))}
	for _, name := range append(apiListeners, "console") {
		p.addrs[name] = freeAddr(t)
	}
	yaml := fmt.Sprintf(`state_dir: %s
roles: [%s]
identity: {listen: %q}
image: {listen: %q}
compute: {listen: %q, libvirt_uri: "qemu+unix:///system?socket=%s", virt_type: qemu, console: {listen: %q}}
network: {listen: %q, default_network: {name: ""}}
`, dir, roles, p.addrs["identity"], p.addrs["image"], p.addrs["compute"], filepath.Join(dir, "libvirt.sock"), p.addrs["console"], p.addrs["network"])
	path := filepath.Join(dir, "imagestack.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runRoles(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("runRoles: %v", err)
		}
	})
	return p
}

// fakeLibvirt listens on a unix socket where libvirtd would, counting and
// dropping the connections.
func fakeLibvirt(t *testing.T, path string) *atomic.Int32 {
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	return &n
}

// freeAddr is a loopback address no one listens on now.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitHTTP waits until the named listener answers HTTP.
func waitHTTP(t *testing.T, name, addr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s at %s never answered: %v", name, addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
