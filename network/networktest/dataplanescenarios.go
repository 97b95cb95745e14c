package networktest

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"imagestack/network"
)

// leaseSetup is a network with one vm holding a static lease.
type leaseSetup struct {
	d     network.Dataplane
	spec  network.HostSpec
	hosts []network.DHCPHost
	vm    *vm
}

// newLeaseSetup ensures a network whose one host is a vm at .10, with
// FORWARD dropping the bridge's frames (which the dataplane must pass).
func newLeaseSetup(t *testing.T, newDataplane func(t *testing.T) network.Dataplane) *leaseSetup {
	t.Helper()
	s := &leaseSetup{d: newDataplane(t), spec: testSpec(uuid.NewString())}
	mac := testMAC()
	s.hosts = []network.DHCPHost{{MAC: mac, IP: hostIP(s.spec, 10), Hostname: "vm-one"}}
	ensure(t, s.d, s.spec, s.hosts)
	dropBridged(t, s.d.Bridge(s.spec.NetworkID))
	s.vm = newVM(t, s.d.Bridge(s.spec.NetworkID), mac)
	return s
}

// pids are the processes in the network's namespace, at least one.
func (s *leaseSetup) pids(t *testing.T) []string {
	t.Helper()
	p := nsPids(t, s.d.Namespace(s.spec.NetworkID))
	if len(p) == 0 {
		t.Fatal("no DHCP server runs in the namespace")
	}
	return p
}

// hostLeases: a vm gets exactly its static lease with the subnet's router
// and DNS; SetHosts and Ensure changes apply without a restart.
func hostLeases(t *testing.T, newDataplane func(t *testing.T) network.Dataplane) {
	ctx := context.Background()
	s := newLeaseSetup(t, newDataplane)
	l := s.vm.wantLease(t, s.d, s.spec, hostIP(s.spec, 10))
	if l.router != s.spec.Subnets[0].Gateway || l.dns != "198.51.100.53" {
		t.Errorf("lease router %q dns %q, want %s and 198.51.100.53", l.router, l.dns, s.spec.Subnets[0].Gateway)
	}
	pids := s.pids(t)

	other := newVM(t, s.d.Bridge(s.spec.NetworkID), testMAC())
	if _, err := shErr("ip", "netns", "exec", other.ns, "busybox", "udhcpc", "-i", "eth0", "-f", "-q", "-n", "-t", "2", "-T", "1", "-s", "/bin/true"); err == nil {
		t.Error("a MAC without static lease got a lease")
	}
	// Nova hostnames may repeat; each guest still gets its lease.
	hosts := []network.DHCPHost{{MAC: s.hosts[0].MAC, IP: hostIP(s.spec, 20), Hostname: "twin"},
		{MAC: readMAC(t, other), IP: hostIP(s.spec, 30), Hostname: "twin"}}
	if err := s.d.SetHosts(ctx, s.spec.NetworkID, hosts); err != nil {
		t.Fatalf("SetHosts: %v", err)
	}
	s.vm.wantLease(t, s.d, s.spec, hostIP(s.spec, 20))
	other.wantLease(t, s.d, s.spec, hostIP(s.spec, 30))

	s.spec.Subnets[0].Gateway, s.spec.Subnets[0].DNS = "", nil
	if err := s.d.Ensure(ctx, s.spec, hosts); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if l := other.wantLease(t, s.d, s.spec, hostIP(s.spec, 30)); l.router != "" || l.dns != "" {
		t.Errorf("lease of a subnet without gateway and DNS: router %q dns %q, want none", l.router, l.dns)
	}
	if got := s.pids(t); !slices.Equal(got, pids) {
		t.Errorf("DHCP server restarted (pids %v, then %v); changes must apply without a restart", pids, got)
	}
}

// readMAC is the MAC of a vm's eth0.
func readMAC(t *testing.T, v *vm) string {
	t.Helper()
	out := sh(t, "ip", "-n", v.ns, "-o", "link", "show", "eth0")
	f := strings.Fields(out)
	for i := range f {
		if f[i] == "link/ether" && i+1 < len(f) {
			return f[i+1]
		}
	}
	t.Fatalf("no MAC in %s", out)
	return ""
}

// hostRepair: Ensure repairs a killed DHCP server, a deleted namespace and
// a host reboot (nothing left); SetHosts repairs a killed DHCP server.
func hostRepair(t *testing.T, newDataplane func(t *testing.T) network.Dataplane) {
	ctx := context.Background()
	s := newLeaseSetup(t, newDataplane)
	ns, br := s.d.Namespace(s.spec.NetworkID), s.d.Bridge(s.spec.NetworkID)
	s.vm.wantLease(t, s.d, s.spec, hostIP(s.spec, 10))
	reensure := func(what string) {
		t.Helper()
		if err := s.d.Ensure(ctx, s.spec, s.hosts); err != nil {
			t.Fatalf("Ensure after %s: %v", what, err)
		}
	}

	sh(t, "kill", append([]string{"-KILL"}, s.pids(t)...)...)
	reensure("the DHCP server was killed")
	s.vm.wantLease(t, s.d, s.spec, hostIP(s.spec, 10))

	sh(t, "kill", append([]string{"-KILL"}, s.pids(t)...)...)
	if err := s.d.SetHosts(ctx, s.spec.NetworkID, s.hosts); err != nil {
		t.Fatalf("SetHosts after the DHCP server was killed: %v", err)
	}
	s.vm.wantLease(t, s.d, s.spec, hostIP(s.spec, 10))

	old := s.pids(t)
	sh(t, "ip", "netns", "del", ns)
	reensure("the namespace was deleted")
	s.vm.wantLease(t, s.d, s.spec, hostIP(s.spec, 10))
	for _, p := range old {
		if processAlive(p) {
			t.Errorf("the DHCP server %s of the deleted namespace still runs", p)
		}
	}

	sh(t, "kill", append([]string{"-KILL"}, s.pids(t)...)...)
	sh(t, "ip", "netns", "del", ns)
	sh(t, "ip", "link", "del", br)
	reensure("a reboot")
	s.vm.plug(t, br)
	s.vm.wantLease(t, s.d, s.spec, hostIP(s.spec, 10))
}

// hostRestart: a new dataplane on the same state adopts the running DHCP
// server, and the DHCP server outlives the Ensure call that started it.
func hostRestart(t *testing.T, newDataplane func(t *testing.T) network.Dataplane) {
	s := newLeaseSetup(t, newDataplane)
	pids := s.pids(t)
	d2 := newDataplane(t)
	if err := d2.Ensure(context.Background(), s.spec, s.hosts); err != nil {
		t.Fatalf("Ensure after a restart: %v", err)
	}
	if got := s.pids(t); !slices.Equal(got, pids) {
		t.Errorf("DHCP server pids %v, then %v after a restart: want it adopted", pids, got)
	}
	s.vm.wantLease(t, d2, s.spec, hostIP(s.spec, 10))
}

// hostDelete: Delete removes the bridge, the namespace, the DHCP server,
// the firewall rules naming the bridge and the implementation's files.
func hostDelete(t *testing.T, newDataplane func(t *testing.T) network.Dataplane, opt DataplaneOptions) {
	s := newLeaseSetup(t, newDataplane)
	ns, br := s.d.Namespace(s.spec.NetworkID), s.d.Bridge(s.spec.NetworkID)
	s.vm.wantLease(t, s.d, s.spec, hostIP(s.spec, 10))
	pids := s.pids(t)
	if err := s.d.Delete(context.Background(), s.spec.NetworkID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := os.Lstat("/sys/class/net/" + br); err == nil {
		t.Errorf("bridge %s still exists", br)
	}
	if slices.Contains(nsList(t), ns) {
		t.Errorf("namespace %s still exists", ns)
	}
	for _, p := range pids {
		if processAlive(p) {
			t.Errorf("DHCP server %s still runs", p)
		}
	}
	devs, _ := os.ReadDir("/sys/class/net")
	for _, dev := range devs {
		if strings.Contains(dev.Name(), s.spec.NetworkID[:8]) {
			t.Errorf("device %s, named after the network, still exists", dev.Name())
		}
	}
	for _, cmd := range []string{"iptables", "ip6tables"} {
		if out, err := shErr(cmd, "-w", "-S", "FORWARD"); err == nil && !onlyTestDrop(out, br) {
			t.Errorf("%s FORWARD still names %s:\n%s", cmd, br, out)
		}
	}
	if opt.Leftovers != nil {
		if left := opt.Leftovers(t, s.spec.NetworkID); len(left) > 0 {
			t.Errorf("Delete left %v", left)
		}
	}
}

// onlyTestDrop tells whether the only FORWARD rules naming the bridge are
// the test's own DROP rules.
func onlyTestDrop(rules, br string) bool {
	for _, line := range strings.Split(rules, "\n") {
		if strings.Contains(line, " "+br+" ") && !strings.HasSuffix(strings.TrimSpace(line), "-j DROP") {
			return false
		}
	}
	return true
}

// hostReuse: an address whose port was deleted (its host dropped by
// SetHosts) goes to the next MAC given it, at once: the DHCP server must
// forget the old lease, not keep the address for the old MAC until the
// lease expires (Neutron's dhcp_release).
func hostReuse(t *testing.T, newDataplane func(t *testing.T) network.Dataplane) {
	ctx := context.Background()
	s := newLeaseSetup(t, newDataplane)
	s.vm.wantLease(t, s.d, s.spec, hostIP(s.spec, 10))
	next := newVM(t, s.d.Bridge(s.spec.NetworkID), testMAC())
	hosts := []network.DHCPHost{{MAC: readMAC(t, next), IP: hostIP(s.spec, 10), Hostname: "vm-two"}}
	if err := s.d.SetHosts(ctx, s.spec.NetworkID, hosts); err != nil {
		t.Fatalf("SetHosts: %v", err)
	}
	next.wantLease(t, s.d, s.spec, hostIP(s.spec, 10))
}
