package libvirt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	golibvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"imagestack/compute"
)

// Suspend implements compute.Hypervisor with libvirt's managed save: the
// guest's memory goes to a file libvirt keeps beside the domain, and the
// domain is shut off until the next start restores it.
func (d *Driver) Suspend(ctx context.Context, serverID string) error {
	l, dom, err := d.lookup(serverID)
	if err != nil {
		return err
	}
	if err := l.DomainManagedSave(dom, 0); err != nil {
		return fmt.Errorf("managed save: %w", err)
	}
	return nil
}

// Resume implements compute.Hypervisor: starting a domain that has a
// managed save image restores it instead of booting.
func (d *Driver) Resume(ctx context.Context, serverID string) error {
	l, dom, err := d.lookup(serverID)
	if err != nil {
		return err
	}
	if err := l.DomainCreate(dom); err != nil {
		return fmt.Errorf("restore domain: %w", err)
	}
	return nil
}

// InjectNMI implements compute.Hypervisor.
func (d *Driver) InjectNMI(ctx context.Context, serverID string) error {
	l, dom, err := d.lookup(serverID)
	if err != nil {
		return err
	}
	if state, _, err := l.DomainGetState(dom, 0); err != nil {
		return err
	} else if golibvirt.DomainState(state) != golibvirt.DomainRunning {
		return fmt.Errorf("server %s is not running: %w", serverID, compute.ErrConflict)
	}
	return l.DomainInjectNmi(dom, 0)
}

// resizeCopyPath is where Resize keeps the disk as it was until the resize
// is confirmed or reverted (Nova keeps the old instance directory as
// <uuid>_resize): in the server's directory, so Destroy removes it too.
func (d *Driver) resizeCopyPath(id string) string {
	return filepath.Join(d.serverDir(id), "disk.qcow2.resize")
}

// Resize implements compute.Hypervisor: the overlay is copied, grown with
// qemu-img, and the domain redefined with the new vCPUs and memory.
func (d *Driver) Resize(ctx context.Context, serverID string, spec compute.ResizeSpec) error {
	if _, _, err := d.lookup(serverID); err != nil {
		return err
	}
	info, err := imageInfo(ctx, d.diskPath(serverID), "qcow2")
	if err != nil {
		return err
	}
	if spec.RootGB > 0 && int64(spec.RootGB)*gibibyte < info.VirtualSize { // 0: the disk keeps its size
		return fmt.Errorf("the disk of server %s (%d bytes) cannot shrink to %d GiB", serverID, info.VirtualSize, spec.RootGB)
	}
	return d.whileOff(serverID, func(l *golibvirt.Libvirt, dom golibvirt.Domain) error {
		if err := copyFile(d.diskPath(serverID), d.resizeCopyPath(serverID)); err != nil {
			return fmt.Errorf("keep the disk for a revert: %w", err)
		}
		if spec.RootGB > 0 && int64(spec.RootGB)*gibibyte > info.VirtualSize {
			out, err := exec.CommandContext(ctx, "qemu-img", "resize", "-q", "-f", "qcow2", d.diskPath(serverID), fmt.Sprintf("%dG", spec.RootGB)).CombinedOutput()
			if err != nil {
				return fmt.Errorf("qemu-img resize: %v: %s", err, strings.TrimSpace(string(out)))
			}
		}
		return redefineSize(l, dom, spec)
	})
}

// ConfirmResize implements compute.Hypervisor.
func (d *Driver) ConfirmResize(ctx context.Context, serverID string) error {
	if _, _, err := d.lookup(serverID); err != nil {
		return err
	}
	if err := os.Remove(d.resizeCopyPath(serverID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// RevertResize implements compute.Hypervisor.
func (d *Driver) RevertResize(ctx context.Context, serverID string, old compute.ResizeSpec) error {
	if _, _, err := d.lookup(serverID); err != nil {
		return err
	}
	if _, err := os.Stat(d.resizeCopyPath(serverID)); err != nil {
		return fmt.Errorf("no disk kept by a resize of server %s: %w", serverID, err)
	}
	return d.whileOff(serverID, func(l *golibvirt.Libvirt, dom golibvirt.Domain) error {
		if err := os.Rename(d.resizeCopyPath(serverID), d.diskPath(serverID)); err != nil {
			return err
		}
		return redefineSize(l, dom, old)
	})
}

// whileOff runs change on a server's domain powered off, and boots the
// domain again afterwards if it was running (even when change failed: the
// VM is then as it was).
func (d *Driver) whileOff(serverID string, change func(*golibvirt.Libvirt, golibvirt.Domain) error) error {
	l, dom, state, err := d.lookupState(serverID)
	if err != nil {
		return err
	}
	running := state != golibvirt.DomainShutoff
	if running {
		if err := l.DomainDestroyFlags(dom, golibvirt.DomainDestroyDefault); err != nil {
			return fmt.Errorf("stop domain: %w", err)
		}
	}
	err = change(l, dom)
	if running {
		if serr := l.DomainCreate(dom); serr != nil && err == nil {
			err = fmt.Errorf("start domain: %w", serr)
		}
	}
	return err
}

// redefineSize gives a stopped domain's persistent definition new memory
// and vCPUs.
func redefineSize(l *golibvirt.Libvirt, dom golibvirt.Domain, spec compute.ResizeSpec) error {
	x, err := l.DomainGetXMLDesc(dom, golibvirt.DomainXMLInactive|golibvirt.DomainXMLSecure)
	if err != nil {
		return err
	}
	var def libvirtxml.Domain
	if err := def.Unmarshal(x); err != nil {
		return err
	}
	def.Memory = &libvirtxml.DomainMemory{Value: uint(spec.MemoryMiB), Unit: "MiB"}
	def.CurrentMemory = &libvirtxml.DomainCurrentMemory{Value: uint(spec.MemoryMiB), Unit: "MiB"}
	def.VCPU = &libvirtxml.DomainVCPU{Value: uint(spec.VCPUs)}
	out, err := def.Marshal()
	if err != nil {
		return err
	}
	if _, err := l.DomainDefineXML(out); err != nil {
		return fmt.Errorf("redefine domain: %w", err)
	}
	return nil
}

// copyFile copies src to dst (a new file).
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	return out.Close()
}

// Size reports the vCPUs and memory of a server's defined domain and the
// virtual size of its disk (in whole GiB), for tests that check a resize.
func (d *Driver) Size(ctx context.Context, serverID string) (compute.ResizeSpec, error) {
	l, dom, err := d.lookup(serverID)
	if err != nil {
		return compute.ResizeSpec{}, err
	}
	x, err := l.DomainGetXMLDesc(dom, golibvirt.DomainXMLInactive)
	if err != nil {
		return compute.ResizeSpec{}, err
	}
	var def libvirtxml.Domain
	if err := def.Unmarshal(x); err != nil || def.Memory == nil || def.VCPU == nil {
		return compute.ResizeSpec{}, fmt.Errorf("domain of server %s: no memory or vcpu (%v)", serverID, err)
	}
	info, err := imageInfo(ctx, d.diskPath(serverID), "qcow2")
	if err != nil {
		return compute.ResizeSpec{}, err
	}
	return compute.ResizeSpec{MemoryMiB: int(memoryKiB(def.Memory) / 1024), VCPUs: int(def.VCPU.Value), RootGB: int(info.VirtualSize / gibibyte)}, nil
}

// memoryKiB reads a domain's memory in KiB, whatever unit it was given in.
func memoryKiB(m *libvirtxml.DomainMemory) uint64 {
	v := uint64(m.Value)
	switch m.Unit {
	case "", "KiB", "k", "K":
		return v
	case "MiB", "M":
		return v * 1024
	case "GiB", "G":
		return v * 1024 * 1024
	case "b", "bytes":
		return v / 1024
	}
	return v
}

const gibibyte = int64(1) << 30
