package service_test

import (
	"context"
	"testing"
	"time"

	"imagestack/compute"
	"imagestack/compute/computetest"
	"imagestack/compute/service"
)

const noValidHost = "No valid host was found. There are not enough hosts available."

// bootOn creates one server of req for the member (see createOne).
func bootOn(t *testing.T, e *computetest.Setup, req service.CreateRequest) *compute.Server {
	t.Helper()
	sv, _ := createOne(t, e, req)
	return sv
}

// wantHost checks where sv went: host, or ERROR with NoValidHost for "".
func wantHost(t *testing.T, what string, sv *compute.Server, host string) {
	t.Helper()
	if host == "" {
		if sv.VMState != compute.VMError || sv.Fault != noValidHost || sv.Host != "" {
			t.Errorf("%s: %s on %q (%s), want NoValidHost", what, sv.VMState, sv.Host, sv.Fault)
		}
		return
	}
	if sv.VMState != compute.VMActive || sv.Host != host || sv.Node != host {
		t.Errorf("%s: %s on %q/%q (%s), want ACTIVE on %s", what, sv.VMState, sv.Host, sv.Node, sv.Fault, host)
	}
}

// TestSchedulerFilters: a server goes only to a host whose service is up
// and enabled, with room for its flavor (capacity x allocation ratio), in
// its zone, and running its image's architecture and hypervisor type;
// when none is left it is in ERROR with Nova's NoValidHost fault.
func TestSchedulerFilters(t *testing.T) {
	stale := time.Now().Add(-2 * time.Minute)
	cases := []struct {
		name  string
		hosts []computetest.Host
		req   service.CreateRequest
		want  string
	}{
		{"room", []computetest.Host{{Name: "full", MemoryMB: 100}, {Name: "ok", MemoryMB: 128}}, service.CreateRequest{}, "ok"},
		{"vcpus x ratio", []computetest.Host{{Name: "a", VCPUs: 1, CPURatio: 0.5}, {Name: "b", VCPUs: 1, CPURatio: 1}}, service.CreateRequest{}, "b"},
		{"ram ratio overcommits", []computetest.Host{{Name: "a", MemoryMB: 64, RAMRatio: 2}}, service.CreateRequest{}, "a"},
		{"disk", []computetest.Host{{Name: "a", LocalGB: 10}}, service.CreateRequest{FlavorRef: "2"}, ""}, // m1.small: 20 GB
		{"heartbeat too old", []computetest.Host{{Name: "old", Heartbeat: stale}, {Name: "new"}}, service.CreateRequest{}, "new"},
		{"only down hosts", []computetest.Host{{Name: "old", Heartbeat: stale}}, service.CreateRequest{}, ""},
		{"zone", []computetest.Host{{Name: "a", Zone: "az2"}, {Name: "b"}}, service.CreateRequest{AvailabilityZone: "nova"}, "b"},
		{"no zone asked: any", []computetest.Host{{Name: "a", Zone: "az2"}}, service.CreateRequest{}, "a"},
		{"architecture", []computetest.Host{{Name: "x86"}, {Name: "arm", Arch: "aarch64"}}, service.CreateRequest{ImageRef: "arm"}, "arm"},
		{"hypervisor type", []computetest.Host{{Name: "a"}}, service.CreateRequest{ImageRef: "xen"}, ""},
		{"no host", nil, service.CreateRequest{}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := computetest.NewSetup(t, computetest.WithoutHost())
			for _, h := range c.hosts {
				computetest.RegisterHost(t, e.Repo, h)
			}
			wantHost(t, c.name, bootOn(t, e, c.req), c.want)
		})
	}
}

// TestSchedulerServiceState: a disabled or forced-down nova-compute takes
// no servers; a deleted one's host is gone from the scheduler.
func TestSchedulerServiceState(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithoutHost())
	ctx := context.Background()
	for _, h := range []string{"a", "b"} {
		computetest.RegisterHost(t, e.Repo, computetest.Host{Name: h})
	}
	yes := true
	if _, err := e.Service.UpdateServiceByHost(ctx, e.Admin, "a", compute.BinaryCompute, service.ServiceChange{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	wantHost(t, "a disabled", bootOn(t, e, service.CreateRequest{}), "b")
	if _, err := e.Service.UpdateServiceByHost(ctx, e.Admin, "b", compute.BinaryCompute, service.ServiceChange{ForcedDown: &yes}); err != nil {
		t.Fatal(err)
	}
	wantHost(t, "a disabled, b forced down", bootOn(t, e, service.CreateRequest{}), "")
}

// TestSchedulerWeighs: by free RAM, ram_weight_multiplier 1 spreads
// servers over the emptiest hosts, -1 packs them onto the fullest that
// still fits.
func TestSchedulerWeighs(t *testing.T) {
	for _, c := range []struct {
		multiplier float64
		want       []string
	}{
		{1, []string{"big", "big", "big", "small", "big", "small"}}, // big 512 MB, small 256 MB
		{-1, []string{"small", "small", "big", "big", "big", "big"}},
	} {
		e := computetest.NewSetup(t, computetest.WithoutHost(), computetest.WithScheduler(service.SchedulerConfig{RAMWeightMultiplier: c.multiplier}))
		computetest.RegisterHost(t, e.Repo, computetest.Host{Name: "big", MemoryMB: 512})
		computetest.RegisterHost(t, e.Repo, computetest.Host{Name: "small", MemoryMB: 256})
		for i, want := range c.want {
			wantHost(t, "boot "+string(rune('1'+i)), bootOn(t, e, service.CreateRequest{}), want)
		}
		wantHost(t, "all full", bootOn(t, e, service.CreateRequest{}), "")
	}
}

// TestSchedulerGroups: affinity keeps a group's members on one host,
// anti-affinity puts each on its own (NoValidHost when the hosts run
// out), soft-anti-affinity prefers new hosts and falls back.
func TestSchedulerGroups(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		policy string
		want   []string
	}{
		{compute.PolicyAffinity, []string{"a", "a", "a"}},
		{compute.PolicyAntiAffinity, []string{"a", "b", ""}},
		{compute.PolicySoftAntiAffinity, []string{"a", "b", "a"}},
		{compute.PolicySoftAffinity, []string{"a", "a", "a"}},
	} {
		e := computetest.NewSetup(t, computetest.WithoutHost())
		computetest.RegisterHost(t, e.Repo, computetest.Host{Name: "a"})
		computetest.RegisterHost(t, e.Repo, computetest.Host{Name: "b"})
		g, err := e.Service.CreateServerGroup(ctx, e.Member, service.NewServerGroup{Name: "g", Policy: c.policy})
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range c.want {
			wantHost(t, c.policy+" member "+string(rune('1'+i)), bootOn(t, e, service.CreateRequest{Group: g.ID}), want)
		}
	}
}

// TestAllocationsFollowServers: a server's allocation is freed when it is
// deleted or offloaded, and a resize holds the larger flavor on the same
// host until confirmed (the new one) or reverted (the old one); a host
// without that room refuses the resize with NoValidHost.
func TestAllocationsFollowServers(t *testing.T) {
	ctx := context.Background()
	e := computetest.NewSetup(t, computetest.WithoutHost())
	computetest.RegisterHost(t, e.Repo, computetest.Host{Name: "h", MemoryMB: 1024})
	used := func(what string, want int) {
		t.Helper()
		u, err := e.Repo.NodeUsage(ctx)
		if err != nil || u["h"].MemoryMB != want {
			t.Fatalf("%s: %+v %v, want %d MB used", what, u, err, want)
		}
	}
	sv := bootOn(t, e, service.CreateRequest{})
	used("booted", 128)
	if err := e.Service.Resize(ctx, e.Member, sv.ID, "2"); err == nil || compute.Message(err) != noValidHost { // m1.small: 2 GB
		t.Fatalf("resize beyond the host: %v", err)
	}
	used("resize refused", 128)
	if err := e.Service.Resize(ctx, e.Member, sv.ID, "1"); err != nil { // m1.tiny: 512 MB
		t.Fatal(err)
	}
	e.Service.Wait()
	used("resized", 512)
	if err := e.Service.RevertResize(ctx, e.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	used("reverted", 128)
	if err := e.Service.Delete(ctx, e.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	used("deleted", 0)
}

// TestRegisterAdoptsServers: servers that ran before hosts were recorded
// (a VM, no host) are placed on the host that registers, with their
// allocation; servers without a VM are left alone.
func TestRegisterAdoptsServers(t *testing.T) {
	ctx := context.Background()
	e := computetest.NewSetup(t)
	legacy := bootOn(t, e, service.CreateRequest{})
	failed := bootOn(t, e, service.CreateRequest{ImageRef: "xen"}) // no host runs xen: NoValidHost
	if err := e.Repo.ReleaseAllocation(ctx, legacy.ID, legacy.Host); err != nil {
		t.Fatal(err)
	}
	legacy.Host, legacy.Node = "", ""
	if err := e.Repo.UpdateServer(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	n, err := e.Service.RegisterNode(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if sv := e.Get(t, legacy.ID); sv.Host != n.Host || sv.Node != n.Host {
		t.Fatalf("legacy server on %q/%q, want %s", sv.Host, sv.Node, n.Host)
	}
	if a, err := e.Repo.AllocationOf(ctx, legacy.ID, n.Host); err != nil || a.Host != n.Host || a.MemoryMB != 128 {
		t.Fatalf("legacy server's allocation: %+v %v", a, err)
	}
	if sv := e.Get(t, failed.ID); sv.Host != "" {
		t.Fatalf("a server without a VM adopted: %+v", sv)
	}
}
