package service_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"imagestack/compute"
	"imagestack/network"
	"imagestack/network/networktest"
	"imagestack/network/service"
)

var (
	ctx    = context.Background()
	member = networktest.MemberCreds
	other  = networktest.OtherCreds
	admin  = networktest.AdminCreds
	reader = networktest.ReaderCreds
)

func ptr[T any](v T) *T { return &v }

func wantKind(t *testing.T, err, kind error, typ string) {
	t.Helper()
	if !errors.Is(err, kind) || typ != "" && network.TypeOf(err) != typ {
		t.Fatalf("got %v (type %q), want %v of type %q", err, network.TypeOf(err), kind, typ)
	}
}

func TestDefaultNetworkAndDHCPPort(t *testing.T) {
	s := networktest.NewSetup(t)
	n := s.DefaultNetwork(t)
	if !n.Shared || n.Status != "ACTIVE" || n.MTU != 1500 || n.Name != "private" || len(n.SubnetIDs) != 1 {
		t.Fatalf("default network: %+v", n)
	}
	sub, err := s.Service.GetSubnet(ctx, member, n.SubnetIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	if sub.GatewayIP != "10.0.0.1" || len(sub.AllocationPools) != 1 || sub.AllocationPools[0] != (network.Pool{Start: "10.0.0.2", End: "10.0.0.254"}) || !sub.EnableDHCP {
		t.Fatalf("default subnet: %+v", sub)
	}
	ports, _ := s.Service.ListPorts(ctx, admin)
	if len(ports) != 1 || ports[0].DeviceOwner != "network:dhcp" || ports[0].FixedIPs[0].IPAddress != "10.0.0.2" {
		t.Fatalf("DHCP port: %+v", ports)
	}
	spec := s.Dataplane.Spec(n.ID)
	if len(spec.Subnets) != 1 || spec.Subnets[0].ServerIP != "10.0.0.2" || spec.Subnets[0].Gateway != "10.0.0.1" {
		t.Fatalf("dataplane spec: %+v", spec)
	}
	if hs := s.Dataplane.Hosts(n.ID); len(hs) != 0 {
		t.Fatalf("the DHCP port is no lease: %+v", hs)
	}
	if again, err := s.Service.EnsureDefaultNetwork(ctx, service.DefaultNetwork{Name: "x", CIDR: "10.1.0.0/24"}); again || err != nil {
		t.Fatalf("a second start made another default network: %v %v", again, err)
	}
}

func TestNetworkPolicy(t *testing.T) {
	s := networktest.NewSetup(t)
	shared := s.DefaultNetwork(t)
	_, err := s.Service.CreateNetwork(ctx, member, service.NetworkInput{Name: ptr("mine")})
	wantKind(t, err, network.ErrForbidden, "PolicyNotAuthorized")
	own, err := s.Service.CreateNetwork(ctx, admin, service.NetworkInput{Name: ptr("a-net"), ProjectID: ptr("A")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Service.GetNetwork(ctx, reader, own.ID); err != nil {
		t.Fatalf("a reader of the owning project sees the network: %v", err)
	}
	_, err = s.Service.GetNetwork(ctx, other, own.ID)
	wantKind(t, err, network.ErrNotFound, "NetworkNotFound")
	if msg := network.Message(err); msg != "Network "+own.ID+" could not be found." {
		t.Fatalf("message %q", msg)
	}
	nets, _ := s.Service.ListNetworks(ctx, other)
	if len(nets) != 1 || nets[0].ID != shared.ID {
		t.Fatalf("project B sees only the shared network: %+v", nets)
	}
	wantKind(t, s.Service.DeleteNetwork(ctx, member, shared.ID), network.ErrForbidden, "PolicyNotAuthorized")
	wantKind(t, s.Service.DeleteNetwork(ctx, other, own.ID), network.ErrNotFound, "NetworkNotFound")
	if err := s.Service.DeleteNetwork(ctx, admin, own.ID); err != nil {
		t.Fatal(err)
	}
	if got := s.Dataplane.Networks(); len(got) != 1 || got[0] != shared.ID {
		t.Fatalf("the deleted network's host side stays: %v", got)
	}
}

func TestSubnetValidation(t *testing.T) {
	s := networktest.NewSetup(t)
	n, err := s.Service.CreateNetwork(ctx, admin, service.NetworkInput{Name: ptr("n")})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(in service.SubnetInput) error {
		in.NetworkID = &n.ID
		_, err := s.Service.CreateSubnet(ctx, admin, in)
		return err
	}
	wantKind(t, mk(service.SubnetInput{CIDR: ptr("10.9.0.0/33")}), network.ErrBadRequest, "InvalidInput")
	wantKind(t, mk(service.SubnetInput{CIDR: ptr("10.9.0.1/24")}), network.ErrBadRequest, "InvalidInput")
	wantKind(t, mk(service.SubnetInput{CIDR: ptr("fd00::/64"), IPVersion: ptr(6)}), network.ErrBadRequest, "InvalidInput")
	wantKind(t, mk(service.SubnetInput{CIDR: ptr("10.9.0.0/24"), GatewayIP: ptr("10.8.0.1")}), network.ErrBadRequest, "GatewayNotAllowed")
	wantKind(t, mk(service.SubnetInput{CIDR: ptr("10.9.0.0/24"), DNSNameservers: &[]string{"x"}}), network.ErrBadRequest, "InvalidInput")
	wantKind(t, mk(service.SubnetInput{CIDR: ptr("10.9.0.0/24"), AllocationPools: &[]network.Pool{{Start: "10.9.0.1", End: "10.9.0.9"}}}),
		network.ErrConflict, "GatewayConflictWithAllocationPools")
	if err := mk(service.SubnetInput{CIDR: ptr("10.9.0.0/24"), NoGateway: true, EnableDHCP: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	wantKind(t, mk(service.SubnetInput{CIDR: ptr("10.9.0.128/25")}), network.ErrBadRequest, "InvalidInput")
	_, err = s.Service.CreateSubnet(ctx, member, service.SubnetInput{NetworkID: &n.ID, CIDR: ptr("10.10.0.0/24")})
	wantKind(t, err, network.ErrNotFound, "NetworkNotFound")
	subs, _ := s.Service.ListSubnets(ctx, admin)
	if len(subs) != 1 || subs[0].GatewayIP != "" || subs[0].AllocationPools[0].Start != "10.9.0.1" {
		t.Fatalf("a subnet without gateway pools every host: %+v", subs)
	}
	if ports, _ := s.Service.ListPorts(ctx, admin); len(ports) != 0 {
		t.Fatalf("a subnet without DHCP gets no DHCP port: %+v", ports)
	}
}

func TestPortsAndLeases(t *testing.T) {
	s := networktest.NewSetup(t)
	n := s.DefaultNetwork(t)
	p, err := s.Service.CreatePort(ctx, member, service.PortInput{NetworkID: &n.ID, Name: ptr("p")})
	if err != nil {
		t.Fatal(err)
	}
	if p.ProjectID != "A" || !strings.HasPrefix(p.MAC, "fa:16:3e:") || len(p.FixedIPs) != 1 || p.FixedIPs[0].IPAddress != "10.0.0.3" ||
		len(p.SecurityGroups) != 1 || p.Status != "DOWN" {
		t.Fatalf("port: %+v", p)
	}
	g, err := s.Service.GetSecurityGroup(ctx, member, p.SecurityGroups[0])
	if err != nil || g.Name != "default" || len(g.Rules) != 4 {
		t.Fatalf("the project's default group with Neutron's four rules: %+v %v", g, err)
	}
	if hs := s.Dataplane.Hosts(n.ID); len(hs) != 1 || hs[0].IP != "10.0.0.3" || hs[0].MAC != p.MAC {
		t.Fatalf("leases: %+v", hs)
	}
	_, err = s.Service.CreatePort(ctx, other, service.PortInput{NetworkID: &n.ID, FixedIPs: &[]service.FixedIPInput{{IPAddress: "10.0.0.3"}}})
	wantKind(t, err, network.ErrForbidden, "PolicyNotAuthorized") // create_port:fixed_ips:ip_address is the network owner's
	_, err = s.Service.CreatePort(ctx, admin, service.PortInput{NetworkID: &n.ID, FixedIPs: &[]service.FixedIPInput{{IPAddress: "10.0.0.3"}}})
	wantKind(t, err, network.ErrConflict, "IpAddressAlreadyAllocated")
	_, err = s.Service.GetPort(ctx, other, p.ID)
	wantKind(t, err, network.ErrNotFound, "PortNotFound")
	_, err = s.Service.UpdatePort(ctx, member, p.ID, service.PortInput{HostID: ptr("h1")})
	wantKind(t, err, network.ErrForbidden, "PolicyNotAuthorized")
	up, err := s.Service.UpdatePort(ctx, member, p.ID, service.PortInput{DeviceID: ptr("vm1"), Name: ptr("renamed")})
	if err != nil || up.Name != "renamed" || up.DeviceID != "vm1" || up.Status != "ACTIVE" || up.RevisionNumber != 1 {
		t.Fatalf("update: %+v %v", up, err)
	}
	if err := s.Service.DeleteSubnet(ctx, admin, n.SubnetIDs[0]); !errors.Is(err, network.ErrConflict) {
		t.Fatalf("deleting a subnet with a port: %v", err)
	}
	if err := s.Service.DeletePort(ctx, member, p.ID); err != nil {
		t.Fatal(err)
	}
	if hs := s.Dataplane.Hosts(n.ID); len(hs) != 0 {
		t.Fatalf("the deleted port's lease stays: %+v", hs)
	}
	if err := s.Service.DeleteSubnet(ctx, admin, n.SubnetIDs[0]); err != nil {
		t.Fatal(err)
	}
	if ports, _ := s.Service.ListPorts(ctx, admin); len(ports) != 0 {
		t.Fatalf("the DHCP port goes with the last DHCP subnet: %+v", ports)
	}
}

func TestQuotas(t *testing.T) {
	s := networktest.NewSetup(t)
	n := s.DefaultNetwork(t)
	if _, err := s.Service.UpdateQuotas(ctx, member, "A", map[string]int{"port": 1}); !errors.Is(err, network.ErrForbidden) {
		t.Fatalf("members set no quotas: %v", err)
	}
	if _, err := s.Service.UpdateQuotas(ctx, admin, "A", map[string]int{"port": 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Service.CreatePort(ctx, member, service.PortInput{NetworkID: &n.ID}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Service.CreatePort(ctx, member, service.PortInput{NetworkID: &n.ID})
	wantKind(t, err, network.ErrConflict, "OverQuota")
	d, err := s.Service.QuotaDetails(ctx, member, "A")
	if err != nil || d["port"].Used != 1 || d["port"].Limit != 1 || d["network"].Limit != 100 {
		t.Fatalf("details: %+v %v", d, err)
	}
}

func TestSecurityGroupRules(t *testing.T) {
	s := networktest.NewSetup(t)
	g, err := s.Service.CreateSecurityGroup(ctx, member, service.GroupInput{Name: ptr("web")})
	if err != nil || len(g.Rules) != 2 {
		t.Fatalf("a new group has the two egress rules: %+v %v", g, err)
	}
	port := 80
	in := service.RuleInput{SecurityGroupID: g.ID, Direction: "ingress", Protocol: "tcp", PortRangeMin: &port, PortRangeMax: &port, RemoteIPPrefix: "0.0.0.0/0"}
	if _, err := s.Service.CreateSecurityGroupRule(ctx, member, in); err != nil {
		t.Fatal(err)
	}
	_, err = s.Service.CreateSecurityGroupRule(ctx, member, in)
	wantKind(t, err, network.ErrConflict, "SecurityGroupRuleExists")
	in.Protocol = ""
	_, err = s.Service.CreateSecurityGroupRule(ctx, member, in)
	wantKind(t, err, network.ErrBadRequest, "SecurityGroupProtocolRequiredWithPorts")
	_, err = s.Service.CreateSecurityGroupRule(ctx, other, service.RuleInput{SecurityGroupID: g.ID, Direction: "ingress"})
	wantKind(t, err, network.ErrNotFound, "SecurityGroupNotFound")
	groups, _ := s.Service.ListSecurityGroups(ctx, member)
	if len(groups) != 2 {
		t.Fatalf("project A has its default group and web: %+v", groups)
	}
	_, err = s.Service.CreateSecurityGroup(ctx, member, service.GroupInput{Name: ptr("default")})
	wantKind(t, err, network.ErrConflict, "SecurityGroupDefaultAlreadyExists")
}

func TestRestore(t *testing.T) {
	s := networktest.NewSetup(t)
	n := s.DefaultNetwork(t)
	if _, err := s.Service.CreatePort(ctx, member, service.PortInput{NetworkID: &n.ID}); err != nil {
		t.Fatal(err)
	}
	_ = s.Dataplane.Delete(ctx, n.ID) // a host reboot
	if err := s.Service.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Dataplane.Spec(n.ID).Subnets[0].ServerIP != "10.0.0.2" || len(s.Dataplane.Hosts(n.ID)) != 1 {
		t.Fatalf("restored: %+v %+v", s.Dataplane.Spec(n.ID), s.Dataplane.Hosts(n.ID))
	}
}

func TestComputeNetworks(t *testing.T) {
	s := networktest.NewSetup(t)
	nets := s.Service.ForCompute()
	got, err := nets.Resolve(ctx, member, compute.NetworksAuto, nil, 1)
	if err != nil || len(got) != 0 {
		t.Fatalf("no network: no NIC, got %+v %v", got, err)
	}
	shared := s.DefaultNetwork(t)
	got, err = nets.Resolve(ctx, member, compute.NetworksAuto, nil, 1)
	if err != nil || len(got) != 1 || got[0].NetworkID != shared.ID {
		t.Fatalf("auto: %+v %v", got, err)
	}
	if _, err := s.Service.CreateNetwork(ctx, admin, service.NetworkInput{Name: ptr("a"), ProjectID: ptr("A")}); err != nil {
		t.Fatal(err)
	}
	_, err = nets.Resolve(ctx, member, compute.NetworksAuto, nil, 1)
	if !errors.Is(err, compute.ErrConflict) || compute.Message(err) != "Multiple possible networks found, use a Network ID to be more specific." {
		t.Fatalf("two networks: %v", err)
	}
	_, err = nets.Resolve(ctx, member, compute.NetworksListed, []compute.NetworkRequest{{NetworkID: "nope"}}, 1)
	if !errors.Is(err, compute.ErrBadRequest) || compute.Message(err) != "Network nope could not be found." {
		t.Fatalf("unknown network: %v", err)
	}
	_, err = nets.Resolve(ctx, member, compute.NetworksListed, []compute.NetworkRequest{{NetworkID: shared.ID, FixedIP: "10.0.0.2"}}, 1)
	if !errors.Is(err, compute.ErrBadRequest) {
		t.Fatalf("the DHCP port's address: %v", err)
	}
	nics, err := nets.Allocate(ctx, member, "server-1", "vm-1", []compute.NetworkRequest{{NetworkID: shared.ID, FixedIP: "10.0.0.9"}})
	if err != nil {
		t.Fatal(err)
	}
	nic := nics[0]
	if nic.Device != "tap"+nic.PortID[:11] || nic.Bridge != s.Dataplane.Bridge(shared.ID) || nic.IPs[0].Address != "10.0.0.9" ||
		nic.IPs[0].Gateway != "10.0.0.1" || nic.IPs[0].CIDR != "10.0.0.0/24" || nic.MTU != 1500 || nic.NetworkName != "private" || nic.Preexisting {
		t.Fatalf("NIC: %+v", nic)
	}
	if hs := s.Dataplane.Hosts(shared.ID); len(hs) != 1 || hs[0].Hostname != "vm-1" || hs[0].IP != "10.0.0.9" {
		t.Fatalf("leases: %+v", hs)
	}
	p, _ := s.Service.GetPort(ctx, member, nic.PortID)
	if p.DeviceOwner != "compute:nova" || p.DeviceID != "server-1" {
		t.Fatalf("port: %+v", p)
	}
	mine, _ := s.Service.CreatePort(ctx, member, service.PortInput{NetworkID: &shared.ID})
	_, err = nets.Resolve(ctx, member, compute.NetworksListed, []compute.NetworkRequest{{PortID: nic.PortID}}, 1)
	if !errors.Is(err, compute.ErrConflict) {
		t.Fatalf("a port in use: %v", err)
	}
	nics, err = nets.Allocate(ctx, member, "server-2", "vm-2", []compute.NetworkRequest{{NetworkID: shared.ID, PortID: mine.ID}})
	if err != nil || !nics[0].Preexisting {
		t.Fatalf("bind: %+v %v", nics, err)
	}
	for _, id := range []string{"server-1", "server-2", "server-2"} {
		if err := nets.Deallocate(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Service.GetPort(ctx, member, nic.PortID); !errors.Is(err, network.ErrNotFound) {
		t.Fatalf("the port Allocate made is deleted: %v", err)
	}
	if p, err := s.Service.GetPort(ctx, member, mine.ID); err != nil || p.DeviceID != "" {
		t.Fatalf("the user's port is unbound, not deleted: %+v %v", p, err)
	}
}
