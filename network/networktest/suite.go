package networktest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"imagestack/network"
)

// RepositorySuite checks a network.Repository against its contract; fresh
// returns an empty repository.
func RepositorySuite(t *testing.T, fresh func(t *testing.T) network.Repository) {
	t.Run("networks", func(t *testing.T) { suiteNetworks(t, fresh(t)) })
	t.Run("subnets", func(t *testing.T) { suiteSubnets(t, fresh(t)) })
	t.Run("addresses", func(t *testing.T) { suiteAddresses(t, fresh(t)) })
	t.Run("concurrent addresses", func(t *testing.T) { suiteConcurrent(t, fresh(t)) })
	t.Run("in use", func(t *testing.T) { suiteInUse(t, fresh(t)) })
	t.Run("security groups", func(t *testing.T) { suiteGroups(t, fresh(t)) })
	t.Run("quotas", func(t *testing.T) { suiteQuotas(t, fresh(t)) })
}

var ctx = context.Background()

func std() network.Standard {
	now := time.Now().UTC().Truncate(time.Second)
	return network.Standard{CreatedAt: now, UpdatedAt: now}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantKind(t *testing.T, err, kind error, what string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("%s: got %v, want an error wrapping %v", what, err, kind)
	}
}

// seed stores network "n1" with subnet "s1" of cidr whose pool is first..last.
func seed(t *testing.T, r network.Repository, cidr, first, last string) {
	t.Helper()
	must(t, r.CreateNetwork(ctx, network.Network{ID: "n1", Name: "net", ProjectID: "A", MTU: 1500, Status: "ACTIVE", Standard: std()}))
	must(t, r.CreateSubnet(ctx, network.Subnet{ID: "s1", NetworkID: "n1", ProjectID: "A", IPVersion: 4, CIDR: cidr,
		GatewayIP: "", EnableDHCP: true, AllocationPools: []network.Pool{{Start: first, End: last}}, Standard: std()}))
}

func port(id string) network.Port {
	return network.Port{ID: id, NetworkID: "n1", ProjectID: "A", Status: "DOWN", Standard: std()}
}

func suiteNetworks(t *testing.T, r network.Repository) {
	n := network.Network{ID: "n1", Name: "net", ProjectID: "A", Shared: true, MTU: 1500, Status: "ACTIVE", Standard: std()}
	must(t, r.CreateNetwork(ctx, n))
	wantKind(t, r.CreateNetwork(ctx, n), network.ErrConflict, "same id twice")
	got, err := r.GetNetwork(ctx, "n1")
	must(t, err)
	if got.Name != "net" || !got.Shared || got.MTU != 1500 || !got.CreatedAt.Equal(n.CreatedAt) {
		t.Fatalf("stored %+v, read %+v", n, got)
	}
	got.Name, got.Shared = "renamed", false
	must(t, r.UpdateNetwork(ctx, got))
	if again, _ := r.GetNetwork(ctx, "n1"); again.Name != "renamed" || again.Shared {
		t.Fatalf("update not stored: %+v", again)
	}
	list, err := r.ListNetworks(ctx)
	must(t, err)
	if len(list) != 1 || list[0].ID != "n1" {
		t.Fatalf("list: %+v", list)
	}
	must(t, r.DeleteNetwork(ctx, "n1"))
	_, err = r.GetNetwork(ctx, "n1")
	wantKind(t, err, network.ErrNotFound, "deleted network")
	wantKind(t, r.DeleteNetwork(ctx, "n1"), network.ErrNotFound, "deleting twice")
	wantKind(t, r.UpdateNetwork(ctx, got), network.ErrNotFound, "updating a deleted network")
}

func suiteSubnets(t *testing.T, r network.Repository) {
	seed(t, r, "10.0.0.0/24", "10.0.0.2", "10.0.0.254")
	sub, err := r.GetSubnet(ctx, "s1")
	must(t, err)
	if sub.CIDR != "10.0.0.0/24" || len(sub.AllocationPools) != 1 || sub.DNSNameservers == nil {
		t.Fatalf("subnet read back as %+v", sub)
	}
	over := network.Subnet{ID: "s2", NetworkID: "n1", IPVersion: 4, CIDR: "10.0.0.128/25", Standard: std()}
	wantKind(t, r.CreateSubnet(ctx, over), network.ErrBadRequest, "overlapping subnet")
	over.NetworkID = "nope"
	wantKind(t, r.CreateSubnet(ctx, over), network.ErrNotFound, "subnet of a missing network")
	sub.DNSNameservers = []string{"192.0.2.53"}
	must(t, r.UpdateSubnet(ctx, sub))
	subs, err := r.ListSubnets(ctx, "n1")
	must(t, err)
	if len(subs) != 1 || len(subs[0].DNSNameservers) != 1 {
		t.Fatalf("subnets: %+v", subs)
	}
	must(t, r.DeleteSubnet(ctx, "s1"))
	_, err = r.GetSubnet(ctx, "s1")
	wantKind(t, err, network.ErrNotFound, "deleted subnet")
}

func suiteAddresses(t *testing.T, r network.Repository) {
	seed(t, r, "10.0.0.0/29", "10.0.0.2", "10.0.0.4")
	p1, err := r.CreatePort(ctx, port("p1"), []network.IPRequest{{SubnetID: "s1"}})
	must(t, err)
	if len(p1.FixedIPs) != 1 || p1.FixedIPs[0].IPAddress != "10.0.0.2" || len(p1.MAC) != 17 || p1.MAC[:8] != "fa:16:3e" {
		t.Fatalf("first port: %+v", p1)
	}
	_, err = r.CreatePort(ctx, port("p2"), []network.IPRequest{{SubnetID: "s1", IPAddress: "10.0.0.2"}})
	wantKind(t, err, network.ErrConflict, "an address in use")
	dupMAC := port("p2")
	dupMAC.MAC = p1.MAC
	_, err = r.CreatePort(ctx, dupMAC, nil)
	wantKind(t, err, network.ErrConflict, "a MAC in use")
	_, err = r.CreatePort(ctx, port("p2"), []network.IPRequest{{SubnetID: "s1", IPAddress: "10.0.1.9"}})
	wantKind(t, err, network.ErrBadRequest, "an address outside the subnet")
	p3, err := r.CreatePort(ctx, port("p3"), []network.IPRequest{{SubnetID: "s1", IPAddress: "10.0.0.4"}})
	must(t, err)
	p4, err := r.CreatePort(ctx, port("p4"), []network.IPRequest{{SubnetID: "s1"}})
	must(t, err)
	if p4.FixedIPs[0].IPAddress != "10.0.0.3" {
		t.Fatalf("the free address was 10.0.0.3, got %+v", p4.FixedIPs)
	}
	_, err = r.CreatePort(ctx, port("p5"), []network.IPRequest{{SubnetID: "s1"}})
	wantKind(t, err, network.ErrConflict, "a full subnet")
	if _, err := r.GetPort(ctx, "p5"); !errors.Is(err, network.ErrNotFound) {
		t.Fatalf("a failed create left port p5 behind: %v", err)
	}
	must(t, r.DeletePort(ctx, p3.ID))
	p5, err := r.CreatePort(ctx, port("p5"), []network.IPRequest{{SubnetID: "s1"}})
	must(t, err)
	if p5.FixedIPs[0].IPAddress != "10.0.0.4" {
		t.Fatalf("the freed address 10.0.0.4 was not given again: %+v", p5.FixedIPs)
	}
	p5.DeviceID = "server"
	p5, err = r.UpdatePort(ctx, p5, []network.IPRequest{{SubnetID: "s1"}})
	must(t, err)
	if p5.DeviceID != "server" || p5.FixedIPs[0].IPAddress != "10.0.0.4" {
		t.Fatalf("an update asking for any address on the same subnet keeps the address: %+v", p5)
	}
	byDevice, err := r.ListPorts(ctx, network.PortFilter{DeviceID: "server"})
	must(t, err)
	if len(byDevice) != 1 || byDevice[0].ID != "p5" || len(byDevice[0].FixedIPs) != 1 {
		t.Fatalf("ports of device: %+v", byDevice)
	}
}

// suiteConcurrent races more creates than there are addresses: every
// address goes to exactly one port, the others fail with ErrConflict.
func suiteConcurrent(t *testing.T, r network.Repository) {
	seed(t, r, "10.0.0.0/28", "10.0.0.2", "10.0.0.14") // 13 addresses
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = r.CreatePort(ctx, port(fmt.Sprintf("p%02d", i)), []network.IPRequest{{SubnetID: "s1"}})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if !errors.Is(err, network.ErrConflict) {
			t.Errorf("create failed with %v, want success or ErrConflict", err)
		}
	}
	ports, err := r.ListPorts(ctx, network.PortFilter{NetworkID: "n1"})
	must(t, err)
	seen := map[string]string{}
	for _, p := range ports {
		for _, ip := range p.FixedIPs {
			if other, dup := seen[ip.IPAddress]; dup {
				t.Errorf("address %s given to %s and %s", ip.IPAddress, other, p.ID)
			}
			seen[ip.IPAddress] = p.ID
		}
	}
	if ok != 13 || len(ports) != 13 || len(seen) != 13 {
		t.Fatalf("%d creates succeeded, %d ports, %d addresses; want 13 of each", ok, len(ports), len(seen))
	}
}

func suiteInUse(t *testing.T, r network.Repository) {
	seed(t, r, "10.0.0.0/24", "10.0.0.2", "10.0.0.254")
	dhcp := port("dhcp")
	dhcp.DeviceOwner = network.OwnerDHCP
	_, err := r.CreatePort(ctx, dhcp, []network.IPRequest{{SubnetID: "s1"}})
	must(t, err)
	_, err = r.CreatePort(ctx, port("vm"), []network.IPRequest{{SubnetID: "s1"}})
	must(t, err)
	wantKind(t, r.DeleteSubnet(ctx, "s1"), network.ErrConflict, "a subnet with a port's address")
	wantKind(t, r.DeleteNetwork(ctx, "n1"), network.ErrConflict, "a network with a port")
	must(t, r.DeletePort(ctx, "vm"))
	must(t, r.DeleteSubnet(ctx, "s1"))
	if p, err := r.GetPort(ctx, "dhcp"); err != nil || len(p.FixedIPs) != 0 {
		t.Fatalf("the DHCP port keeps no address in a deleted subnet: %+v %v", p, err)
	}
	must(t, r.DeleteNetwork(ctx, "n1"))
	if _, err := r.GetPort(ctx, "dhcp"); !errors.Is(err, network.ErrNotFound) {
		t.Fatalf("the DHCP port goes with its network: %v", err)
	}
}

func suiteGroups(t *testing.T, r network.Repository) {
	g := network.SecurityGroup{ID: "g1", ProjectID: "A", Name: "default", Default: true, Stateful: true, Standard: std(),
		Rules: []network.SecurityGroupRule{{ID: "r1", SecurityGroupID: "g1", ProjectID: "A", Direction: "egress", EtherType: "IPv4", Standard: std()}}}
	must(t, r.CreateSecurityGroup(ctx, g))
	second := g
	second.ID, second.Rules = "g2", nil
	wantKind(t, r.CreateSecurityGroup(ctx, second), network.ErrConflict, "a second default group")
	second.Default, second.Name = false, "web"
	must(t, r.CreateSecurityGroup(ctx, second))
	got, err := r.GetSecurityGroup(ctx, "g1")
	must(t, err)
	if !got.Default || len(got.Rules) != 1 || got.Rules[0].Direction != "egress" {
		t.Fatalf("group read back as %+v", got)
	}
	lo := 22
	must(t, r.CreateSecurityGroupRule(ctx, network.SecurityGroupRule{ID: "r2", SecurityGroupID: "g2", ProjectID: "A",
		Direction: "ingress", EtherType: "IPv4", Protocol: "tcp", PortRangeMin: &lo, PortRangeMax: &lo, Standard: std()}))
	wantKind(t, r.CreateSecurityGroupRule(ctx, network.SecurityGroupRule{ID: "r3", SecurityGroupID: "nope", Standard: std()}),
		network.ErrNotFound, "a rule of a missing group")
	rule, err := r.GetSecurityGroupRule(ctx, "r2")
	must(t, err)
	if rule.PortRangeMin == nil || *rule.PortRangeMin != 22 || rule.Protocol != "tcp" {
		t.Fatalf("rule read back as %+v", rule)
	}
	must(t, r.CreateNetwork(ctx, network.Network{ID: "n1", ProjectID: "A", Standard: std()}))
	p := port("p1")
	p.SecurityGroups = []string{"g2"}
	_, err = r.CreatePort(ctx, p, nil)
	must(t, err)
	wantKind(t, r.DeleteSecurityGroup(ctx, "g2"), network.ErrConflict, "a group a port uses")
	must(t, r.DeletePort(ctx, "p1"))
	must(t, r.DeleteSecurityGroup(ctx, "g2"))
	_, err = r.GetSecurityGroupRule(ctx, "r2")
	wantKind(t, err, network.ErrNotFound, "a rule of a deleted group")
}

func suiteQuotas(t *testing.T, r network.Repository) {
	q, err := r.Quotas(ctx, "A")
	must(t, err)
	if len(q) != 0 {
		t.Fatalf("a project without limits has %v", q)
	}
	must(t, r.SetQuotas(ctx, "A", map[string]int{"network": 3, "port": 7}))
	must(t, r.SetQuotas(ctx, "A", map[string]int{"network": 4}))
	q, err = r.Quotas(ctx, "A")
	must(t, err)
	if q["network"] != 4 || q["port"] != 7 || len(q) != 2 {
		t.Fatalf("limits %v, want network 4 and port 7", q)
	}
	must(t, r.SetQuotas(ctx, "B", map[string]int{"subnet": 1}))
	if ps, err := r.QuotaProjects(ctx); err != nil || len(ps) != 2 || ps[0] != "A" || ps[1] != "B" {
		t.Fatalf("projects with limits: %v %v", ps, err)
	}
	if done, err := r.Bootstrapped(ctx, "default-network"); done || err != nil {
		t.Fatalf("a fresh repository has done no bootstrap step: %v %v", done, err)
	}
	must(t, r.MarkBootstrapped(ctx, "default-network"))
	must(t, r.MarkBootstrapped(ctx, "default-network"))
	if done, err := r.Bootstrapped(ctx, "default-network"); !done || err != nil {
		t.Fatalf("a marked step is done: %v %v", done, err)
	}
	must(t, r.DeleteQuotas(ctx, "A"))
	if q, _ := r.Quotas(ctx, "A"); len(q) != 0 {
		t.Fatalf("limits after delete: %v", q)
	}
}
