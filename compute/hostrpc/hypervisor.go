package hostrpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/google/uuid"

	"imagestack/compute"
	"imagestack/storage"
)

// The compute.Hypervisor methods of an API replica, each a call to the
// server's host.

// do runs a method without a result.
func (h *Hypervisor) do(ctx context.Context, m, id string, args callArgs) error {
	_, err := h.call(ctx, m, id, args)
	return err
}

// absent reports whether err says the server does not exist (no row to
// place it): Destroy, PowerState and ConsoleOutput answer that without
// error, as a local hypervisor does for a server without a VM.
func absent(err error) bool { return errors.Is(err, compute.ErrNotFound) }

// Spawn implements compute.Hypervisor on the server's host: its base,
// kernel and ramdisk as references (or paths) and its config drive's bytes.
func (h *Hypervisor) Spawn(ctx context.Context, spec compute.SpawnSpec) error {
	return h.spawn(ctx, mSpawn, spec)
}

// Rebuild implements compute.Hypervisor (see Spawn).
func (h *Hypervisor) Rebuild(ctx context.Context, spec compute.SpawnSpec) error {
	return h.spawn(ctx, mRebuild, spec)
}

func (h *Hypervisor) spawn(ctx context.Context, m string, spec compute.SpawnSpec) error {
	ws, err := toWire(spec)
	if err != nil {
		return err
	}
	return h.do(ctx, m, spec.ServerID, callArgs{Spec: ws})
}

// toWire is spec as it crosses hosts: its config drive's bytes instead of
// its path.
func toWire(spec compute.SpawnSpec) (*wireSpec, error) {
	if spec.LazyBase != nil {
		return nil, fmt.Errorf("server %s: a lazy base cannot cross hosts (the api role has no LazyBases)", spec.ServerID)
	}
	ws := &wireSpec{SpawnSpec: spec}
	if spec.ConfigDrive != "" {
		data, err := readSmall(spec.ConfigDrive, maxConfigDrive)
		if err != nil {
			return nil, fmt.Errorf("config drive of server %s: %w", spec.ServerID, err)
		}
		ws.ConfigDriveData = data
	}
	return ws, nil
}

// readSmall reads a whole file of at most limit bytes.
func readSmall(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err == nil && int64(len(data)) > limit {
		err = fmt.Errorf("larger than %d bytes", limit)
	}
	return data, err
}

// Start implements compute.Hypervisor.
func (h *Hypervisor) Start(ctx context.Context, id string) error {
	return h.do(ctx, mStart, id, callArgs{})
}

// Stop implements compute.Hypervisor.
func (h *Hypervisor) Stop(ctx context.Context, id string) error {
	return h.do(ctx, mStop, id, callArgs{})
}

// Reboot implements compute.Hypervisor.
func (h *Hypervisor) Reboot(ctx context.Context, id string, hard bool) error {
	return h.do(ctx, mReboot, id, callArgs{Hard: hard})
}

// Pause implements compute.Hypervisor.
func (h *Hypervisor) Pause(ctx context.Context, id string) error {
	return h.do(ctx, mPause, id, callArgs{})
}

// Unpause implements compute.Hypervisor.
func (h *Hypervisor) Unpause(ctx context.Context, id string) error {
	return h.do(ctx, mUnpause, id, callArgs{})
}

// Suspend implements compute.Hypervisor.
func (h *Hypervisor) Suspend(ctx context.Context, id string) error {
	return h.do(ctx, mSuspend, id, callArgs{})
}

// Resume implements compute.Hypervisor.
func (h *Hypervisor) Resume(ctx context.Context, id string) error {
	return h.do(ctx, mResume, id, callArgs{})
}

// Resize implements compute.Hypervisor.
func (h *Hypervisor) Resize(ctx context.Context, id string, spec compute.ResizeSpec) error {
	return h.do(ctx, mResize, id, callArgs{Size: &spec})
}

// ConfirmResize implements compute.Hypervisor.
func (h *Hypervisor) ConfirmResize(ctx context.Context, id string) error {
	return h.do(ctx, mConfirmResize, id, callArgs{})
}

// RevertResize implements compute.Hypervisor.
func (h *Hypervisor) RevertResize(ctx context.Context, id string, old compute.ResizeSpec) error {
	return h.do(ctx, mRevertResize, id, callArgs{Size: &old})
}

// InjectNMI implements compute.Hypervisor.
func (h *Hypervisor) InjectNMI(ctx context.Context, id string) error {
	return h.do(ctx, mInjectNMI, id, callArgs{})
}

// Destroy implements compute.Hypervisor; a server without a row has
// nothing to destroy.
func (h *Hypervisor) Destroy(ctx context.Context, id string) error {
	if err := h.do(ctx, mDestroy, id, callArgs{}); !absent(err) {
		return err
	}
	return nil
}

// PowerState implements compute.Hypervisor.
func (h *Hypervisor) PowerState(ctx context.Context, id string) (compute.PowerState, error) {
	res, err := h.call(ctx, mPower, id, callArgs{})
	if absent(err) {
		return compute.PowerNoState, nil
	}
	return res.Power, err
}

// ConsoleOutput implements compute.Hypervisor.
func (h *Hypervisor) ConsoleOutput(ctx context.Context, id string) ([]byte, error) {
	res, err := h.call(ctx, mConsoleOutput, id, callArgs{})
	if absent(err) {
		return nil, nil
	}
	return res.Output, err
}

// ConsoleSocket implements compute.Hypervisor: the path is on the server's
// host, where only a console proxy of that host can open it.
func (h *Hypervisor) ConsoleSocket(ctx context.Context, id string) (string, error) {
	res, err := h.call(ctx, mConsoleSocket, id, callArgs{})
	return res.Socket, err
}

// Size reports a VM's size (computetest.Sizer), when the host's
// hypervisor can tell it.
func (h *Hypervisor) Size(ctx context.Context, id string) (compute.ResizeSpec, error) {
	res, err := h.call(ctx, mSize, id, callArgs{})
	if err != nil || res.Size == nil {
		return compute.ResizeSpec{}, err
	}
	return *res.Size, nil
}

// DomainName names the server's VM as Config.DomainName does (the server
// id without one).
func (h *Hypervisor) DomainName(id string) string {
	if h.cfg.DomainName == nil {
		return id
	}
	return h.cfg.DomainName(id)
}

// Snapshot implements compute.Hypervisor: the host writes the snapshot to
// the shared blob store under a key of this call, and it is streamed from
// there to dst, then deleted.
func (h *Hypervisor) Snapshot(ctx context.Context, id, dst string) error {
	if h.cfg.Blobs == nil {
		return fmt.Errorf("snapshot of server %s: no blob store to bring it from its host", id)
	}
	key := "hostrpc-snapshot-" + uuid.NewString()
	defer h.dropBlob(context.WithoutCancel(ctx), key)
	if err := h.do(ctx, mSnapshot, id, callArgs{BlobID: key}); err != nil {
		return err
	}
	r, err := h.cfg.Blobs.Get(ctx, key, 0, -1)
	if err != nil {
		return fmt.Errorf("snapshot of server %s from the blob store: %w", id, err)
	}
	defer r.Close()
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	return errors.Join(err, f.Close())
}

// dropBlob deletes a blob that may not exist.
func (h *Hypervisor) dropBlob(ctx context.Context, key string) {
	if err := h.cfg.Blobs.Delete(ctx, key); err != nil && !errors.Is(err, storage.ErrNotFound) {
		h.cfg.Log.Warn("host calls: could not delete a disk in transit", "key", key, "err", err)
	}
}
