// Package libvirt runs servers as libvirt/QEMU domains through the libvirt
// RPC protocol (digitalocean/go-libvirt) with domain XML built by libvirtxml.
// Each server gets a directory with a qcow2 overlay over a cached base image
// and a serial console log; the domain is named after the server id.
package libvirt

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	golibvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"imagestack/compute"
)

// Config selects the libvirt connection and where server files live.
type Config struct {
	URI      string // e.g. qemu:///system
	VirtType string // kvm or qemu (software emulation)
	Dir      string // per-server directories are created below it
}

// Driver implements compute.Hypervisor.
type Driver struct {
	cfg  Config
	mu   sync.Mutex // guards l (reconnects)
	l    *golibvirt.Libvirt
	qemu string // emulator binary
}

var _ compute.Hypervisor = (*Driver)(nil)

// domainPrefix marks the domains this service owns.
const domainPrefix = "imagestack-"

// New connects to libvirt.
func New(cfg Config) (*Driver, error) {
	if cfg.VirtType != "kvm" && cfg.VirtType != "qemu" {
		return nil, fmt.Errorf("libvirt: virt_type must be kvm or qemu, not %q", cfg.VirtType)
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, err
	}
	d := &Driver{cfg: cfg}
	if _, err := d.conn(); err != nil {
		return nil, err
	}
	d.qemu = "/usr/bin/qemu-system-x86_64"
	return d, nil
}

// conn returns a live connection, reconnecting after a libvirtd restart.
func (d *Driver) conn() (*golibvirt.Libvirt, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.l != nil && d.l.IsConnected() {
		return d.l, nil
	}
	u, err := url.Parse(d.cfg.URI)
	if err != nil {
		return nil, fmt.Errorf("libvirt URI %q: %w", d.cfg.URI, err)
	}
	l, err := golibvirt.ConnectToURI(u)
	if err != nil {
		return nil, fmt.Errorf("%w: libvirt at %s: %v", compute.ErrUnavailable, d.cfg.URI, err)
	}
	d.l = l
	return l, nil
}

// Close disconnects from libvirt.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.l != nil {
		return d.l.Disconnect()
	}
	return nil
}

func domainName(serverID string) string      { return domainPrefix + serverID }
func (d *Driver) serverDir(id string) string { return filepath.Join(d.cfg.Dir, id) }
func (d *Driver) diskPath(id string) string  { return filepath.Join(d.serverDir(id), "disk.qcow2") }

// ConsolePath is where a server's serial console is logged.
func (d *Driver) ConsolePath(id string) string { return filepath.Join(d.serverDir(id), "console.log") }

// DiskPath is the server's root disk (an overlay over its base image).
func (d *Driver) DiskPath(id string) string { return d.diskPath(id) }

// CreateDisk makes the server's qcow2 overlay over base, of rootGB GiB (0:
// the base's own size, at most compute.MaxZeroDiskGB). The base's virtual
// size is read from the file itself (qemu-img, format given, never
// probed), since what the image service recorded may be wrong; a base that
// does not fit is refused before anything is created, as is one that
// refers to other files (a backing or external data file).
func (d *Driver) CreateDisk(ctx context.Context, id, base, baseFormat string, rootGB int) error {
	info, err := imageInfo(ctx, base, baseFormat)
	if err != nil {
		return err
	}
	if err := info.fits(rootGB); err != nil {
		return err
	}
	if err := os.MkdirAll(d.serverDir(id), 0o750); err != nil {
		return err
	}
	args := []string{"create", "-q", "-f", "qcow2", "-b", base, "-F", baseFormat, d.diskPath(id)}
	if rootGB > 0 {
		args = append(args, fmt.Sprintf("%dG", rootGB))
	}
	if out, err := exec.CommandContext(ctx, "qemu-img", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("qemu-img create: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// domainXML builds the domain definition.
func (d *Driver) domainXML(spec compute.SpawnSpec) (string, error) {
	dom := &libvirtxml.Domain{
		Type: d.cfg.VirtType,
		Name: domainName(spec.ServerID),
		UUID: spec.ServerID,
		Metadata: &libvirtxml.DomainMetadata{
			XML: fmt.Sprintf(`<imagestack:server xmlns:imagestack="https://imagestack.local/xmlns/server/1" name=%q/>`, xmlEscape(spec.Name)),
		},
		Memory: &libvirtxml.DomainMemory{Value: uint(spec.MemoryMiB), Unit: "MiB"},
		VCPU:   &libvirtxml.DomainVCPU{Value: uint(spec.VCPUs)},
		OS: &libvirtxml.DomainOS{
			Type:        &libvirtxml.DomainOSType{Arch: "x86_64", Machine: "pc", Type: "hvm"},
			BootDevices: []libvirtxml.DomainBootDevice{{Dev: "hd"}},
		},
		OnPoweroff: "destroy",
		OnReboot:   "restart",
		OnCrash:    "destroy",
		Devices: &libvirtxml.DomainDeviceList{
			Emulator: d.qemu,
			Disks: []libvirtxml.DomainDisk{{
				Device: "disk",
				Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "qcow2", Cache: "none"},
				Source: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: d.diskPath(spec.ServerID)}},
				Target: &libvirtxml.DomainDiskTarget{Dev: "vda", Bus: "virtio"},
			}},
			// A pty logged through virtlogd, which rotates the log (see
			// console.go); append keeps the output of earlier boots.
			Serials: []libvirtxml.DomainSerial{{
				Source: &libvirtxml.DomainChardevSource{Pty: &libvirtxml.DomainChardevSourcePty{}},
				Target: &libvirtxml.DomainSerialTarget{Port: new(uint)},
				Log:    &libvirtxml.DomainChardevLog{File: d.ConsolePath(spec.ServerID), Append: "on"},
			}},
		},
	}
	return dom.Marshal()
}

func xmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	return r.Replace(s)
}

// Spawn implements compute.Hypervisor.
func (d *Driver) Spawn(ctx context.Context, spec compute.SpawnSpec) (err error) {
	defer func() {
		if err != nil {
			_ = d.Destroy(context.WithoutCancel(ctx), spec.ServerID)
		}
	}()
	if err := d.CreateDisk(ctx, spec.ServerID, spec.BaseImage, spec.BaseFormat, spec.RootGB); err != nil {
		return err
	}
	xml, err := d.domainXML(spec)
	if err != nil {
		return err
	}
	l, err := d.conn()
	if err != nil {
		return err
	}
	dom, err := l.DomainDefineXML(xml)
	if err != nil {
		return fmt.Errorf("define domain: %w", err)
	}
	if err := l.DomainCreate(dom); err != nil {
		return fmt.Errorf("start domain: %w", err)
	}
	return nil
}

func (d *Driver) lookup(serverID string) (*golibvirt.Libvirt, golibvirt.Domain, error) {
	l, err := d.conn()
	if err != nil {
		return nil, golibvirt.Domain{}, err
	}
	dom, err := l.DomainLookupByName(domainName(serverID))
	if err != nil {
		if golibvirt.IsNotFound(err) {
			return l, dom, fmt.Errorf("domain of server %s: %w", serverID, compute.ErrNotFound)
		}
		return l, dom, err
	}
	return l, dom, nil
}

// Start implements compute.Hypervisor.
func (d *Driver) Start(ctx context.Context, serverID string) error {
	l, dom, err := d.lookup(serverID)
	if err != nil {
		return err
	}
	return l.DomainCreate(dom)
}

// Stop implements compute.Hypervisor.
func (d *Driver) Stop(ctx context.Context, serverID string) error {
	l, dom, err := d.lookup(serverID)
	if err != nil {
		return err
	}
	state, _, err := l.DomainGetState(dom, 0)
	if err != nil {
		return err
	}
	if golibvirt.DomainState(state) == golibvirt.DomainShutoff {
		return nil
	}
	return l.DomainDestroyFlags(dom, golibvirt.DomainDestroyDefault)
}

// Reboot implements compute.Hypervisor. A soft reboot asks the guest and
// falls back to a reset: test guests have no ACPI handling.
func (d *Driver) Reboot(ctx context.Context, serverID string, hard bool) error {
	l, dom, err := d.lookup(serverID)
	if err != nil {
		return err
	}
	if !hard {
		if err := l.DomainReboot(dom, golibvirt.DomainRebootDefault); err == nil {
			return nil
		}
	}
	return l.DomainReset(dom, 0)
}

// Destroy implements compute.Hypervisor.
func (d *Driver) Destroy(ctx context.Context, serverID string) error {
	l, dom, err := d.lookup(serverID)
	switch {
	case errors.Is(err, compute.ErrNotFound):
	case err != nil:
		return err
	default:
		if state, _, err := l.DomainGetState(dom, 0); err == nil && golibvirt.DomainState(state) != golibvirt.DomainShutoff {
			if err := l.DomainDestroyFlags(dom, golibvirt.DomainDestroyDefault); err != nil && !golibvirt.IsNotFound(err) {
				return fmt.Errorf("stop domain: %w", err)
			}
		}
		if err := l.DomainUndefineFlags(dom, golibvirt.DomainUndefineManagedSave|golibvirt.DomainUndefineNvram); err != nil && !golibvirt.IsNotFound(err) {
			return fmt.Errorf("undefine domain: %w", err)
		}
	}
	return os.RemoveAll(d.serverDir(serverID))
}

// PowerState implements compute.Hypervisor.
func (d *Driver) PowerState(ctx context.Context, serverID string) (compute.PowerState, error) {
	l, dom, err := d.lookup(serverID)
	if errors.Is(err, compute.ErrNotFound) {
		return compute.PowerNoState, nil
	}
	if err != nil {
		return compute.PowerNoState, err
	}
	state, _, err := l.DomainGetState(dom, 0)
	if err != nil {
		return compute.PowerNoState, err
	}
	switch golibvirt.DomainState(state) {
	case golibvirt.DomainRunning:
		return compute.PowerRunning, nil
	case golibvirt.DomainPaused:
		return compute.PowerPaused, nil
	case golibvirt.DomainCrashed:
		return compute.PowerCrashed, nil
	}
	return compute.PowerShutdown, nil
}

// Rebuild implements compute.Hypervisor.
func (d *Driver) Rebuild(ctx context.Context, spec compute.SpawnSpec) error {
	if err := d.Destroy(ctx, spec.ServerID); err != nil {
		return err
	}
	return d.Spawn(ctx, spec)
}

// Snapshot implements compute.Hypervisor: the guest is paused while
// qemu-img copies the disk (through its backing file) into a standalone qcow2.
func (d *Driver) Snapshot(ctx context.Context, serverID, dst string) error {
	l, dom, err := d.lookup(serverID)
	if err != nil {
		return err
	}
	state, _, err := l.DomainGetState(dom, 0)
	if err != nil {
		return err
	}
	if golibvirt.DomainState(state) == golibvirt.DomainRunning {
		if err := l.DomainSuspend(dom); err != nil {
			return fmt.Errorf("pause for snapshot: %w", err)
		}
		defer func() {
			if err := l.DomainResume(dom); err != nil {
				_ = err // the service reconciles a guest left paused
			}
		}()
	}
	// -U: QEMU still holds the image open (paused); the copy is consistent
	// because the guest cannot write while paused.
	out, err := exec.CommandContext(ctx, "qemu-img", "convert", "-U", "-q", "-O", "qcow2", d.diskPath(serverID), dst).CombinedOutput()
	if err != nil {
		os.Remove(dst)
		return fmt.Errorf("qemu-img convert: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Events implements service.EventSource: ids of servers whose domains changed
// lifecycle state (started, stopped, crashed, ...).
func (d *Driver) Events(ctx context.Context) (<-chan string, error) {
	l, err := d.conn()
	if err != nil {
		return nil, err
	}
	events, err := l.LifecycleEvents(ctx)
	if err != nil {
		return nil, err
	}
	out := make(chan string, 16)
	go func() {
		defer close(out)
		for ev := range events {
			if id, ok := strings.CutPrefix(ev.Dom.Name, domainPrefix); ok {
				select {
				case out <- id:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// ConsoleSocket implements compute.Hypervisor. (Domains get a VNC socket
// with the console work; until then there is none.)
func (d *Driver) ConsoleSocket(_ context.Context, serverID string) (string, error) {
	return "", fmt.Errorf("VNC of server %s: %w", serverID, compute.ErrNotFound)
}
