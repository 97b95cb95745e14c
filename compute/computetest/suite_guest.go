package computetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"imagestack/compute"
)

// SuiteOption changes what HypervisorSuite gives its guests.
type SuiteOption func(*suiteConfig)

type suiteConfig struct {
	bridge string
}

// WithBridge names an existing Linux bridge (no address, up) that the
// suite's servers plug their NICs into; the fake checks no bridge, a real
// hypervisor needs one.
func WithBridge(name string) SuiteOption { return func(c *suiteConfig) { c.bridge = name } }

// NewVIF is a NIC on bridge with a random MAC in Nova's fa:16:3e prefix
// and a tap named as Nova names them ("tap" and 11 characters of a port
// id), unique on the host.
func NewVIF(bridge string, mtu int) compute.VIF {
	b := make([]byte, 3)
	rand.Read(b)
	return compute.VIF{MAC: fmt.Sprintf("fa:16:3e:%02x:%02x:%02x", b[0], b[1], b[2]), Bridge: bridge,
		Device: "tap" + uuid.NewString()[:11], MTU: mtu}
}

// FakeConfigDrive writes a file standing for a config drive (the suite's
// guests never read it) outside any hypervisor's directories.
func FakeConfigDrive(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "disk.config")
	if err := os.WriteFile(p, bytes.Repeat([]byte("config-2"), 8192), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// guestDevices: a server with two NICs and a config drive boots from its
// disk, keeps running across stop/start and rebuild with the same
// devices, and its Destroy leaves a config drive kept elsewhere alone.
func guestDevices(t *testing.T, newHypervisor func(t *testing.T) compute.Hypervisor, bridge string) {
	h := newHypervisor(t)
	spec := suiteSpec(t, BootImage(t, suiteMarker))
	spec.NICs = []compute.VIF{NewVIF(bridge, 0), NewVIF(bridge, 1400)}
	spec.ConfigDrive = FakeConfigDrive(t)
	t.Cleanup(func() { _ = h.Destroy(context.WithoutCancel(t.Context()), spec.ServerID) })
	if err := h.Spawn(t.Context(), spec); err != nil {
		t.Fatalf("Spawn with NICs and a config drive: %v", err)
	}
	wantPower(t, h, spec.ServerID, compute.PowerRunning)
	waitConsole(t, h, spec.ServerID, suiteMarker, 1)
	if err := h.Stop(t.Context(), spec.ServerID); err != nil {
		t.Fatal(err)
	}
	if err := h.Start(t.Context(), spec.ServerID); err != nil {
		t.Fatalf("Start with NICs and a config drive: %v", err)
	}
	waitConsole(t, h, spec.ServerID, suiteMarker, 2)
	spec.BaseImage = BootImage(t, rebuiltMarker)
	if err := h.Rebuild(t.Context(), spec); err != nil {
		t.Fatalf("Rebuild with NICs and a config drive: %v", err)
	}
	wantPower(t, h, spec.ServerID, compute.PowerRunning)
	waitConsole(t, h, spec.ServerID, rebuiltMarker, 1)
	if err := h.Destroy(t.Context(), spec.ServerID); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(spec.ConfigDrive); err != nil || !bytes.HasPrefix(data, []byte("config-2")) {
		t.Fatalf("Destroy touched a config drive outside the server's files: %v", err)
	}
}

// missingFiles: a config drive or a kernel that is not there fails the
// spawn, which leaves nothing behind.
func missingFiles(t *testing.T, newHypervisor func(t *testing.T) compute.Hypervisor) {
	h := newHypervisor(t)
	missing := filepath.Join(t.TempDir(), "missing")
	for name, set := range map[string]func(*compute.SpawnSpec){
		"config drive": func(s *compute.SpawnSpec) { s.ConfigDrive = missing },
		"kernel":       func(s *compute.SpawnSpec) { s.Kernel = missing },
	} {
		spec := suiteSpec(t, BootImage(t, suiteMarker))
		set(&spec)
		t.Cleanup(func() { _ = h.Destroy(context.WithoutCancel(t.Context()), spec.ServerID) })
		if err := h.Spawn(t.Context(), spec); err == nil {
			t.Errorf("Spawn with a missing %s succeeded", name)
		}
		wantPower(t, h, spec.ServerID, compute.PowerNoState)
	}
}

// consoleSocket: a running server has a VNC socket (an absolute path), a
// stopped or destroyed one none.
func consoleSocket(t *testing.T, newHypervisor func(t *testing.T) compute.Hypervisor) {
	h, id := spawned(t, newHypervisor)
	p, err := h.ConsoleSocket(t.Context(), id)
	if err != nil || !filepath.IsAbs(p) || strings.TrimSpace(p) != p {
		t.Fatalf("ConsoleSocket of a running server: %q %v", p, err)
	}
	if err := h.Stop(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if _, err := h.ConsoleSocket(t.Context(), id); !errors.Is(err, compute.ErrNotFound) {
		t.Fatalf("ConsoleSocket of a stopped server: %v, want ErrNotFound", err)
	}
	if err := h.Start(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if p2, err := h.ConsoleSocket(t.Context(), id); err != nil || p2 != p {
		t.Fatalf("ConsoleSocket after a restart: %q %v, want %q", p2, err, p)
	}
	if err := h.Destroy(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if _, err := h.ConsoleSocket(t.Context(), id); !errors.Is(err, compute.ErrNotFound) {
		t.Fatalf("ConsoleSocket of a destroyed server: %v, want ErrNotFound", err)
	}
}
