package libvirt_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"imagestack/compute"
	"imagestack/compute/computetest"
	"imagestack/compute/libvirt"
)

// libvirtURI is the libvirt of the test machine. Without one the test
// fails rather than silently covering the fake alone, unless
// IMAGESTACK_SKIP_LIBVIRT=1 asks for a visible skip.
func libvirtURI(t *testing.T) string {
	t.Helper()
	uri := os.Getenv("TEST_LIBVIRT_URI")
	if uri == "" {
		if os.Getenv("IMAGESTACK_SKIP_LIBVIRT") == "1" {
			t.Skip("libvirt skipped on request (IMAGESTACK_SKIP_LIBVIRT=1)")
		}
		t.Fatal("TEST_LIBVIRT_URI is not set: run `make test`, which starts libvirtd, or set IMAGESTACK_SKIP_LIBVIRT=1 to skip libvirt explicitly")
	}
	return uri
}

// recorder remembers the servers a driver was asked to create, so that
// the test can check that none of them outlives it.
type recorder struct {
	*libvirt.Driver
	mu  sync.Mutex
	ids []string
}

func (r *recorder) record(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.ids, id) {
		r.ids = append(r.ids, id)
	}
}

func (r *recorder) Spawn(ctx context.Context, spec compute.SpawnSpec) error {
	r.record(spec.ServerID)
	return r.Driver.Spawn(ctx, spec)
}

func (r *recorder) Rebuild(ctx context.Context, spec compute.SpawnSpec) error {
	r.record(spec.ServerID)
	return r.Driver.Rebuild(ctx, spec)
}

// TestHypervisorConformance runs computetest's hypervisor suite on
// libvirt with QEMU's software emulation (TCG), booting BootSector guests.
// Every subtest leaves no domain and no file behind.
func TestHypervisorConformance(t *testing.T) {
	uri := libvirtURI(t)
	bridge := newBridge(t)
	computetest.HypervisorSuite(t, func(t *testing.T) compute.Hypervisor {
		d, dir := newDriver(t, uri)
		r := &recorder{Driver: d}
		// Registered first, so it runs after the suite's own cleanups.
		t.Cleanup(func() {
			defer d.Close()
			ctx := context.WithoutCancel(t.Context())
			for _, id := range r.ids {
				if ps, err := d.PowerState(ctx, id); err != nil || ps != compute.PowerNoState {
					t.Errorf("server %s: a domain is left (power state %d, %v)", id, ps, err)
					_ = d.Destroy(ctx, id)
				}
			}
			if left, _ := os.ReadDir(dir); len(left) > 0 {
				t.Errorf("files left in %s: %v", dir, left)
			}
		})
		return r
	}, computetest.WithBridge(bridge))
}

// newDriver is a driver on uri whose instances directory is short enough
// for VNC sockets (t.TempDir's are not), removed when the test ends.
func newDriver(t *testing.T, uri string) (*libvirt.Driver, string) {
	t.Helper()
	tmp, err := os.MkdirTemp("", "lvt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	dir := filepath.Join(tmp, "instances")
	d, err := libvirt.New(libvirt.Config{URI: uri, VirtType: "qemu", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return d, dir
}

// newBridge creates a Linux bridge of a unique name, without an address,
// up, as the network service makes them; it is removed when the test ends.
func newBridge(t *testing.T) string {
	t.Helper()
	name := "brt" + strings.ReplaceAll(uuid.NewString(), "-", "")[:10]
	ipLink(t, "add", "name", name, "type", "bridge")
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "link", "del", name).CombinedOutput(); err != nil {
			t.Errorf("removing bridge %s: %v %s", name, err, out)
		}
	})
	ipLink(t, "set", name, "up")
	return name
}

func ipLink(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", append([]string{"link"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("ip link %v: %v %s", args, err, out)
	}
}
