package computetest

import (
	"context"
	"fmt"
	"io"
	"slices"

	"imagestack/compute"
)

// The fake's disks: each VM's overlay is a byte string (what the guest
// wrote), carried whole by ExportDisk and ImportDisk.

var _ compute.DiskMover = (*Hypervisor)(nil)

// Disk returns the content of a server's disk overlay here (nil: none).
func (h *Hypervisor) Disk(id string) []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.disks[id])
}

// WriteDisk stands for the guest writing data to its disk.
func (h *Hypervisor) WriteDisk(id string, data []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.disks[id] = slices.Clone(data)
}

// ExportDisk implements compute.DiskMover.
func (h *Hypervisor) ExportDisk(_ context.Context, id string, w io.Writer) error {
	unlock, err := h.lockDomain("export", id)
	if err != nil {
		unlock()
		return err
	}
	if h.domains[id] != compute.PowerShutdown {
		unlock()
		return fmt.Errorf("server %s is not powered off: %w", id, compute.ErrConflict)
	}
	data := slices.Clone(h.disks[id])
	unlock()
	_, err = w.Write(data)
	return err
}

// ImportDisk implements compute.DiskMover.
func (h *Hypervisor) ImportDisk(ctx context.Context, s compute.SpawnSpec, r io.Reader) error {
	if err := h.pass("import", s.ServerID); err != nil {
		return err
	}
	if _, ok := h.Domain(s.ServerID); ok {
		return fmt.Errorf("server %s has a VM here already: %w", s.ServerID, compute.ErrConflict)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := specFiles(s); err != nil {
		return err
	}
	h.mu.Lock()
	h.domains[s.ServerID], h.specs[s.ServerID], h.disks[s.ServerID] = compute.PowerShutdown, s, data
	h.mu.Unlock()
	return h.setPower(s.ServerID, compute.PowerRunning)
}
