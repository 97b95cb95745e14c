package dataplane_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"imagestack/network"
	"imagestack/network/dataplane"
	"imagestack/network/networktest"
)

// stateDir is a state directory dnsmasq (user nobody) can read, removed
// with everything recorded in it at the end of the test.
func stateDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "dataplane-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := dataplane.RemoveAll(context.Background(), dir); err != nil {
			t.Errorf("RemoveAll: %v", err)
		}
		_ = os.RemoveAll(dir)
	})
	return dir
}

func TestLinuxDataplane(t *testing.T) {
	dirs := map[*testing.T]string{}
	networktest.DataplaneSuite(t, func(t *testing.T) network.Dataplane {
		if dirs[t] == "" {
			dirs[t] = stateDir(t)
		}
		d, err := dataplane.New(dataplane.Config{StateDir: dirs[t]})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}, networktest.DataplaneOptions{Host: true, Leftovers: func(t *testing.T, id string) []string {
		entries, _ := os.ReadDir(filepath.Join(dirs[t], id))
		var left []string
		for _, e := range entries {
			left = append(left, e.Name())
		}
		if _, err := os.Stat(filepath.Join(dirs[t], id)); err == nil {
			left = append(left, id+"/")
		}
		return left
	}})
}

// RemoveAll tears down every network of a state directory.
func TestRemoveAll(t *testing.T) {
	dir := stateDir(t)
	d, err := dataplane.New(dataplane.Config{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 2 {
		id := uuid.NewString()
		ids = append(ids, id)
		spec := network.HostSpec{NetworkID: id, Subnets: []network.DHCPSubnet{{
			ID: "s", CIDR: "10.77.7.0/24", ServerIP: "10.77.7.2"}}}
		if i == 1 {
			spec.Subnets = nil // no DHCP: no dnsmasq, the rest all the same
		}
		if err := d.Ensure(context.Background(), spec, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := dataplane.RemoveAll(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if _, err := os.Lstat("/sys/class/net/" + d.Bridge(id)); err == nil {
			t.Errorf("bridge %s left", d.Bridge(id))
		}
		if _, err := os.Stat("/run/netns/" + d.Namespace(id)); err == nil {
			t.Errorf("namespace %s left", d.Namespace(id))
		}
	}
	if left, _ := d.Networks(); len(left) > 0 {
		t.Errorf("networks left: %v", left)
	}
}

// New refuses a state directory dnsmasq could not read after dropping
// its privileges.
func TestNewUnreachableStateDir(t *testing.T) {
	dir := t.TempDir() // mode 0700
	_, err := dataplane.New(dataplane.Config{StateDir: filepath.Join(dir, "net")})
	if err == nil || !strings.Contains(err.Error(), "chmod o+x") {
		t.Fatalf("New = %v, want an error naming the unreachable directory", err)
	}
	if _, err := dataplane.New(dataplane.Config{StateDir: filepath.Join(dir, "net"), DnsmasqUser: "root"}); err != nil {
		t.Fatalf("New with dnsmasq as root: %v", err)
	}
}

// Bad input is refused before anything is built.
func TestEnsureRejects(t *testing.T) {
	d, err := dataplane.New(dataplane.Config{StateDir: stateDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := uuid.NewString()
	for name, spec := range map[string]network.HostSpec{
		"bad id":          {NetworkID: "../x"},
		"server off cidr": {NetworkID: id, Subnets: []network.DHCPSubnet{{CIDR: "10.0.0.0/24", ServerIP: "10.0.1.2"}}},
		"bad cidr":        {NetworkID: id, Subnets: []network.DHCPSubnet{{CIDR: "10.0.0.0/33", ServerIP: "10.0.0.2"}}},
	} {
		if err := d.Ensure(ctx, spec, nil); err == nil {
			t.Errorf("%s: Ensure accepted %+v", name, spec)
		}
	}
	if ids, _ := d.Networks(); slices.Contains(ids, id) {
		t.Errorf("a refused spec left state behind")
	}
	if err := d.SetHosts(ctx, uuid.NewString(), nil); err == nil {
		t.Error("SetHosts on a network Ensure never set up: no error")
	}
}

// dnsmasq outlives the process that started it (as it must outlive a
// restart of imagestack), the next process adopts it, and RemoveAll stops
// it.
func TestDnsmasqOutlivesProcess(t *testing.T) {
	spec := network.HostSpec{NetworkID: os.Getenv("DATAPLANE_OUTLIVE_NET"), Subnets: []network.DHCPSubnet{{
		ID: "s", CIDR: "10.77.8.0/24", ServerIP: "10.77.8.2"}}}
	if dir := os.Getenv("DATAPLANE_OUTLIVE_DIR"); dir != "" {
		d, err := dataplane.New(dataplane.Config{StateDir: dir})
		if err == nil {
			err = d.Ensure(context.Background(), spec, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		return // and exit without Delete
	}
	dir := stateDir(t)
	spec.NetworkID = uuid.NewString()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestDnsmasqOutlivesProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "DATAPLANE_OUTLIVE_DIR="+dir, "DATAPLANE_OUTLIVE_NET="+spec.NetworkID)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	pidFile := filepath.Join(dir, spec.NetworkID, "dnsmasq.pid")
	pid := strings.TrimSpace(readFile(t, pidFile))
	if comm := strings.TrimSpace(readFile(t, "/proc/"+pid+"/comm")); comm != "dnsmasq" {
		t.Fatalf("process %s of the exited service is %q, want a running dnsmasq", pid, comm)
	}
	d, err := dataplane.New(dataplane.Config{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Ensure(context.Background(), spec, nil); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(readFile(t, pidFile)); got != pid {
		t.Fatalf("dnsmasq %s replaced by %s, want it adopted", pid, got)
	}
	if err := dataplane.RemoveAll(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	if stat, err := os.ReadFile("/proc/" + pid + "/stat"); err == nil && !strings.Contains(string(stat), ") Z") {
		t.Fatalf("dnsmasq %s survives RemoveAll", pid)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// A namespace name left without a namespace (a crash between iproute2's
// steps) is replaced.
func TestStaleNamespaceName(t *testing.T) {
	d, err := dataplane.New(dataplane.Config{StateDir: stateDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	spec := network.HostSpec{NetworkID: uuid.NewString(), Subnets: []network.DHCPSubnet{{
		ID: "s", CIDR: "10.77.9.0/24", ServerIP: "10.77.9.2"}}}
	stale := "/run/netns/" + d.Namespace(spec.NetworkID)
	if err := os.MkdirAll("/run/netns", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, nil, 0o444); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Delete(context.Background(), spec.NetworkID); _ = os.Remove(stale) })
	if err := d.Ensure(context.Background(), spec, nil); err != nil {
		t.Fatalf("Ensure over a stale namespace name: %v", err)
	}
	if out, err := exec.Command("ip", "-n", d.Namespace(spec.NetworkID), "-o", "addr", "show").CombinedOutput(); err != nil || !strings.Contains(string(out), "10.77.9.2/24") {
		t.Fatalf("namespace addresses (%v): %s", err, out)
	}
}
