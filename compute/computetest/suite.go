package computetest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"imagestack/compute"
)

// Markers the suite's guests print at each boot.
const (
	suiteMarker   = "IMAGESTACK-SUITE-BOOT"
	rebuiltMarker = "IMAGESTACK-SUITE-REBUILT"
)

// consoleWait bounds how long a guest may take to print its marker: QEMU's
// software emulation on a busy test machine, not the fake, sets it.
const consoleWait = 90 * time.Second

// HypervisorSuite checks the compute.Hypervisor contract, one named
// subtest per part of it, on what newHypervisor returns (called once per
// subtest), as storage's suite does on every store. Guests are
// BootSector disks; every server a subtest makes is destroyed at its end.
// A real hypervisor needs WithBridge for the checks of NICs.
func HypervisorSuite(t *testing.T, newHypervisor func(t *testing.T) compute.Hypervisor, opts ...SuiteOption) {
	cfg := suiteConfig{bridge: "br-suite-fake"}
	for _, o := range opts {
		o(&cfg)
	}
	t.Run("Spawn boots the guest", func(t *testing.T) {
		h, id := spawned(t, newHypervisor)
		waitConsole(t, h, id, suiteMarker, 1)
	})
	t.Run("Spawn failure leaves nothing", func(t *testing.T) {
		h := newHypervisor(t)
		spec := suiteSpec(t, filepath.Join(t.TempDir(), "missing.raw"))
		t.Cleanup(func() { _ = h.Destroy(context.WithoutCancel(t.Context()), spec.ServerID) })
		if err := h.Spawn(t.Context(), spec); err == nil {
			t.Fatal("Spawn over a missing base image succeeded")
		}
		wantPower(t, h, spec.ServerID, compute.PowerNoState)
	})
	t.Run("Stop and Start", func(t *testing.T) { stopStart(t, newHypervisor) })
	t.Run("Reboot", func(t *testing.T) {
		h, id := spawned(t, newHypervisor)
		waitConsole(t, h, id, suiteMarker, 1)
		if err := h.Reboot(t.Context(), id, true); err != nil {
			t.Fatalf("hard Reboot: %v", err)
		}
		wantPower(t, h, id, compute.PowerRunning)
		waitConsole(t, h, id, suiteMarker, 2)
		if err := h.Reboot(t.Context(), id, false); err != nil {
			t.Fatalf("soft Reboot: %v", err)
		}
		wantPower(t, h, id, compute.PowerRunning)
	})
	t.Run("Pause and Unpause", func(t *testing.T) { pauseUnpause(t, newHypervisor) })
	t.Run("Rebuild", func(t *testing.T) { rebuild(t, newHypervisor) })
	t.Run("Snapshot", func(t *testing.T) { snapshot(t, newHypervisor) })
	t.Run("Destroy", func(t *testing.T) {
		h, id := spawned(t, newHypervisor)
		for i := range 2 {
			if err := h.Destroy(t.Context(), id); err != nil {
				t.Fatalf("Destroy #%d: %v", i+1, err)
			}
			wantPower(t, h, id, compute.PowerNoState)
		}
		if err := h.Start(t.Context(), id); !errors.Is(err, compute.ErrNotFound) {
			t.Fatalf("Start after Destroy: %v, want ErrNotFound", err)
		}
	})
	t.Run("Unknown servers", func(t *testing.T) { unknownServers(t, newHypervisor(t)) })
	t.Run("NICs and a config drive", func(t *testing.T) { guestDevices(t, newHypervisor, cfg.bridge) })
	t.Run("Missing files fail the spawn", func(t *testing.T) { missingFiles(t, newHypervisor) })
	t.Run("ConsoleSocket", func(t *testing.T) { consoleSocket(t, newHypervisor) })
	lifecycleSuite(t, newHypervisor)
}

// suiteSpec is a small server over base, of a new id.
func suiteSpec(t *testing.T, base string) compute.SpawnSpec {
	return compute.SpawnSpec{ServerID: uuid.NewString(), Name: t.Name(), MemoryMiB: 32, VCPUs: 1, RootGB: 1,
		BaseImage: base, BaseFormat: "raw"}
}

// spawned returns a hypervisor and a server spawned on it from a BootImage
// printing suiteMarker, destroyed when the test ends.
func spawned(t *testing.T, newHypervisor func(t *testing.T) compute.Hypervisor) (compute.Hypervisor, string) {
	t.Helper()
	h := newHypervisor(t)
	spec := suiteSpec(t, BootImage(t, suiteMarker))
	t.Cleanup(func() {
		if err := h.Destroy(context.WithoutCancel(t.Context()), spec.ServerID); err != nil {
			t.Errorf("Destroy at cleanup: %v", err)
		}
	})
	if err := h.Spawn(t.Context(), spec); err != nil {
		t.Fatalf("Spawn: %v", err)
	}
	wantPower(t, h, spec.ServerID, compute.PowerRunning)
	return h, spec.ServerID
}

func wantPower(t *testing.T, h compute.Hypervisor, id string, want compute.PowerState) {
	t.Helper()
	got, err := h.PowerState(t.Context(), id)
	if err != nil || got != want {
		t.Fatalf("PowerState: %d %v, want %d", got, err, want)
	}
}

// waitConsole waits until the console output holds marker at least n times.
func waitConsole(t *testing.T, h compute.Hypervisor, id, marker string, n int) {
	t.Helper()
	deadline := time.Now().Add(consoleWait)
	for {
		out, err := h.ConsoleOutput(t.Context(), id)
		if err != nil {
			t.Fatalf("ConsoleOutput: %v", err)
		}
		if len(out) > compute.MaxConsoleBytes {
			t.Fatalf("ConsoleOutput returned %d bytes, more than MaxConsoleBytes", len(out))
		}
		if bytes.Count(out, []byte(marker)) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the console never showed %q %d times: %q", marker, n, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func stopStart(t *testing.T, newHypervisor func(t *testing.T) compute.Hypervisor) {
	h, id := spawned(t, newHypervisor)
	waitConsole(t, h, id, suiteMarker, 1)
	for i := range 2 { // stopping a stopped VM is no error
		if err := h.Stop(t.Context(), id); err != nil {
			t.Fatalf("Stop #%d: %v", i+1, err)
		}
		wantPower(t, h, id, compute.PowerShutdown)
	}
	if err := h.Start(t.Context(), id); err != nil {
		t.Fatalf("Start: %v", err)
	}
	wantPower(t, h, id, compute.PowerRunning)
	waitConsole(t, h, id, suiteMarker, 2)
}

func rebuild(t *testing.T, newHypervisor func(t *testing.T) compute.Hypervisor) {
	h, id := spawned(t, newHypervisor)
	waitConsole(t, h, id, suiteMarker, 1)
	spec := suiteSpec(t, BootImage(t, rebuiltMarker))
	spec.ServerID = id
	if err := h.Rebuild(t.Context(), spec); err != nil {
		t.Fatalf("Rebuild: %v", err)
	}
	wantPower(t, h, id, compute.PowerRunning)
	waitConsole(t, h, id, rebuiltMarker, 1)
	// A server whose VM is gone gets one again.
	if err := h.Destroy(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if err := h.Rebuild(t.Context(), spec); err != nil {
		t.Fatalf("Rebuild without a VM: %v", err)
	}
	wantPower(t, h, id, compute.PowerRunning)
}

func snapshot(t *testing.T, newHypervisor func(t *testing.T) compute.Hypervisor) {
	h, id := spawned(t, newHypervisor)
	waitConsole(t, h, id, suiteMarker, 1)
	take := func(name string, power compute.PowerState) {
		t.Helper()
		dst := filepath.Join(t.TempDir(), name+".qcow2")
		if err := h.Snapshot(t.Context(), id, dst); err != nil {
			t.Fatalf("Snapshot %s: %v", name, err)
		}
		data, err := os.ReadFile(dst)
		if err != nil || !bytes.HasPrefix(data, []byte("QFI\xfb")) {
			t.Fatalf("Snapshot %s: not a qcow2 file (%.8q, %v)", name, data, err)
		}
		wantPower(t, h, id, power)
	}
	take("running", compute.PowerRunning)
	if err := h.Stop(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	take("stopped", compute.PowerShutdown)
}

// pauseUnpause: a paused guest is PowerPaused and runs on when unpaused,
// without booting again.
func pauseUnpause(t *testing.T, newHypervisor func(t *testing.T) compute.Hypervisor) {
	h, id := spawned(t, newHypervisor)
	waitConsole(t, h, id, suiteMarker, 1)
	if err := h.Pause(t.Context(), id); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	wantPower(t, h, id, compute.PowerPaused)
	if err := h.Unpause(t.Context(), id); err != nil {
		t.Fatalf("Unpause: %v", err)
	}
	wantPower(t, h, id, compute.PowerRunning)
	if out, _ := h.ConsoleOutput(t.Context(), id); strings.Count(string(out), suiteMarker) != 1 {
		t.Fatalf("Unpause booted the guest again: %q", out)
	}
}

func unknownServers(t *testing.T, h compute.Hypervisor) {
	ctx, id := t.Context(), uuid.NewString()
	for name, call := range map[string]func() error{
		"Start":    func() error { return h.Start(ctx, id) },
		"Stop":     func() error { return h.Stop(ctx, id) },
		"Reboot":   func() error { return h.Reboot(ctx, id, true) },
		"Pause":    func() error { return h.Pause(ctx, id) },
		"Unpause":  func() error { return h.Unpause(ctx, id) },
		"Snapshot": func() error { return h.Snapshot(ctx, id, filepath.Join(t.TempDir(), "snap.qcow2")) },
	} {
		if err := call(); !errors.Is(err, compute.ErrNotFound) {
			t.Errorf("%s of an unknown server: %v, want ErrNotFound", name, err)
		}
	}
	wantPower(t, h, id, compute.PowerNoState)
	if out, err := h.ConsoleOutput(ctx, id); err != nil || len(out) != 0 {
		t.Errorf("ConsoleOutput of an unknown server: %q %v", out, err)
	}
	if err := h.Destroy(ctx, id); err != nil {
		t.Errorf("Destroy of an unknown server: %v", err)
	}
	if _, err := h.ConsoleSocket(ctx, id); !errors.Is(err, compute.ErrNotFound) {
		t.Errorf("ConsoleSocket of an unknown server: %v, want ErrNotFound", err)
	}
}
