package computetest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"imagestack/compute"
)

// Sizer is implemented by hypervisors that can say what size a VM has
// (its defined vCPUs and memory, its disk's virtual size): the suite's
// resize checks need it.
type Sizer interface {
	Size(ctx context.Context, serverID string) (compute.ResizeSpec, error)
}

// lifecycleSuite checks Suspend, Resume, Resize, ConfirmResize,
// RevertResize and InjectNMI.
func lifecycleSuite(t *testing.T, newHypervisor func(t *testing.T) compute.Hypervisor) {
	t.Run("Suspend and Resume", func(t *testing.T) { suspendResume(t, newHypervisor) })
	t.Run("Resize and RevertResize", func(t *testing.T) { resizeRevert(t, newHypervisor) })
	t.Run("Resize and ConfirmResize", func(t *testing.T) { resizeConfirm(t, newHypervisor) })
	t.Run("InjectNMI", func(t *testing.T) {
		h, id := spawned(t, newHypervisor)
		if err := h.InjectNMI(t.Context(), id); err != nil {
			t.Fatalf("InjectNMI: %v", err)
		}
		if err := h.Stop(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		if err := h.InjectNMI(t.Context(), id); !errors.Is(err, compute.ErrConflict) {
			t.Fatalf("InjectNMI of a stopped VM: %v, want ErrConflict", err)
		}
	})
	t.Run("Lifecycle calls on unknown servers", func(t *testing.T) {
		h, ctx, id := newHypervisor(t), t.Context(), uuid.NewString()
		spec := compute.ResizeSpec{MemoryMiB: 64, VCPUs: 1, RootGB: 2}
		for name, call := range map[string]func() error{
			"Suspend":       func() error { return h.Suspend(ctx, id) },
			"Resume":        func() error { return h.Resume(ctx, id) },
			"Resize":        func() error { return h.Resize(ctx, id, spec) },
			"ConfirmResize": func() error { return h.ConfirmResize(ctx, id) },
			"RevertResize":  func() error { return h.RevertResize(ctx, id, spec) },
			"InjectNMI":     func() error { return h.InjectNMI(ctx, id) },
		} {
			if err := call(); !errors.Is(err, compute.ErrNotFound) {
				t.Errorf("%s of an unknown server: %v, want ErrNotFound", name, err)
			}
		}
	})
}

// suspendResume: a suspended VM is powered off (memory saved) and runs on
// when resumed, without booting again.
func suspendResume(t *testing.T, newHypervisor func(t *testing.T) compute.Hypervisor) {
	h, id := spawned(t, newHypervisor)
	waitConsole(t, h, id, suiteMarker, 1)
	if err := h.Suspend(t.Context(), id); err != nil {
		t.Fatalf("Suspend: %v", err)
	}
	wantPower(t, h, id, compute.PowerShutdown)
	if err := h.Resume(t.Context(), id); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	wantPower(t, h, id, compute.PowerRunning)
	if out, _ := h.ConsoleOutput(t.Context(), id); strings.Count(string(out), suiteMarker) != 1 {
		t.Fatalf("Resume booted the guest again: %q", out)
	}
}

var (
	suiteSize   = compute.ResizeSpec{MemoryMiB: 32, VCPUs: 1, RootGB: 1} // suiteSpec's
	resizedSize = compute.ResizeSpec{MemoryMiB: 64, VCPUs: 2, RootGB: 2}
)

func wantSize(t *testing.T, h compute.Hypervisor, id string, want compute.ResizeSpec) {
	t.Helper()
	sz, ok := h.(Sizer)
	if !ok {
		t.Fatalf("%T does not implement computetest.Sizer", h)
	}
	got, err := sz.Size(t.Context(), id)
	if err != nil || got != want {
		t.Fatalf("Size: %+v %v, want %+v", got, err, want)
	}
}

// resizeRevert: a running VM resized boots again with the new size; a
// revert brings the old size and disk back; a disk never shrinks.
func resizeRevert(t *testing.T, newHypervisor func(t *testing.T) compute.Hypervisor) {
	h, id := spawned(t, newHypervisor)
	waitConsole(t, h, id, suiteMarker, 1)
	wantSize(t, h, id, suiteSize)
	if err := h.Resize(t.Context(), id, resizedSize); err != nil {
		t.Fatalf("Resize: %v", err)
	}
	wantPower(t, h, id, compute.PowerRunning)
	wantSize(t, h, id, resizedSize)
	waitConsole(t, h, id, suiteMarker, 2)
	if err := h.RevertResize(t.Context(), id, suiteSize); err != nil {
		t.Fatalf("RevertResize: %v", err)
	}
	wantPower(t, h, id, compute.PowerRunning)
	wantSize(t, h, id, suiteSize)
	waitConsole(t, h, id, suiteMarker, 3)
	if err := h.RevertResize(t.Context(), id, suiteSize); err == nil {
		t.Fatal("a second RevertResize succeeded without a kept disk")
	}
	wantSize(t, h, id, suiteSize)
}

// resizeConfirm: a stopped VM resized stays stopped; after a confirm
// nothing is left to revert to; shrinking the disk fails and changes nothing.
func resizeConfirm(t *testing.T, newHypervisor func(t *testing.T) compute.Hypervisor) {
	h, id := spawned(t, newHypervisor)
	if err := h.Stop(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if err := h.Resize(t.Context(), id, resizedSize); err != nil {
		t.Fatalf("Resize of a stopped VM: %v", err)
	}
	wantPower(t, h, id, compute.PowerShutdown)
	wantSize(t, h, id, resizedSize)
	if err := h.ConfirmResize(t.Context(), id); err != nil {
		t.Fatalf("ConfirmResize: %v", err)
	}
	if err := h.RevertResize(t.Context(), id, suiteSize); err == nil {
		t.Fatal("RevertResize after ConfirmResize succeeded")
	}
	wantSize(t, h, id, resizedSize)
	if err := h.Resize(t.Context(), id, suiteSize); err == nil {
		t.Fatal("Resize to a smaller disk succeeded")
	}
	wantSize(t, h, id, resizedSize)
	if err := h.Start(t.Context(), id); err != nil {
		t.Fatalf("Start after the resize: %v", err)
	}
	wantPower(t, h, id, compute.PowerRunning)
}
