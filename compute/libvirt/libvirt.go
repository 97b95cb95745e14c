// Package libvirt runs servers as libvirt/QEMU domains through the libvirt
// RPC protocol (digitalocean/go-libvirt) with domain XML built by libvirtxml.
// Each server gets a directory (Config.Dir/<server id>) with a qcow2 overlay
// over a cached base image (disk.qcow2), its serial console log
// (console.log), its VNC socket (vnc.sock) and, when the compute service
// builds one there, its config drive (disk.config); the domain is named
// after the server id. NICs are taps that libvirt creates in existing
// bridges and removes when the VM stops.
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
	VirtType string // kvm, qemu (software emulation) or auto (DetectVirtType)
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
	if cfg.VirtType == "auto" {
		cfg.VirtType = DetectVirtType(context.Background(), emulator)
	}
	if cfg.VirtType != "kvm" && cfg.VirtType != "qemu" {
		return nil, fmt.Errorf("libvirt: virt_type must be kvm, qemu or auto, not %q", cfg.VirtType)
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	cfg.Dir = dir
	// A unix socket's path holds at most 107 bytes (sun_path): the VNC
	// socket of a server (a 36-character uuid) must fit.
	if n := len(filepath.Join(dir, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", vncSocketName)); n > maxSocketPath {
		return nil, fmt.Errorf("libvirt: the instances directory %s is too long for its servers' VNC sockets (%d bytes, at most %d)", dir, n, maxSocketPath)
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, err
	}
	d := &Driver{cfg: cfg}
	if _, err := d.conn(); err != nil {
		return nil, err
	}
	d.qemu = emulator
	return d, nil
}

// emulator is Debian's QEMU for x86_64 guests.
const emulator = "/usr/bin/qemu-system-x86_64"

// VirtType is the domain type the driver defines: kvm or qemu (what auto
// detected).
func (d *Driver) VirtType() string { return d.cfg.VirtType }

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

func domainName(serverID string) string { return domainPrefix + serverID }

// DomainName is the name of a server's domain (Nova's instance_name).
func (d *Driver) DomainName(serverID string) string { return domainName(serverID) }
func (d *Driver) serverDir(id string) string        { return filepath.Join(d.cfg.Dir, id) }
func (d *Driver) diskPath(id string) string         { return filepath.Join(d.serverDir(id), "disk.qcow2") }

// ConsolePath is where a server's serial console is logged.
func (d *Driver) ConsolePath(id string) string { return filepath.Join(d.serverDir(id), "console.log") }

// DiskPath is the server's root disk (an overlay over its base image).
func (d *Driver) DiskPath(id string) string { return d.diskPath(id) }

// ConfigDrivePath is where the compute service builds a server's config
// drive (Nova's disk.config) before Spawn or Rebuild, to pass it as
// SpawnSpec.ConfigDrive: in the server's directory, which the caller
// creates if need be (os.MkdirAll(filepath.Dir(path), 0o750)). A config
// drive there is the server's own: Rebuild keeps the one its spec names,
// Destroy (and a failed Spawn or Rebuild) removes it. One anywhere else
// is never removed.
func (d *Driver) ConfigDrivePath(id string) string {
	return filepath.Join(d.serverDir(id), "disk.config")
}

// vncSocketName is the file name of a server's VNC socket in its directory.
const vncSocketName = "vnc.sock"

// maxSocketPath is the longest path of a unix socket (sun_path less NUL).
const maxSocketPath = 107

// VNCSocketPath is where a server's VNC server listens (a unix socket that
// QEMU creates when the VM starts).
func (d *Driver) VNCSocketPath(id string) string {
	return filepath.Join(d.serverDir(id), vncSocketName)
}

// CreateDisk makes the server's qcow2 overlay over base, of rootGB GiB (0:
// the base's own size, at most compute.MaxZeroDiskGB). The base's virtual
// size is read from the file itself (qemu-img, format given, never
// probed), since what the image service recorded may be wrong; a base that
// does not fit is refused before anything is created, as is one that
// refers to other files (a backing or external data file).
func (d *Driver) CreateDisk(ctx context.Context, id, base, baseFormat string, rootGB int) error {
	return d.createOverlay(ctx, id, overlaySpec{read: base, readFormat: baseFormat, base: base, format: baseFormat, rootGB: rootGB})
}

// overlaySpec says where a new overlay's base is read for its checks
// (read, in readFormat) and what its header names (base, in format).
type overlaySpec struct {
	read, readFormat, base, format string
	rootGB                         int
	objects                        []string // qemu-img --object definitions read needs
}

// createOverlay checks the base's header and creates the server's qcow2
// overlay of rootGB GiB (0: the base's virtual size). The size is always
// given, so the base file need not be there yet (-u).
func (d *Driver) createOverlay(ctx context.Context, id string, o overlaySpec) error {
	info, err := imageInfo(ctx, o.read, o.readFormat, o.objects...)
	if err != nil {
		return err
	}
	if err := info.fits(o.rootGB); err != nil {
		return err
	}
	if err := os.MkdirAll(d.serverDir(id), 0o750); err != nil {
		return err
	}
	size := fmt.Sprint(info.VirtualSize)
	if o.rootGB > 0 {
		size = fmt.Sprintf("%dG", o.rootGB)
	}
	args := []string{"create", "-q", "-f", "qcow2", "-u", "-b", o.base, "-F", o.format, d.diskPath(id), size}
	if out, err := exec.CommandContext(ctx, "qemu-img", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("qemu-img create: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Spawn implements compute.Hypervisor.
func (d *Driver) Spawn(ctx context.Context, spec compute.SpawnSpec) (err error) {
	defer func() {
		if err != nil {
			_ = d.Destroy(context.WithoutCancel(ctx), spec.ServerID)
		}
	}()
	create := d.CreateDisk
	if spec.LazyBase != nil {
		create = func(ctx context.Context, id, base, format string, rootGB int) error {
			return d.createLazyDisk(ctx, id, *spec.LazyBase, base, format, rootGB)
		}
	}
	if err := create(ctx, spec.ServerID, spec.BaseImage, spec.BaseFormat, spec.RootGB); err != nil {
		return err
	}
	return d.defineAndStart(spec)
}

// defineAndStart defines the server's domain over its disk and starts it.
func (d *Driver) defineAndStart(spec compute.SpawnSpec) error {
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

// lookupState finds a server's domain and reads its state.
func (d *Driver) lookupState(serverID string) (*golibvirt.Libvirt, golibvirt.Domain, golibvirt.DomainState, error) {
	l, dom, err := d.lookup(serverID)
	if err != nil {
		return l, dom, 0, err
	}
	state, _, err := l.DomainGetState(dom, 0)
	return l, dom, golibvirt.DomainState(state), err
}

// Start implements compute.Hypervisor.
func (d *Driver) Start(ctx context.Context, serverID string) error {
	l, dom, err := d.lookup(serverID)
	if err != nil {
		return err
	}
	return l.DomainCreate(dom)
}

// Pause implements compute.Hypervisor (virsh suspend).
func (d *Driver) Pause(ctx context.Context, serverID string) error {
	l, dom, err := d.lookup(serverID)
	if err != nil {
		return err
	}
	return l.DomainSuspend(dom)
}

// Unpause implements compute.Hypervisor (virsh resume).
func (d *Driver) Unpause(ctx context.Context, serverID string) error {
	l, dom, err := d.lookup(serverID)
	if err != nil {
		return err
	}
	return l.DomainResume(dom)
}

// Stop implements compute.Hypervisor.
func (d *Driver) Stop(ctx context.Context, serverID string) error {
	l, dom, state, err := d.lookupState(serverID)
	if err != nil {
		return err
	}
	if state == golibvirt.DomainShutoff {
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
	if err := d.undefine(serverID); err != nil {
		return err
	}
	return os.RemoveAll(d.serverDir(serverID))
}

// undefine stops a server's domain and removes its definition (libvirt
// then removes its taps); a server without a domain is no error.
func (d *Driver) undefine(serverID string) error {
	l, dom, err := d.lookup(serverID)
	switch {
	case errors.Is(err, compute.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	if state, _, err := l.DomainGetState(dom, 0); err == nil && golibvirt.DomainState(state) != golibvirt.DomainShutoff {
		if err := l.DomainDestroyFlags(dom, golibvirt.DomainDestroyDefault); err != nil && !golibvirt.IsNotFound(err) {
			return fmt.Errorf("stop domain: %w", err)
		}
	}
	if err := l.DomainUndefineFlags(dom, golibvirt.DomainUndefineManagedSave|golibvirt.DomainUndefineNvram); err != nil && !golibvirt.IsNotFound(err) {
		return fmt.Errorf("undefine domain: %w", err)
	}
	return nil
}

// removeFilesBut empties a server's directory but for the file keep (a
// config drive built there for the next VM).
func (d *Driver) removeFilesBut(serverID, keep string) error {
	entries, err := os.ReadDir(d.serverDir(serverID))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := filepath.Join(d.serverDir(serverID), e.Name())
		if keep != "" && filepath.Clean(keep) == p {
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	return nil
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

// Rebuild implements compute.Hypervisor: the old domain and files go, but
// for the config drive spec names (the service builds the new one at
// ConfigDrivePath before calling Rebuild); the NICs, MACs included, are
// spec's, the same as the server's at Spawn.
func (d *Driver) Rebuild(ctx context.Context, spec compute.SpawnSpec) error {
	if err := d.undefine(spec.ServerID); err != nil {
		return err
	}
	if err := d.removeFilesBut(spec.ServerID, spec.ConfigDrive); err != nil {
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

// ConsoleSocket implements compute.Hypervisor: the VNC socket named in
// the live definition of the server's running (or paused) domain, once
// QEMU has created it.
func (d *Driver) ConsoleSocket(_ context.Context, serverID string) (string, error) {
	l, dom, err := d.lookup(serverID)
	if err != nil {
		return "", err
	}
	state, _, err := l.DomainGetState(dom, 0)
	if err != nil {
		return "", err
	}
	if s := golibvirt.DomainState(state); s != golibvirt.DomainRunning && s != golibvirt.DomainPaused {
		return "", fmt.Errorf("VNC of server %s: the VM is not running: %w", serverID, compute.ErrNotFound)
	}
	x, err := l.DomainGetXMLDesc(dom, 0)
	if err != nil {
		return "", err
	}
	var def libvirtxml.Domain
	if err := def.Unmarshal(x); err != nil {
		return "", err
	}
	path := vncSocket(def)
	if path == "" {
		return "", fmt.Errorf("VNC of server %s: its domain has no VNC socket: %w", serverID, compute.ErrNotFound)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Type() != os.ModeSocket {
		return "", fmt.Errorf("VNC of server %s: no socket at %s: %w", serverID, path, compute.ErrNotFound)
	}
	return path, nil
}

// vncSocket is the unix socket a domain's VNC server listens on, if any.
func vncSocket(def libvirtxml.Domain) string {
	if def.Devices == nil {
		return ""
	}
	for _, g := range def.Devices.Graphics {
		if g.VNC == nil {
			continue
		}
		if g.VNC.Socket != "" {
			return g.VNC.Socket
		}
		for _, l := range g.VNC.Listeners {
			if l.Socket != nil && l.Socket.Socket != "" {
				return l.Socket.Socket
			}
		}
	}
	return ""
}
