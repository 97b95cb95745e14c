package hostrpc

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/google/uuid"

	"imagestack/compute"
	"imagestack/storage"
)

// A server's disk overlay moves between hosts (cold migration, resize to
// another host) through the shared blob store under a temporary key: the
// source host streams it there, the destination streams it from there.

// Method names of the disk moves.
const (
	mExportDisk = "export_disk"
	mImportDisk = "import_disk"
)

var _ compute.DiskMover = (*Hypervisor)(nil)

// ExportDisk implements compute.DiskMover on the server's host.
func (h *Hypervisor) ExportDisk(ctx context.Context, id string, w io.Writer) error {
	key, err := h.transitKey(id)
	if err != nil {
		return err
	}
	defer h.dropBlob(context.WithoutCancel(ctx), key)
	if err := h.do(ctx, mExportDisk, id, callArgs{BlobID: key}); err != nil {
		return err
	}
	r, err := h.cfg.Blobs.Get(ctx, key, 0, -1)
	if err != nil {
		return fmt.Errorf("disk of server %s from the blob store: %w", id, err)
	}
	defer r.Close()
	_, err = io.Copy(w, r)
	return err
}

// ImportDisk implements compute.DiskMover on the host spec's server is
// placed on (its base a reference the host resolves in its own cache).
func (h *Hypervisor) ImportDisk(ctx context.Context, spec compute.SpawnSpec, r io.Reader) error {
	key, err := h.transitKey(spec.ServerID)
	if err != nil {
		return err
	}
	defer h.dropBlob(context.WithoutCancel(ctx), key)
	ws, err := toWire(spec)
	if err != nil {
		return err
	}
	if _, err := h.cfg.Blobs.Put(ctx, key, r); err != nil {
		return fmt.Errorf("disk of server %s to the blob store: %w", spec.ServerID, err)
	}
	return h.do(ctx, mImportDisk, spec.ServerID, callArgs{Spec: ws, BlobID: key})
}

// transitKey is a new blob key for a disk on its way between hosts.
func (h *Hypervisor) transitKey(id string) (string, error) {
	if h.cfg.Blobs == nil {
		return "", fmt.Errorf("disk of server %s: no blob store to move it through", id)
	}
	return "hostrpc-disk-" + uuid.NewString(), nil
}

// diskMover is this host's hypervisor as a compute.DiskMover.
func (a *Agent) diskMover(id string) (compute.DiskMover, error) {
	dm, ok := a.hv.(compute.DiskMover)
	switch {
	case !ok:
		return nil, compute.Errorf(compute.ErrConflict, "The hypervisor of this host cannot move the disk of server %s.", id)
	case a.cfg.Blobs == nil:
		return nil, fmt.Errorf("disk of server %s: this host has no blob store to move it through", id)
	}
	return dm, nil
}

// exportDisk streams the server's overlay into the blob key of the call.
func (a *Agent) exportDisk(ctx context.Context, row callRow, args callArgs) (callResult, error) {
	dm, err := a.diskMover(row.ServerID)
	if err != nil || !storage.ValidKey(args.BlobID) {
		return callResult{}, errors.Join(err, keyError(args.BlobID))
	}
	pr, pw := io.Pipe()
	exported := make(chan error, 1)
	go func() {
		err := dm.ExportDisk(ctx, row.ServerID, pw)
		pw.CloseWithError(err)
		exported <- err
	}()
	_, err = a.cfg.Blobs.Put(ctx, args.BlobID, pr)
	pr.CloseWithError(err) // the exporter stops if the store failed
	if xerr := <-exported; xerr != nil {
		return callResult{}, xerr
	}
	return callResult{}, err
}

// importDisk makes the overlay at the call's blob key the server's disk
// here and boots it, as a spawn does with a fresh one.
func (a *Agent) importDisk(ctx context.Context, row callRow, args callArgs) (callResult, error) {
	dm, err := a.diskMover(row.ServerID)
	if err != nil || !storage.ValidKey(args.BlobID) {
		return callResult{}, errors.Join(err, keyError(args.BlobID))
	}
	r, err := a.cfg.Blobs.Get(ctx, args.BlobID, 0, -1)
	if err != nil {
		return callResult{}, fmt.Errorf("disk of server %s from the blob store: %w", row.ServerID, err)
	}
	defer r.Close()
	return a.spawn(ctx, args, func(ctx context.Context, spec compute.SpawnSpec) error { return dm.ImportDisk(ctx, spec, r) })
}

// keyError is an error for a blob key a call may not name, nil otherwise.
func keyError(key string) error {
	if storage.ValidKey(key) {
		return nil
	}
	return fmt.Errorf("bad blob key %q", key)
}
