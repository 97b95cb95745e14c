package libvirt_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"imagestack/compute/libvirt"
)

// TestDetectVirtType: KVM is chosen only when the probe guest prints under
// it in time; a silent or hanging emulator (nested KVM that never runs a
// guest) means software emulation, decided within seconds.
func TestDetectVirtType(t *testing.T) {
	device := filepath.Join(t.TempDir(), "kvm") // the probe runs only when it exists
	if err := os.WriteFile(device, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct{ script, want string }{
		"prints":  {"#!/bin/sh\nprintf K\n", "kvm"},
		"partial": {"#!/bin/sh\necho \"qemu: warning: host doesn't support requested feature: CPUID.01H:ECX.pni\" >&2\nprintf K\n", "qemu"},
		"silent":  {"#!/bin/sh\nexit 0\n", "qemu"},
		"hangs":   {"#!/bin/sh\nexec sleep 60\n", "qemu"},
		"missing": {"", "qemu"},
	} {
		emu := filepath.Join(t.TempDir(), "qemu")
		if c.script != "" {
			if err := os.WriteFile(emu, []byte(c.script), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		if got := libvirt.DetectVirtTypeWith(t.Context(), emu, device); got != c.want {
			t.Errorf("%s: %s, want %s", name, got, c.want)
		}
		if d := time.Since(start); d > 8*time.Second {
			t.Errorf("%s: took %v", name, d)
		}
	}
}

// TestNoKVMDeviceMeansEmulation: without the device the emulator is never
// asked, even one that would print.
func TestNoKVMDeviceMeansEmulation(t *testing.T) {
	emu := filepath.Join(t.TempDir(), "qemu")
	if err := os.WriteFile(emu, []byte("#!/bin/sh\nprintf K\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := libvirt.DetectVirtTypeWith(t.Context(), emu, filepath.Join(t.TempDir(), "absent")); got != "qemu" {
		t.Fatalf("no KVM device: %s, want qemu", got)
	}
}
