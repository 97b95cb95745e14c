package networktest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"

	"imagestack/network"
)

// DataplaneOptions tells DataplaneSuite what the dataplane under test is.
type DataplaneOptions struct {
	// Host says the dataplane builds real host networking. The suite then
	// also checks it on this host: bridges, namespaces and the firewall
	// with iproute2 and iptables, leases with busybox udhcpc in "VMs"
	// (namespaces with a veth plugged into the network's bridge, as a tap
	// would be), reachability from the DHCP namespace with busybox ping,
	// and repairs after dnsmasq, the namespace or everything is gone. It
	// needs root, iproute2, iptables and busybox, and fails without them.
	// All its traffic stays inside namespaces it creates. The in-memory
	// fake leaves Host false and gets the checks of names and idempotence.
	Host bool
	// Leftovers, if set, lists what the implementation keeps for a
	// network (files, ...); nothing may be left after Delete.
	Leftovers func(t *testing.T, networkID string) []string
}

// DataplaneSuite checks the network.Dataplane contract. newDataplane is
// called again within one test to model a restart of the service: the
// dataplanes it returns within a test must share their state (e.g. one
// state directory), as one service across restarts does.
func DataplaneSuite(t *testing.T, newDataplane func(t *testing.T) network.Dataplane, opt DataplaneOptions) {
	t.Run("Names", func(t *testing.T) { dataplaneNames(t, newDataplane) })
	t.Run("Idempotent", func(t *testing.T) { dataplaneIdempotent(t, newDataplane, opt) })
	t.Run("Concurrent", func(t *testing.T) { dataplaneConcurrent(t, newDataplane, opt) })
	if !opt.Host {
		return
	}
	t.Run("Host", func(t *testing.T) { hostLayout(t, newDataplane) })
	t.Run("StaticLeases", func(t *testing.T) { hostLeases(t, newDataplane) })
	t.Run("AddressReuse", func(t *testing.T) { hostReuse(t, newDataplane) })
	t.Run("Repair", func(t *testing.T) { hostRepair(t, newDataplane) })
	t.Run("RestartAdopts", func(t *testing.T) { hostRestart(t, newDataplane) })
	t.Run("Delete", func(t *testing.T) { hostDelete(t, newDataplane, opt) })
}

// dataplaneNames: names fit the kernel's limits, are stable and tell
// networks apart.
func dataplaneNames(t *testing.T, newDataplane func(t *testing.T) network.Dataplane) {
	d, d2 := newDataplane(t), newDataplane(t)
	a, b := uuid.NewString(), uuid.NewString()
	for _, id := range []string{a, b} {
		br, ns := d.Bridge(id), d.Namespace(id)
		if br == "" || len(br) > 15 || strings.ContainsAny(br, "/ :") {
			t.Errorf("Bridge(%s) = %q: not a device name of at most 15 characters", id, br)
		}
		if ns == "" || strings.ContainsAny(ns, "/ ") {
			t.Errorf("Namespace(%s) = %q", id, ns)
		}
		if d.Bridge(id) != br || d2.Bridge(id) != br || d2.Namespace(id) != ns {
			t.Errorf("names of %s are not stable", id)
		}
	}
	if d.Bridge(a) == d.Bridge(b) || d.Namespace(a) == d.Namespace(b) {
		t.Errorf("networks %s and %s share names", a, b)
	}
}

// dataplaneIdempotent: Ensure, SetHosts and Delete may be repeated;
// Delete of an unknown network is no error.
func dataplaneIdempotent(t *testing.T, newDataplane func(t *testing.T) network.Dataplane, opt DataplaneOptions) {
	ctx := context.Background()
	d := newDataplane(t)
	spec := testSpec(uuid.NewString())
	hosts := []network.DHCPHost{{MAC: testMAC(), IP: hostIP(spec, 10), Hostname: "vm-one"}}
	ensure(t, d, spec, hosts)
	ensure(t, d, spec, hosts)
	if err := d.SetHosts(ctx, spec.NetworkID, nil); err != nil {
		t.Fatalf("SetHosts: %v", err)
	}
	if err := d.SetHosts(ctx, spec.NetworkID, hosts); err != nil {
		t.Fatalf("SetHosts: %v", err)
	}
	for range 2 {
		if err := d.Delete(ctx, spec.NetworkID); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	}
	if err := d.Delete(ctx, uuid.NewString()); err != nil {
		t.Fatalf("Delete of an unknown network: %v", err)
	}
	if opt.Leftovers != nil {
		if left := opt.Leftovers(t, spec.NetworkID); len(left) > 0 {
			t.Fatalf("Delete left %v", left)
		}
	}
}

// dataplaneConcurrent: networks are set up and removed concurrently.
func dataplaneConcurrent(t *testing.T, newDataplane func(t *testing.T) network.Dataplane, opt DataplaneOptions) {
	d := newDataplane(t)
	var specs []network.HostSpec
	for range 4 {
		specs = append(specs, testSpec(uuid.NewString()))
	}
	run := func(what string, f func(network.HostSpec) error) {
		t.Helper()
		errs := make(chan error, len(specs))
		for _, spec := range specs {
			go func() { errs <- f(spec) }()
		}
		for range specs {
			if err := <-errs; err != nil {
				t.Fatalf("concurrent %s: %v", what, err)
			}
		}
	}
	for _, spec := range specs {
		t.Cleanup(func() { _ = d.Delete(context.Background(), spec.NetworkID) })
	}
	run("Ensure", func(spec network.HostSpec) error {
		return d.Ensure(context.Background(), spec, []network.DHCPHost{{MAC: testMAC(), IP: hostIP(spec, 10)}})
	})
	if opt.Host {
		for _, spec := range specs {
			if len(nsPids(t, d.Namespace(spec.NetworkID))) == 0 {
				t.Errorf("network %s has no DHCP server", spec.NetworkID)
			}
		}
	}
	run("Delete", func(spec network.HostSpec) error { return d.Delete(context.Background(), spec.NetworkID) })
	if opt.Leftovers != nil {
		for _, spec := range specs {
			if left := opt.Leftovers(t, spec.NetworkID); len(left) > 0 {
				t.Errorf("Delete left %v", left)
			}
		}
	}
}

// testSpec is a network with one subnet in a random 10.x.y.0/24: its
// addresses live only inside namespaces, so any prefix does.
func testSpec(id string) network.HostSpec {
	u := uuid.New()
	net := fmt.Sprintf("10.%d.%d", 100+int(u[0])%100, u[1])
	return network.HostSpec{NetworkID: id, MTU: 1450, Subnets: []network.DHCPSubnet{{
		ID: uuid.NewString(), CIDR: net + ".0/24", Gateway: net + ".1",
		DNS: []string{"198.51.100.53"}, ServerIP: net + ".2",
	}}}
}

// hostIP is address n of the spec's subnet.
func hostIP(spec network.HostSpec, n int) string {
	return strings.TrimSuffix(spec.Subnets[0].CIDR, "0/24") + fmt.Sprint(n)
}

// testMAC is a random MAC with Neutron's prefix.
func testMAC() string {
	u := uuid.New()
	return fmt.Sprintf("fa:16:3e:%02x:%02x:%02x", u[0], u[1], u[2])
}

// ensure calls Ensure and deletes the network at the end of the test.
func ensure(t *testing.T, d network.Dataplane, spec network.HostSpec, hosts []network.DHCPHost) {
	t.Helper()
	t.Cleanup(func() {
		if err := d.Delete(context.Background(), spec.NetworkID); err != nil {
			t.Errorf("cleanup: Delete: %v", err)
		}
	})
	if err := d.Ensure(context.Background(), spec, hosts); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
}

// readTrim reads a small file, e.g. under /sys or /proc.
func readTrim(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return strings.TrimSpace(string(data))
}
