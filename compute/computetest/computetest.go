// Package computetest provides in-memory fakes of what the compute service
// drives (a hypervisor, the image service), with gates that hold a call
// until the test releases it, so that tests can interleave background work
// with API calls deterministically.
package computetest

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"imagestack/compute"
	"imagestack/policy"
	"imagestack/policy/policytest"
)

// Gate holds one call of an operation until released.
type Gate struct {
	entered chan struct{}
	release chan error
}

// Entered waits until the held call has arrived.
func (g *Gate) Entered(t testing.TB) {
	t.Helper()
	select {
	case <-g.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the held call never came")
	}
}

// Release lets the held call return err.
func (g *Gate) Release(err error) { g.release <- err }

// gates are the pending one-shot gates of a fake, by operation name.
type gates struct {
	mu    sync.Mutex
	byOp  map[string]*Gate
	calls []string
}

// Hold makes the next call of op wait for Release.
func (g *gates) Hold(op string) *Gate {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.byOp == nil {
		g.byOp = map[string]*Gate{}
	}
	gate := &Gate{entered: make(chan struct{}), release: make(chan error, 1)}
	g.byOp[op] = gate
	return gate
}

// pass records a call of op on id and waits at its gate, if any.
func (g *gates) pass(op, id string) error {
	g.mu.Lock()
	g.calls = append(g.calls, op+" "+id)
	gate := g.byOp[op]
	delete(g.byOp, op)
	g.mu.Unlock()
	if gate == nil {
		return nil
	}
	close(gate.entered)
	return <-gate.release
}

// Calls returns the calls made so far, as "op id".
func (g *gates) Calls() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.calls)
}

// Hypervisor is a compute.Hypervisor keeping domains in memory. Calls on a
// server without a domain fail, as libvirt's do. It passes HypervisorSuite
// but for one liberty tests of the service take: ConsoleOutput returns what
// SetConsole set whole, however large. Its guests print at each boot what
// a BootSector would (nothing for other disks).
type Hypervisor struct {
	gates
	mu      sync.Mutex
	domains map[string]compute.PowerState
	specs   map[string]compute.SpawnSpec
	console map[string][]byte
	disks   map[string][]byte             // disks.go
	peer    func(host string) *Hypervisor // hosts.go: the other hosts' hypervisors
	vnc     vncServers                    // rfb.go
	life    lifecycle                     // lifecycle.go
}

var _ compute.Hypervisor = (*Hypervisor)(nil)

// NewHypervisor returns a hypervisor without domains.
func NewHypervisor() *Hypervisor {
	return &Hypervisor{domains: map[string]compute.PowerState{}, specs: map[string]compute.SpawnSpec{}, console: map[string][]byte{},
		disks: map[string][]byte{}}
}

// Domain reports whether a server has a domain, and its power state.
func (h *Hypervisor) Domain(id string) (compute.PowerState, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ps, ok := h.domains[id]
	return ps, ok
}

// Spec returns the last spec a server was spawned or rebuilt with (its
// NICs, config drive and kernel included), the zero spec once destroyed.
func (h *Hypervisor) Spec(id string) compute.SpawnSpec {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.specs[id]
}

// SetConsole sets what ConsoleOutput returns for a server.
func (h *Hypervisor) SetConsole(id string, out []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.console[id] = out
}

// setPower changes an existing domain's state, or fails like libvirt; a
// domain powered on boots its guest, which prints to the console.
func (h *Hypervisor) setPower(id string, ps compute.PowerState) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.domains[id]; !ok {
		return fmt.Errorf("domain of server %s: %w", id, compute.ErrNotFound)
	}
	if ps == compute.PowerRunning {
		h.console[id] = append(h.console[id], guestOutput(h.specs[id].BaseImage)...)
	} else {
		h.vnc.stop(id)
	}
	h.domains[id] = ps
	return nil
}

// Spawn implements compute.Hypervisor.
func (h *Hypervisor) Spawn(_ context.Context, s compute.SpawnSpec) error {
	if err := h.pass("spawn", s.ServerID); err != nil {
		return err
	}
	if err := specFiles(s); err != nil {
		return err
	}
	h.mu.Lock()
	h.domains[s.ServerID], h.specs[s.ServerID] = compute.PowerShutdown, s
	h.disks[s.ServerID] = []byte("fresh disk of " + s.ServerID)
	h.mu.Unlock()
	return h.setPower(s.ServerID, compute.PowerRunning)
}

// specFiles fails, as QEMU does, when a file a spec names is missing: the
// base image, the config drive, the kernel or the ramdisk. (NICs are not
// checked: their bridges may be a fake network's.)
func specFiles(s compute.SpawnSpec) error {
	for what, path := range map[string]string{"base image": s.BaseImage, "config drive": s.ConfigDrive, "kernel": s.Kernel, "ramdisk": s.Ramdisk} {
		if path == "" && what != "base image" || what == "base image" && s.LazyBase != nil {
			continue // a lazy base is read through its URL until verified
		}
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("%s of server %s: %w", what, s.ServerID, err)
		}
	}
	return nil
}

// Start implements compute.Hypervisor.
func (h *Hypervisor) Start(_ context.Context, id string) error {
	if err := h.pass("start", id); err != nil {
		return err
	}
	return h.setPower(id, compute.PowerRunning)
}

// Stop implements compute.Hypervisor.
func (h *Hypervisor) Stop(_ context.Context, id string) error {
	if err := h.pass("stop", id); err != nil {
		return err
	}
	return h.setPower(id, compute.PowerShutdown)
}

// Pause implements compute.Hypervisor.
func (h *Hypervisor) Pause(_ context.Context, id string) error {
	if err := h.pass("pause", id); err != nil {
		return err
	}
	return h.setPower(id, compute.PowerPaused)
}

// Unpause implements compute.Hypervisor: the guest runs on, without a
// new boot (and so without new console output).
func (h *Hypervisor) Unpause(_ context.Context, id string) error {
	if err := h.pass("unpause", id); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.domains[id]; !ok {
		return fmt.Errorf("domain of server %s: %w", id, compute.ErrNotFound)
	}
	h.domains[id] = compute.PowerRunning
	return nil
}

// Reboot implements compute.Hypervisor.
func (h *Hypervisor) Reboot(_ context.Context, id string, _ bool) error {
	if err := h.pass("reboot", id); err != nil {
		return err
	}
	return h.setPower(id, compute.PowerRunning)
}

// Destroy implements compute.Hypervisor.
func (h *Hypervisor) Destroy(_ context.Context, id string) error {
	if err := h.pass("destroy", id); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.domains, id)
	delete(h.specs, id)
	delete(h.console, id)
	delete(h.disks, id)
	h.vnc.stop(id)
	return nil
}

// PowerState implements compute.Hypervisor.
func (h *Hypervisor) PowerState(_ context.Context, id string) (compute.PowerState, error) {
	if err := h.pass("power", id); err != nil {
		return compute.PowerNoState, err
	}
	ps, _ := h.Domain(id)
	return ps, nil
}

// ConsoleOutput implements compute.Hypervisor (what SetConsole set, whole).
func (h *Hypervisor) ConsoleOutput(_ context.Context, id string) ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.console[id]), nil
}

// Rebuild implements compute.Hypervisor: a fresh domain, console included,
// whether or not the server had one.
func (h *Hypervisor) Rebuild(ctx context.Context, s compute.SpawnSpec) error {
	if err := h.pass("rebuild", s.ServerID); err != nil {
		return err
	}
	h.mu.Lock()
	delete(h.domains, s.ServerID)
	delete(h.console, s.ServerID)
	h.vnc.stop(s.ServerID)
	h.mu.Unlock()
	return h.Spawn(ctx, s)
}

// Snapshot implements compute.Hypervisor.
func (h *Hypervisor) Snapshot(_ context.Context, id, dst string) error {
	if err := h.pass("snapshot", id); err != nil {
		return err
	}
	if _, ok := h.Domain(id); !ok {
		return fmt.Errorf("domain of server %s: %w", id, compute.ErrNotFound)
	}
	// A qcow2 header's magic and version, which is all tests look at.
	return os.WriteFile(dst, []byte("QFI\xfb\x00\x00\x00\x03"), 0o600)
}

// ImageData is the content of the image "img" that Images serves.
var ImageData = []byte("boot sector and more")

// Images is a compute.Images serving the active images of fakeImages, all
// with ImageData as their data, and the images made of servers: the first
// is "snap", the next "snap-2", "snap-3", ...; each is queued until its
// data is uploaded, then active, until it is deleted.
type Images struct {
	gates
	mu      sync.Mutex
	created []compute.NewImage
	made    []madeImage // in creation order
}

// madeImage is an image created through Images.
type madeImage struct {
	compute.ImageInfo
	deleted bool
}

var _ compute.Images = (*Images)(nil)

// fakeImages are the images Images serves: "img" (raw), an ami image
// "ami" booting the kernel "aki" with the ramdisk "ari", and raw images
// for other hosts: "arm" (hw_architecture aarch64), "xen" (hypervisor_type
// xen).
var fakeImages = map[string]compute.ImageInfo{
	"img": {DiskFormat: "raw", Properties: map[string]string{"os_distro": "x", "image_type": "base"}},
	"ami": {DiskFormat: "ami", Properties: map[string]string{"kernel_id": "aki", "ramdisk_id": "ari", "os_command_line": "console=ttyS0 quiet"}},
	"aki": {DiskFormat: "aki", Properties: map[string]string{}},
	"ari": {DiskFormat: "ari", Properties: map[string]string{}},
	"arm": {DiskFormat: "raw", Properties: map[string]string{"hw_architecture": "aarch64"}},
	"xen": {DiskFormat: "raw", Properties: map[string]string{"hypervisor_type": "xen"}},
}

// Get implements compute.Images.
func (f *Images) Get(_ context.Context, _ policy.Credentials, id string) (compute.ImageInfo, error) {
	sum := md5.Sum(ImageData)
	im, ok := fakeImages[id]
	if ok {
		im.ID, im.Status = id, "active"
	} else if m := f.find(id); m != nil {
		im, ok = m.ImageInfo, true
	}
	if !ok {
		return compute.ImageInfo{}, fmt.Errorf("image %s: %w", id, compute.ErrNotFound)
	}
	im.Checksum, im.Size = hex.EncodeToString(sum[:]), int64(len(ImageData))
	return im, nil
}

// find returns a made image that is not deleted, or nil.
func (f *Images) find(id string) *madeImage {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.made {
		if f.made[i].ID == id && !f.made[i].deleted {
			m := f.made[i]
			return &m
		}
	}
	return nil
}

// Download implements compute.Images.
func (f *Images) Download(_ context.Context, _ policy.Credentials, _ string, w io.Writer) error {
	_, err := w.Write(ImageData)
	return err
}

// DownloadRange implements compute.Images.
func (f *Images) DownloadRange(_ context.Context, _ policy.Credentials, _ string, off, n int64, w io.Writer) error {
	if off < 0 || n < 0 || off+n > int64(len(ImageData)) {
		return fmt.Errorf("range %d+%d outside the image's %d bytes", off, n, len(ImageData))
	}
	_, err := w.Write(ImageData[off : off+n])
	return err
}

// Create implements compute.Images.
func (f *Images) Create(_ context.Context, _ policy.Credentials, req compute.NewImage) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.created = append(f.created, req)
	id := "snap"
	if n := len(f.made); n > 0 {
		id = fmt.Sprintf("snap-%d", n+1)
	}
	f.made = append(f.made, madeImage{ImageInfo: compute.ImageInfo{ID: id, Name: req.Name, Status: "queued",
		DiskFormat: req.DiskFormat, MinRAM: req.MinRAM, MinDisk: req.MinDisk, Properties: maps.Clone(req.Properties)}})
	return id, nil
}

// Created returns the image requests made so far.
func (f *Images) Created() []compute.NewImage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.created)
}

// Live returns the ids of the made images not deleted, oldest first.
func (f *Images) Live() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, m := range f.made {
		if !m.deleted {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

// Upload implements compute.Images.
func (f *Images) Upload(_ context.Context, _ policy.Credentials, id string, r io.Reader) error {
	if err := f.pass("upload", id); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.made {
		if f.made[i].ID == id && !f.made[i].deleted {
			f.made[i].Status = "active"
		}
	}
	return nil
}

// Delete implements compute.Images.
func (f *Images) Delete(_ context.Context, _ policy.Credentials, id string) error {
	if err := f.pass("delete", id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.made {
		if f.made[i].ID == id && !f.made[i].deleted {
			f.made[i].deleted = true
			return nil
		}
	}
	return fmt.Errorf("image %s: %w", id, compute.ErrNotFound)
}

// List implements compute.Images over the made images.
func (f *Images) List(_ context.Context, _ policy.Credentials, properties map[string]string) ([]compute.ImageInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []compute.ImageInfo
	for i := len(f.made) - 1; i >= 0; i-- {
		m := f.made[i]
		if !m.deleted && hasAll(m.Properties, properties) {
			out = append(out, m.ImageInfo)
		}
	}
	return out, nil
}

func hasAll(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// Enforcer is the policy engine as the compute service uses it.
type Enforcer = policytest.Enforcer

// DefinedRules wraps a policy engine and fails the test whenever a rule the
// compute service asks about is not one of Nova's defaults: the engine
// denies undefined Nova rule names, so a typo would deny everyone.
func DefinedRules(t testing.TB, e Enforcer) Enforcer {
	return policytest.DefinedRules(t, e, compute.PolicyDefaults, "Nova")
}

// ConsoleSocket implements compute.Hypervisor: a running domain's VNC
// server (rfb.go) speaks RFB 3.8 without authentication and serves a 1x1
// desktop named DesktopName and the server id.
func (h *Hypervisor) ConsoleSocket(_ context.Context, id string) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ps, ok := h.domains[id]; !ok || ps != compute.PowerRunning {
		return "", fmt.Errorf("VNC of server %s: %w", id, compute.ErrNotFound)
	}
	return h.vnc.socket(id)
}
