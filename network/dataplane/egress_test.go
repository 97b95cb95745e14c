package dataplane_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/uuid"

	"imagestack/network"
	"imagestack/network/dataplane"
)

// Egress changes host-wide settings (ip_forward, iptables), so the test
// runs the dataplane in a namespace of its own standing for the host: the
// test binary runs itself there (ip netns exec) with an "uplink" veth to a
// second namespace standing for the internet (203.0.113.1, which knows no
// route back but to the host's 203.0.113.2). The host's FORWARD policy is
// DROP, as Docker leaves it.
func TestEgress(t *testing.T) {
	if os.Getenv("DATAPLANE_EGRESS_NET") != "" {
		egressChild(t)
		return
	}
	s := strings.ReplaceAll(uuid.NewString(), "-", "")[:10]
	host, inet := "dpeh-"+s, "dpei-"+s
	t.Cleanup(func() {
		for _, ns := range []string{host, inet} {
			_ = exec.Command("ip", "netns", "del", ns).Run()
		}
	})
	for _, c := range [][]string{
		{"netns", "add", host}, {"netns", "add", inet},
		{"-n", host, "link", "add", "up0", "type", "veth", "peer", "name", "up1", "netns", inet},
		{"-n", host, "addr", "add", "203.0.113.2/24", "dev", "up0"},
		{"-n", inet, "addr", "add", "203.0.113.1/24", "dev", "up1"},
		{"-n", host, "link", "set", "up0", "up"}, {"-n", inet, "link", "set", "up1", "up"},
		{"-n", host, "link", "set", "lo", "up"}, {"-n", inet, "link", "set", "lo", "up"},
		{"-n", host, "route", "add", "default", "via", "203.0.113.1"},
		{"netns", "exec", host, "iptables", "-P", "FORWARD", "DROP"},
	} {
		if out, err := exec.Command("ip", c...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", c, err, out)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", host, exe, "-test.run=^TestEgress$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "DATAPLANE_EGRESS_NET="+uuid.NewString(), "DATAPLANE_EGRESS_DIR="+stateDir(t))
	out, err := cmd.CombinedOutput()
	t.Logf("in namespace %s:\n%s", host, out)
	if err != nil {
		t.Fatalf("egress test in namespace %s: %v", host, err)
	}
}

// egressChild runs in the host's stand-in namespace.
func egressChild(t *testing.T) {
	ctx := context.Background()
	id := os.Getenv("DATAPLANE_EGRESS_NET")
	d, err := dataplane.New(dataplane.Config{StateDir: os.Getenv("DATAPLANE_EGRESS_DIR"), Egress: true})
	if err != nil {
		t.Fatal(err)
	}
	spec := network.HostSpec{NetworkID: id, Subnets: []network.DHCPSubnet{{
		ID: "s1", CIDR: "10.55.0.0/24", Gateway: "10.55.0.1", ServerIP: "10.55.0.2"}}}
	t.Cleanup(func() { _ = d.Delete(ctx, id) })
	for range 2 { // idempotent
		if err := d.Ensure(ctx, spec, nil); err != nil {
			t.Fatal(err)
		}
	}
	vm := "dpev-" + id[:8]
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", vm).Run() })
	for _, c := range [][]string{
		{"netns", "add", vm},
		{"link", "add", "dpev" + id[:8], "type", "veth", "peer", "name", "eth0", "netns", vm},
		{"link", "set", "dpev" + id[:8], "master", d.Bridge(id), "up"},
		{"-n", vm, "addr", "add", "10.55.0.10/24", "dev", "eth0"},
		{"-n", vm, "link", "set", "eth0", "up"},
		{"-n", vm, "route", "add", "default", "via", "10.55.0.1"},
	} {
		if out, err := exec.Command("ip", c...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", c, err, out)
		}
	}
	ping := func(addr string) error {
		return exec.Command("ip", "netns", "exec", vm, "busybox", "ping", "-c", "1", "-W", "2", addr).Run()
	}
	if err := ping("203.0.113.1"); err != nil {
		t.Errorf("the guest does not reach the internet through NAT: %v", err)
	}
	if ping("203.0.113.2") == nil {
		t.Errorf("the guest reaches the host's own address")
	}
	egressDeleted(t, d, id)
}

// egressDeleted: Delete leaves no device or rule of the network.
func egressDeleted(t *testing.T, d *dataplane.Linux, id string) {
	if err := d.Delete(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"filter", "nat"} {
		out, err := exec.Command("iptables", "-w", "-t", table, "-S").CombinedOutput()
		if err != nil || strings.Contains(string(out), id) {
			t.Errorf("iptables -t %s after Delete (%v):\n%s", table, err, out)
		}
	}
	devs, _ := os.ReadDir("/sys/class/net")
	for _, dev := range devs {
		if strings.Contains(dev.Name(), id[:11]) {
			t.Errorf("device %s left", dev.Name())
		}
	}
}
