package hostrpc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"imagestack/compute"
	"imagestack/storage"
)

// The agent's methods that turn what crossed hosts into files of this
// host: image references, config drives, snapshots.

// spawn runs Spawn or Rebuild (do) on a spec made local: its images
// resolved in the host's cache, its config drive written here. A failed
// spawn leaves no config drive behind.
func (a *Agent) spawn(ctx context.Context, args callArgs, do func(context.Context, compute.SpawnSpec) error) (callResult, error) {
	if args.Spec == nil {
		return callResult{}, errors.New("spawn without a spec")
	}
	spec := args.Spec.SpawnSpec
	for _, p := range []*string{&spec.BaseImage, &spec.Kernel, &spec.Ramdisk} {
		if err := a.resolve(ctx, p); err != nil {
			return callResult{}, fmt.Errorf("server %s: %w", spec.ServerID, err)
		}
	}
	if spec.ConfigDrive != "" {
		path, err := a.writeConfigDrive(spec.ServerID, args.Spec.ConfigDriveData)
		if err != nil {
			return callResult{}, err
		}
		spec.ConfigDrive = path
	}
	err := do(ctx, spec)
	if err != nil {
		a.removeConfigDrive(spec.ServerID)
	}
	return callResult{}, err
}

// resolve replaces an image reference in *p by the image's local path.
func (a *Agent) resolve(ctx context.Context, p *string) error {
	id, sum, ok, err := parseRef(*p)
	if err != nil || !ok {
		return err
	}
	if a.cfg.Resolve == nil {
		return fmt.Errorf("image %s: this host resolves no image references", id)
	}
	path, err := a.cfg.Resolve(ctx, id, sum)
	if err != nil {
		return fmt.Errorf("image %s: %w", id, err)
	}
	*p = path
	return nil
}

// configDrivePath is where the host keeps a server's config drive.
func (a *Agent) configDrivePath(id string) string {
	return filepath.Join(a.cfg.Dir, "config-drives", id+".iso")
}

// writeConfigDrive writes a server's config drive whole or not at all: a
// rebuild's new drive replaces the old one in one rename.
func (a *Agent) writeConfigDrive(id string, data []byte) (string, error) {
	path := a.configDrivePath(id)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	tmp := path + ".part"
	err := os.WriteFile(tmp, data, 0o600)
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("config drive of server %s: %w", id, err)
	}
	return path, nil
}

func (a *Agent) removeConfigDrive(id string) {
	if err := os.Remove(a.configDrivePath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		a.cfg.Log.Warn("host calls: could not remove a config drive", "server", id, "err", err)
	}
}

// destroy destroys the VM, then the config drive the host kept for it.
func (a *Agent) destroy(ctx context.Context, row callRow, _ callArgs) (callResult, error) {
	if err := a.hv.Destroy(ctx, row.ServerID); err != nil {
		return callResult{}, err
	}
	a.removeConfigDrive(row.ServerID)
	return callResult{}, nil
}

// snapshot writes the snapshot to a file of this host and streams it to
// the blob store under the key the caller chose.
func (a *Agent) snapshot(ctx context.Context, row callRow, args callArgs) (callResult, error) {
	if a.cfg.Blobs == nil {
		return callResult{}, fmt.Errorf("snapshot of server %s: this host has no blob store to send it through", row.ServerID)
	}
	if !storage.ValidKey(args.BlobID) {
		return callResult{}, fmt.Errorf("snapshot of server %s: bad blob key %q", row.ServerID, args.BlobID)
	}
	dir := filepath.Join(a.cfg.Dir, "snapshots")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return callResult{}, err
	}
	tmp := filepath.Join(dir, args.BlobID+".qcow2")
	defer os.Remove(tmp)
	if err := a.hv.Snapshot(ctx, row.ServerID, tmp); err != nil {
		return callResult{}, err
	}
	f, err := os.Open(tmp)
	if err != nil {
		return callResult{}, err
	}
	defer f.Close()
	if _, err := a.cfg.Blobs.Put(ctx, args.BlobID, f); err != nil {
		return callResult{}, fmt.Errorf("snapshot of server %s to the blob store: %w", row.ServerID, err)
	}
	return callResult{}, nil
}

// sizer is a hypervisor that tells a VM's size (computetest.Sizer).
type sizer interface {
	Size(ctx context.Context, serverID string) (compute.ResizeSpec, error)
}

func (a *Agent) size(ctx context.Context, row callRow, _ callArgs) (callResult, error) {
	s, ok := a.hv.(sizer)
	if !ok {
		return callResult{}, compute.Errorf(compute.ErrBadRequest, "The hypervisor of host %s does not tell sizes.", a.cfg.Member.Host)
	}
	size, err := s.Size(ctx, row.ServerID)
	return callResult{Size: &size}, err
}
