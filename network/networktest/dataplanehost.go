package networktest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"imagestack/network"
)

// sh runs a command on the host and fails the test when it fails.
func sh(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := shErr(name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// shErr runs a command with a timeout; its error carries the output.
func shErr(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), &cmdError{cmd: name + " " + strings.Join(args, " "), out: string(out), err: err}
	}
	return string(out), nil
}

type cmdError struct {
	cmd, out string
	err      error
}

func (e *cmdError) Error() string {
	return e.cmd + ": " + e.err.Error() + ": " + strings.TrimSpace(e.out)
}

// vm is a stand-in for a guest: a namespace whose eth0 (with the guest's
// MAC) is the peer of a veth plugged into the network's bridge, as the
// hypervisor plugs a tap.
type vm struct {
	ns, outer string
}

// newVM makes a vm and removes it at the end of the test.
func newVM(t *testing.T, bridge, mac string) *vm {
	t.Helper()
	s := strings.ReplaceAll(uuid.NewString(), "-", "")[:10]
	v := &vm{ns: "dptest-" + s, outer: "dpt" + s}
	t.Cleanup(func() {
		_, _ = shErr("ip", "netns", "del", v.ns)
		_, _ = shErr("ip", "link", "del", v.outer)
	})
	sh(t, "ip", "netns", "add", v.ns)
	sh(t, "ip", "link", "add", v.outer, "type", "veth", "peer", "name", "eth0", "netns", v.ns)
	_ = os.WriteFile("/proc/sys/net/ipv6/conf/"+v.outer+"/disable_ipv6", []byte("1"), 0o644)
	sh(t, "ip", "-n", v.ns, "link", "set", "eth0", "address", mac, "up")
	sh(t, "ip", "-n", v.ns, "link", "set", "lo", "up")
	v.plug(t, bridge)
	return v
}

// plug (re)plugs the vm into a bridge.
func (v *vm) plug(t *testing.T, bridge string) {
	t.Helper()
	sh(t, "ip", "link", "set", v.outer, "master", bridge, "up")
}

// lease is what udhcpc got.
type lease struct{ ip, mask, router, dns string }

// dhcp runs busybox udhcpc in the vm and returns the lease it got. It
// asks for up to 20 seconds: a DHCP server just restarted on a loaded host
// (the Repair scenario, with a whole suite running beside it) may take
// longer than a few discovers to answer; a lease ends the wait at once.
func (v *vm) dhcp(t *testing.T) lease {
	t.Helper()
	script := filepath.Join(t.TempDir(), "udhcpc.sh")
	err := os.WriteFile(script, []byte("#!/bin/sh\n[ \"$1\" = bound ] && echo \"LEASE|$ip|$mask|$router|$dns\"\nexit 0\n"), 0o755)
	if err != nil {
		t.Fatal(err)
	}
	out, err := shErr("ip", "netns", "exec", v.ns, "busybox", "udhcpc", "-i", "eth0", "-f", "-q", "-n", "-t", "20", "-T", "1", "-s", script)
	if err != nil {
		t.Fatalf("no DHCP lease: %v", err)
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Split(strings.TrimSpace(line), "|"); len(f) == 5 && f[0] == "LEASE" {
			return lease{ip: f[1], mask: f[2], router: f[3], dns: strings.TrimSpace(f[4])}
		}
	}
	t.Fatalf("udhcpc reported no lease: %s", out)
	return lease{}
}

// wantLease checks the vm gets ip by DHCP and, configured with it, answers
// pings from the network's DHCP namespace.
func (v *vm) wantLease(t *testing.T, d network.Dataplane, spec network.HostSpec, ip string) lease {
	t.Helper()
	l := v.dhcp(t)
	if l.ip != ip || (l.mask != "24" && l.mask != "255.255.255.0") {
		t.Fatalf("lease %+v, want %s/24", l, ip)
	}
	sh(t, "ip", "-n", v.ns, "addr", "flush", "dev", "eth0")
	sh(t, "ip", "-n", v.ns, "addr", "add", ip+"/24", "dev", "eth0")
	if out, err := shErr("ip", "netns", "exec", d.Namespace(spec.NetworkID), "busybox", "ping", "-c", "1", "-W", "3", ip); err != nil {
		t.Fatalf("the DHCP namespace cannot reach the vm at %s: %v\n%s", ip, err, out)
	}
	return l
}

// nsPids lists the processes in a namespace.
func nsPids(t *testing.T, ns string) []string {
	t.Helper()
	return strings.Fields(sh(t, "ip", "netns", "pids", ns))
}

// nsList is the output of ip netns list.
func nsList(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, line := range strings.Split(sh(t, "ip", "netns", "list"), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names
}

// processAlive tells whether a pid names a running process (no zombie).
func processAlive(pid string) bool {
	data, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i+2 < len(s) && s[i+2] != 'Z' && s[i+2] != 'X'
}

// dropBridged appends to FORWARD a rule dropping the frames crossing the
// bridge, as Docker's FORWARD policy DROP would, when br_netfilter sends
// bridged frames to iptables; the dataplane must let them pass anyway.
func dropBridged(t *testing.T, bridge string) {
	t.Helper()
	if readTrim("/proc/sys/net/bridge/bridge-nf-call-iptables") != "1" {
		t.Logf("br_netfilter does not send bridged frames to iptables here: the DROP check is moot")
		return
	}
	rule := []string{"FORWARD", "-i", bridge, "-o", bridge, "-j", "DROP"}
	sh(t, "iptables", append([]string{"-w", "-A"}, rule...)...)
	t.Cleanup(func() { _, _ = shErr("iptables", append([]string{"-w", "-D"}, rule...)...) })
}

// hostLayout: the bridge has no address, the MTU, no netfilter calls;
// the namespace exists; frames cross the bridge despite a DROP in FORWARD.
func hostLayout(t *testing.T, newDataplane func(t *testing.T) network.Dataplane) {
	d := newDataplane(t)
	spec := testSpec(uuid.NewString())
	ensure(t, d, spec, nil)
	br := d.Bridge(spec.NetworkID)
	if got := readTrim("/sys/class/net/" + br + "/mtu"); got != "1450" {
		t.Errorf("bridge MTU %s, want 1450", got)
	}
	if out := sh(t, "ip", "-o", "addr", "show", "dev", br); strings.TrimSpace(out) != "" {
		t.Errorf("the bridge has addresses in the root namespace: %s", out)
	}
	for _, f := range []string{"nf_call_iptables", "nf_call_ip6tables", "nf_call_arptables"} {
		if got := readTrim("/sys/class/net/" + br + "/bridge/" + f); got != "0" {
			t.Errorf("bridge %s = %s, want 0", f, got)
		}
	}
	if got := readTrim("/proc/sys/net/ipv6/conf/" + br + "/disable_ipv6"); got != "1" {
		t.Errorf("bridge disable_ipv6 = %s, want 1", got)
	}
	if !strings.Contains(readTrim("/sys/class/net/"+br+"/operstate"), "up") {
		t.Errorf("bridge is %s, want up", readTrim("/sys/class/net/"+br+"/operstate"))
	}
	if !slices.Contains(nsList(t), d.Namespace(spec.NetworkID)) {
		t.Errorf("namespace %s missing from ip netns list", d.Namespace(spec.NetworkID))
	}
	ensure(t, d, spec, nil)
	if got := readTrim("/sys/class/net/" + br + "/mtu"); got != "1450" {
		t.Errorf("bridge MTU %s after a second Ensure, want 1450", got)
	}
}
