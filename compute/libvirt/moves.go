package libvirt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	golibvirt "github.com/digitalocean/go-libvirt"

	"imagestack/compute"
)

// Disks moving between hosts (cold migration, resize to another host):
// the overlay file travels as it is, a stream of its own clusters; the
// importing host points its header at the base in its own cache (an
// unsafe rebase: the base is the same image, verified by the cache) and
// grows it to the new flavor's disk.

var _ compute.DiskMover = (*Driver)(nil)

// ExportDisk implements compute.DiskMover.
func (d *Driver) ExportDisk(ctx context.Context, serverID string, w io.Writer) error {
	_, _, state, err := d.lookupState(serverID)
	if err != nil {
		return err
	}
	if state != golibvirt.DomainShutoff {
		return fmt.Errorf("server %s is not powered off: %w", serverID, compute.ErrConflict)
	}
	return exportOverlay(ctx, d.diskPath(serverID), w)
}

// exportOverlay copies the overlay file at path to w.
func exportOverlay(ctx context.Context, path string, w io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, ctxReader{ctx, f})
	return err
}

// ctxReader stops a copy once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// ImportDisk implements compute.DiskMover.
func (d *Driver) ImportDisk(ctx context.Context, spec compute.SpawnSpec, r io.Reader) (err error) {
	switch _, _, lerr := d.lookup(spec.ServerID); {
	case lerr == nil:
		return fmt.Errorf("server %s has a VM here already: %w", spec.ServerID, compute.ErrConflict)
	case !errors.Is(lerr, compute.ErrNotFound):
		return lerr
	}
	defer func() {
		if err != nil {
			_ = d.Destroy(context.WithoutCancel(ctx), spec.ServerID)
		}
	}()
	if err := d.importOverlay(ctx, spec, r); err != nil {
		return err
	}
	return d.defineAndStart(spec)
}

// importOverlay writes the overlay read from r as the server's disk, over
// spec's base, at least spec.RootGB GiB. An overlay naming an external
// data file is refused (it would read another file of this host).
func (d *Driver) importOverlay(ctx context.Context, spec compute.SpawnSpec, r io.Reader) error {
	base, err := imageInfo(ctx, spec.BaseImage, spec.BaseFormat)
	if err != nil {
		return err
	}
	if err := base.fits(spec.RootGB); err != nil {
		return err
	}
	if err := os.MkdirAll(d.serverDir(spec.ServerID), 0o750); err != nil {
		return err
	}
	path := d.diskPath(spec.ServerID)
	if err := writeFile(path+".part", ctxReader{ctx, r}); err != nil {
		return err
	}
	if err := os.Rename(path+".part", path); err != nil {
		return err
	}
	info, err := imageInfo(ctx, path, "qcow2")
	if err != nil {
		return err
	}
	if info.FormatSpecific.Data.DataFile != "" {
		return fmt.Errorf("the disk received refers to an external data file (%s)", info.FormatSpecific.Data.DataFile)
	}
	if err := qemuImgRun(ctx, "rebase", "-q", "-u", "-f", "qcow2", "-b", spec.BaseImage, "-F", spec.BaseFormat, path); err != nil {
		return err
	}
	if size := int64(spec.RootGB) * gibibyte; size > info.VirtualSize {
		return qemuImgRun(ctx, "resize", "-q", "-f", "qcow2", path, fmt.Sprint(size))
	}
	return nil
}

// writeFile writes r to a new file at path.
func writeFile(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func qemuImgRun(ctx context.Context, args ...string) error {
	if out, err := exec.CommandContext(ctx, "qemu-img", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("qemu-img %s: %v: %s", args[0], err, strings.TrimSpace(string(out)))
	}
	return nil
}
