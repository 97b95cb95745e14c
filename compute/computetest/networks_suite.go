package computetest

import (
	"context"
	"errors"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"imagestack/compute"
	"imagestack/policy"
)

// NetworksFixture is an implementation of compute.Networks under test and
// how to give it networks.
type NetworksFixture struct {
	Networks compute.Networks
	// User is whom requests are made for (a member of a project).
	User policy.Credentials
	// AddNetwork creates a network the user may use, named name, with one
	// IPv4 subnet of cidr (a /24), and returns its id.
	AddNetwork func(t *testing.T, name, cidr string) string
	// AddSecurityGroup creates a security group of the user's project and
	// returns its id.
	AddSecurityGroup func(t *testing.T, name string) string
}

// NetworksSuite checks the compute.Networks contract; newFixture gives each
// subtest a fresh implementation without networks.
func NetworksSuite(t *testing.T, newFixture func(t *testing.T) NetworksFixture) {
	ctx := context.Background()
	t.Run("auto with no network is no NIC", func(t *testing.T) {
		f := newFixture(t)
		reqs, err := f.Networks.Resolve(ctx, f.User, compute.NetworksAuto, nil, 1)
		if err != nil || len(reqs) != 0 {
			t.Fatalf("Resolve: %v, %v", reqs, err)
		}
	})
	t.Run("auto picks the one network", func(t *testing.T) { autoOne(t, newFixture(t)) })
	t.Run("auto with several is a conflict", func(t *testing.T) {
		f := newFixture(t)
		f.AddNetwork(t, "a", "10.1.0.0/24")
		f.AddNetwork(t, "b", "10.2.0.0/24")
		if _, err := f.Networks.Resolve(ctx, f.User, compute.NetworksAuto, nil, 1); !errors.Is(err, compute.ErrConflict) {
			t.Fatalf("Resolve: %v, want a conflict", err)
		}
		if reqs, err := f.Networks.Resolve(ctx, f.User, compute.NetworksNone, nil, 1); err != nil || len(reqs) != 0 {
			t.Fatalf("none: %v, %v", reqs, err)
		}
	})
	t.Run("unknown network is a bad request", func(t *testing.T) {
		f := newFixture(t)
		f.AddNetwork(t, "a", "10.1.0.0/24")
		_, err := f.Networks.Resolve(ctx, f.User, compute.NetworksListed, []compute.NetworkRequest{{NetworkID: uuid.NewString()}}, 1)
		if !errors.Is(err, compute.ErrBadRequest) {
			t.Fatalf("Resolve: %v, want a bad request", err)
		}
	})
	t.Run("concurrent allocations get distinct addresses", func(t *testing.T) { concurrentAllocations(t, newFixture(t)) })
	t.Run("security groups by name or id", func(t *testing.T) { securityGroups(t, newFixture(t)) })
}

var (
	macPattern = regexp.MustCompile(`^fa:16:3e(:[0-9a-f]{2}){3}$`)
)

// checkNIC checks one NIC against the contract: on network id, with an
// address of cidr, a Neutron MAC, a tap named after the port.
func checkNIC(t *testing.T, n compute.NIC, id, name, cidr string) {
	t.Helper()
	prefix := netip.MustParsePrefix(cidr)
	if n.NetworkID != id || n.NetworkName != name || n.PortID == "" || !macPattern.MatchString(n.MAC) || n.Bridge == "" ||
		len(n.Device) > 14 || !strings.HasPrefix(n.Device, "tap") || len(n.IPs) != 1 {
		t.Fatalf("NIC %+v", n)
	}
	ip, err := netip.ParseAddr(n.IPs[0].Address)
	if err != nil || !prefix.Contains(ip) || n.IPs[0].Version != 4 || n.IPs[0].CIDR != cidr {
		t.Fatalf("address %+v not in %s", n.IPs[0], cidr)
	}
}

func autoOne(t *testing.T, f NetworksFixture) {
	ctx := context.Background()
	id := f.AddNetwork(t, "private", "10.9.0.0/24")
	reqs, err := f.Networks.Resolve(ctx, f.User, compute.NetworksAuto, nil, 1)
	if err != nil || len(reqs) != 1 || reqs[0].NetworkID != id {
		t.Fatalf("Resolve: %+v, %v", reqs, err)
	}
	server := uuid.NewString()
	nics, err := f.Networks.Allocate(ctx, f.User, server, "vm", reqs)
	if err != nil || len(nics) != 1 {
		t.Fatalf("Allocate: %+v, %v", nics, err)
	}
	checkNIC(t, nics[0], id, "private", "10.9.0.0/24")
	for range 2 {
		if err := f.Networks.Deallocate(ctx, server); err != nil {
			t.Fatalf("Deallocate: %v", err)
		}
	}
}

func concurrentAllocations(t *testing.T, f NetworksFixture) {
	ctx := context.Background()
	id := f.AddNetwork(t, "private", "10.8.0.0/24")
	reqs := []compute.NetworkRequest{{NetworkID: id}}
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			server := uuid.NewString()
			nics, err := f.Networks.Allocate(ctx, f.User, server, "vm", reqs)
			if err != nil {
				t.Errorf("Allocate: %v", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, n := range nics {
				if other, dup := seen[n.IPs[0].Address]; dup {
					t.Errorf("%s given to servers %s and %s", n.IPs[0].Address, other, server)
				}
				seen[n.IPs[0].Address] = server
			}
		}()
	}
	wg.Wait()
	for _, server := range seen {
		if err := f.Networks.Deallocate(ctx, server); err != nil {
			t.Fatal(err)
		}
	}
}

// securityGroups: a request's groups, by name or id, become ids and the
// port's (NIC's) groups; none given is the default group; an unknown one is
// a bad request; with NetworksAuto the one entry's groups apply.
func securityGroups(t *testing.T, f NetworksFixture) {
	ctx := context.Background()
	id := f.AddNetwork(t, "private", "10.7.0.0/24")
	web := f.AddSecurityGroup(t, "web")
	reqs, err := f.Networks.Resolve(ctx, f.User, compute.NetworksListed,
		[]compute.NetworkRequest{{NetworkID: id, SecurityGroups: []string{web, "default"}}, {NetworkID: id}}, 1)
	if err != nil || len(reqs) != 2 || len(reqs[0].SecurityGroups) != 2 || reqs[0].SecurityGroups[0] != web || reqs[1].SecurityGroups != nil {
		t.Fatalf("Resolve: %+v, %v", reqs, err)
	}
	server := uuid.NewString()
	nics, err := f.Networks.Allocate(ctx, f.User, server, "vm", reqs)
	if err != nil || len(nics) != 2 || strings.Join(nics[0].SecurityGroups, ",") != "web,default" ||
		strings.Join(nics[1].SecurityGroups, ",") != "default" {
		t.Fatalf("Allocate: %+v, %v", nics, err)
	}
	if err := f.Networks.Deallocate(ctx, server); err != nil {
		t.Fatal(err)
	}
	auto, err := f.Networks.Resolve(ctx, f.User, compute.NetworksAuto, []compute.NetworkRequest{{SecurityGroups: []string{"web"}}}, 1)
	if err != nil || len(auto) != 1 || len(auto[0].SecurityGroups) != 1 || auto[0].SecurityGroups[0] != web {
		t.Fatalf("Resolve auto: %+v, %v", auto, err)
	}
	_, err = f.Networks.Resolve(ctx, f.User, compute.NetworksListed, []compute.NetworkRequest{{NetworkID: id, SecurityGroups: []string{"nope"}}}, 1)
	if !errors.Is(err, compute.ErrBadRequest) {
		t.Fatalf("an unknown group: %v, want a bad request", err)
	}
}
