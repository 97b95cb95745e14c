package computetest

import (
	"context"
	"fmt"

	"imagestack/compute"
)

// lifecycle is what the fake keeps of suspends and resizes.
type lifecycle struct {
	saved map[string]bool               // suspended: memory saved, guest resumes without a boot
	kept  map[string]compute.ResizeSpec // the size before a resize not yet confirmed or reverted
	nmis  map[string]int                // NMIs injected
}

// Size reports the size a server's VM has (from its spec and resizes).
func (h *Hypervisor) Size(_ context.Context, id string) (compute.ResizeSpec, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.domains[id]; !ok {
		return compute.ResizeSpec{}, fmt.Errorf("domain of server %s: %w", id, compute.ErrNotFound)
	}
	s := h.specs[id]
	return compute.ResizeSpec{MemoryMiB: s.MemoryMiB, VCPUs: s.VCPUs, RootGB: s.RootGB}, nil
}

// NMIs returns how many NMIs were injected into a server's VM.
func (h *Hypervisor) NMIs(id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.life.nmis[id]
}

// Suspend implements compute.Hypervisor.
func (h *Hypervisor) Suspend(_ context.Context, id string) error {
	if err := h.pass("suspend", id); err != nil {
		return err
	}
	if err := h.setPower(id, compute.PowerShutdown); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.life.saved == nil {
		h.life.saved = map[string]bool{}
	}
	h.life.saved[id] = true
	return nil
}

// Resume implements compute.Hypervisor: a suspended guest runs on without
// a boot; another one boots.
func (h *Hypervisor) Resume(ctx context.Context, id string) error {
	if err := h.pass("resume", id); err != nil {
		return err
	}
	h.mu.Lock()
	_, ok := h.domains[id]
	saved := h.life.saved[id]
	delete(h.life.saved, id)
	if ok && saved {
		h.domains[id] = compute.PowerRunning
	}
	h.mu.Unlock()
	if ok && saved {
		return nil
	}
	return h.setPower(id, compute.PowerRunning)
}

// Resize implements compute.Hypervisor.
func (h *Hypervisor) Resize(_ context.Context, id string, spec compute.ResizeSpec) error {
	unlock, err := h.lockDomain("resize", id)
	defer unlock()
	if err != nil {
		return err
	}
	s := h.specs[id]
	if spec.RootGB < s.RootGB {
		return fmt.Errorf("the disk of server %s (%d GiB) cannot shrink to %d GiB", id, s.RootGB, spec.RootGB)
	}
	if h.life.kept == nil {
		h.life.kept = map[string]compute.ResizeSpec{}
	}
	h.life.kept[id] = compute.ResizeSpec{MemoryMiB: s.MemoryMiB, VCPUs: s.VCPUs, RootGB: s.RootGB}
	s.MemoryMiB, s.VCPUs, s.RootGB = spec.MemoryMiB, spec.VCPUs, spec.RootGB
	h.specs[id] = s
	h.rebootLocked(id)
	return nil
}

// ConfirmResize implements compute.Hypervisor.
func (h *Hypervisor) ConfirmResize(_ context.Context, id string) error {
	unlock, err := h.lockDomain("confirm_resize", id)
	defer unlock()
	if err != nil {
		return err
	}
	delete(h.life.kept, id)
	return nil
}

// RevertResize implements compute.Hypervisor: the disk size comes back
// from the copy kept, the memory and vCPUs from old.
func (h *Hypervisor) RevertResize(_ context.Context, id string, old compute.ResizeSpec) error {
	unlock, err := h.lockDomain("revert_resize", id)
	defer unlock()
	if err != nil {
		return err
	}
	kept, ok := h.life.kept[id]
	if !ok {
		return fmt.Errorf("no disk kept by a resize of server %s", id)
	}
	delete(h.life.kept, id)
	s := h.specs[id]
	s.MemoryMiB, s.VCPUs, s.RootGB = old.MemoryMiB, old.VCPUs, kept.RootGB
	h.specs[id] = s
	h.rebootLocked(id)
	return nil
}

// InjectNMI implements compute.Hypervisor.
func (h *Hypervisor) InjectNMI(_ context.Context, id string) error {
	unlock, err := h.lockDomain("nmi", id)
	defer unlock()
	if err != nil {
		return err
	}
	if h.domains[id] != compute.PowerRunning {
		return fmt.Errorf("server %s is not running: %w", id, compute.ErrConflict)
	}
	if h.life.nmis == nil {
		h.life.nmis = map[string]int{}
	}
	h.life.nmis[id]++
	return nil
}

// rebootLocked boots a running VM's guest again, as a power cycle does
// (h.mu held).
func (h *Hypervisor) rebootLocked(id string) {
	if h.domains[id] == compute.PowerRunning {
		h.console[id] = append(h.console[id], guestOutput(h.specs[id].BaseImage)...)
	}
}

// lockDomain passes op's gate, then holds h.mu (until unlock) and fails
// like libvirt when the server has no domain.
func (h *Hypervisor) lockDomain(op, id string) (unlock func(), err error) {
	if err := h.pass(op, id); err != nil {
		return func() {}, err
	}
	h.mu.Lock()
	if _, ok := h.domains[id]; !ok {
		return h.mu.Unlock, fmt.Errorf("domain of server %s: %w", id, compute.ErrNotFound)
	}
	return h.mu.Unlock, nil
}
