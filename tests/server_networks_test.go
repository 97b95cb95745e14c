package tests

import (
	"context"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

func networkClient(t *testing.T, s *Server, cloud string) *gophercloud.ServiceClient {
	t.Helper()
	provider, err := openstack.AuthenticatedClient(t.Context(), authOptions(s, cloud))
	if err != nil {
		t.Fatal(err)
	}
	c, err := openstack.NewNetworkV2(provider, gophercloud.EndpointOpts{Region: "RegionOne"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestServersOnNetworks, through gophercloud: a server's addresses
// (servers.ListAddresses, by network too) are its port's; a fixed IP and
// a port made beforehand are honoured; with two networks a server must
// name one; a batch gets distinct addresses; deleting servers releases
// their ports (a preexisting port is only unbound).
func TestServersOnNetworks(t *testing.T) {
	requireLibvirt(t)
	s := NewServer(t, nil, "")
	ctx := t.Context()
	cc, nc, admin := computeClient(t, s, "demo"), networkClient(t, s, "demo"), networkClient(t, s, "admin")
	s.MustCLI("demo", "image", "create", "--file", bootImage(t, "NETS-BOOT"), "--disk-format", "raw", "--container-format", "bare", "nets")
	image := strings.TrimSpace(s.MustCLI("demo", "image", "show", "-f", "value", "-c", "id", "nets"))
	shared := true
	net2, err := networks.Create(ctx, admin, networks.CreateOpts{Name: "net2", Shared: &shared}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := subnets.Create(ctx, admin, subnets.CreateOpts{NetworkID: net2.ID, CIDR: "10.20.0.0/24", IPVersion: gophercloud.IPv4}).Extract(); err != nil {
		t.Fatal(err)
	}
	create := func(name string, nets []servers.Network, count int) (*servers.Server, error) {
		opts := servers.CreateOpts{Name: name, ImageRef: image, FlavorRef: "42", Networks: nets, Min: count, Max: count}
		return servers.Create(ctx, cc, opts, nil).Extract()
	}
	if _, err := create("ambiguous", nil, 1); !gophercloud.ResponseCodeIs(err, 409) {
		t.Fatalf("two networks, none named: %v, want 409", err)
	}
	if _, err := create("unknown", []servers.Network{{UUID: "33333333-3333-3333-3333-333333333333"}}, 1); !gophercloud.ResponseCodeIs(err, 400) {
		t.Fatalf("unknown network: %v, want 400", err)
	}
	mine, err := ports.Create(ctx, nc, ports.CreateOpts{NetworkID: net2.ID, Name: "mine"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	vm, err := create("vm", []servers.Network{{UUID: net2.ID, FixedIP: "10.20.0.50"}, {Port: mine.ID}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	waitServer(t, ctx, cc, vm.ID, "ACTIVE")
	checkAddresses(t, ctx, cc, nc, vm.ID, "10.20.0.50", mine.FixedIPs[0].IPAddress)

	if _, err := create("batch", []servers.Network{{UUID: net2.ID}}, 4); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{"10.20.0.50": true, mine.FixedIPs[0].IPAddress: true}
	list := allServers(t, ctx, cc, servers.ListOpts{Name: "^batch-"})
	if len(list) != 4 {
		t.Fatalf("batch of 4: %d servers", len(list))
	}
	for _, sv := range list {
		waitServer(t, ctx, cc, sv.ID, "ACTIVE")
		addr := serverAddresses(t, ctx, cc, sv.ID)["net2"]
		if len(addr) != 1 || seen[addr[0].Address] {
			t.Fatalf("batch server %s has %+v (seen %v)", sv.Name, addr, seen)
		}
		seen[addr[0].Address] = true
	}
	for _, sv := range append(list, *vm) {
		if err := servers.Delete(ctx, cc, sv.ID).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		waitGoneT(t, ctx, cc, sv.ID)
	}
	left := allPorts(t, ctx, nc, ports.ListOpts{NetworkID: net2.ID})
	if len(left) != 1 || left[0].ID != mine.ID || left[0].DeviceID != "" {
		t.Fatalf("after the deletes the network holds %+v; want only the unbound preexisting port", left)
	}
}

// checkAddresses: the server's addresses, all or on net2, are want, and
// each is a port of the server with the MAC the server shows.
func checkAddresses(t *testing.T, ctx context.Context, cc, nc *gophercloud.ServiceClient, id string, want ...string) {
	t.Helper()
	got := serverAddresses(t, ctx, cc, id)["net2"]
	if len(got) != len(want) {
		t.Fatalf("addresses %+v, want %v", got, want)
	}
	var byNet []servers.Address
	err := servers.ListAddressesByNetwork(cc, id, "net2").EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
		a, err := servers.ExtractNetworkAddresses(p)
		byNet = append(byNet, a...)
		return true, err
	})
	if err != nil || len(byNet) != len(want) {
		t.Fatalf("addresses on net2: %+v %v", byNet, err)
	}
	theirs := allPorts(t, ctx, nc, ports.ListOpts{DeviceID: id})
	for i, w := range want {
		if got[i].Address != w || byNet[i].Address != w {
			t.Fatalf("address %d: %+v / %+v, want %s", i, got[i], byNet[i], w)
		}
		found := false
		for _, p := range theirs {
			found = found || (p.FixedIPs[0].IPAddress == w && strings.HasPrefix(p.MACAddress, "fa:16:3e:"))
		}
		if !found {
			t.Fatalf("no port of the server holds %s: %+v", w, theirs)
		}
	}
}

func serverAddresses(t *testing.T, ctx context.Context, cc *gophercloud.ServiceClient, id string) map[string][]servers.Address {
	t.Helper()
	pages, err := servers.ListAddresses(cc, id).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, err := servers.ExtractAddresses(pages)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func allServers(t *testing.T, ctx context.Context, cc *gophercloud.ServiceClient, opts servers.ListOpts) []servers.Server {
	t.Helper()
	pages, err := servers.List(cc, opts).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list, err := servers.ExtractServers(pages)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func allPorts(t *testing.T, ctx context.Context, nc *gophercloud.ServiceClient, opts ports.ListOpts) []ports.Port {
	t.Helper()
	pages, err := ports.List(nc, opts).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list, err := ports.ExtractPorts(pages)
	if err != nil {
		t.Fatal(err)
	}
	return list
}
