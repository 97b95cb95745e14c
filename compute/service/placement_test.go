package service_test

import (
	"context"
	"errors"
	"testing"

	"imagestack/compute"
	"imagestack/compute/computetest"
	"imagestack/compute/service"
)

// TestPlace: the placement step over several hosts: affinity follows the
// members, anti-affinity avoids them up to max_server_per_host, the soft
// policies prefer and never fail.
func TestPlace(t *testing.T) {
	hosts := []string{"h1", "h2"}
	group := func(policy string, max int, memberHosts ...string) *compute.ServerGroup {
		g := &compute.ServerGroup{Policy: policy, MaxServerPerHost: max}
		for i, h := range memberHosts {
			g.Members = append(g.Members, compute.GroupMember{ServerID: string(rune('a' + i)), Host: h})
		}
		return g
	}
	cases := []struct {
		name  string
		hosts []string
		g     *compute.ServerGroup
		want  string // "" = no valid host
	}{
		{"no group", hosts, nil, "h1"},
		{"affinity, first member", hosts, group(compute.PolicyAffinity, 0), "h1"},
		{"affinity follows", hosts, group(compute.PolicyAffinity, 0, "h2"), "h2"},
		{"affinity, members' host gone", []string{"h1"}, group(compute.PolicyAffinity, 0, "h2"), ""},
		{"anti-affinity avoids", hosts, group(compute.PolicyAntiAffinity, 0, "h1"), "h2"},
		{"anti-affinity full", hosts, group(compute.PolicyAntiAffinity, 0, "h1", "h2"), ""},
		{"max_server_per_host 2", hosts, group(compute.PolicyAntiAffinity, 2, "h1", "h2", "h1"), "h2"},
		{"max_server_per_host reached", []string{"h1"}, group(compute.PolicyAntiAffinity, 2, "h1", "h1"), ""},
		{"unplaced members do not count", []string{"h1"}, group(compute.PolicyAntiAffinity, 0, ""), "h1"},
		{"soft-anti-affinity prefers", hosts, group(compute.PolicySoftAntiAffinity, 0, "h1"), "h2"},
		{"soft-anti-affinity never fails", []string{"h1"}, group(compute.PolicySoftAntiAffinity, 0, "h1"), "h1"},
		{"soft-affinity prefers", hosts, group(compute.PolicySoftAffinity, 0, "h2"), "h2"},
		{"soft-affinity never fails", []string{"h1"}, group(compute.PolicySoftAffinity, 0, "h2"), "h1"},
	}
	for _, c := range cases {
		got, err := service.Place(c.hosts, c.g, "new")
		if c.want == "" {
			if err == nil || err.Error() != "No valid host was found. There are not enough hosts available." {
				t.Errorf("%s: %q, %v; want no valid host", c.name, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: %q, %v; want %s", c.name, got, err, c.want)
		}
	}
}

// TestCheckQuotaDelta: what resize and unshelve ask: a growth within the
// project's stored limits passes, beyond them is 403, shrinking always
// passes, unlimited never refuses.
func TestCheckQuotaDelta(t *testing.T) {
	e := computetest.NewSetup(t)
	e.Boot(t, e.Member) // 1 core, 128 MiB
	ctx := context.Background()
	if _, err := e.Service.UpdateProjectQuotas(ctx, e.Admin, "A", "", map[string]int{compute.QuotaCores: 2, compute.QuotaRAM: -1}, false); err != nil {
		t.Fatal(err)
	}
	if err := e.Service.CheckQuotaDelta(ctx, "A", 1, 1<<30); err != nil {
		t.Fatalf("growth within the quota: %v", err)
	}
	err := e.Service.CheckQuotaDelta(ctx, "A", 2, 0)
	if !errors.Is(err, compute.ErrOverQuota) || compute.Message(err) != "Quota exceeded for cores: Requested 2, but already used 1 of 2 cores" {
		t.Fatalf("growth beyond the quota: %v", err)
	}
	if err := e.Service.CheckQuotaDelta(ctx, "A", -1, -64); err != nil {
		t.Fatalf("shrinking: %v", err)
	}
}

// TestAntiAffinityBatch: a batch of two in an anti-affinity group on this
// one host: the placements run one at a time, so exactly one member boots
// and the other has no valid host.
func TestAntiAffinityBatch(t *testing.T) {
	e := computetest.NewSetup(t)
	ctx := context.Background()
	g, err := e.Service.CreateServerGroup(ctx, e.Member, service.NewServerGroup{Name: "g", Policy: compute.PolicyAntiAffinity})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Service.Create(ctx, e.Member, service.CreateRequest{Name: "vm", ImageRef: "img", FlavorRef: "42", MinCount: 2, MaxCount: 2, Group: g.ID})
	if err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	states := map[string]int{}
	for _, sv := range res.Servers {
		states[e.Get(t, sv.ID).VMState]++
	}
	if states[compute.VMActive] != 1 || states[compute.VMError] != 1 {
		t.Fatalf("states of the batch: %v", states)
	}
	got, err := e.Service.GetServerGroup(ctx, e.Member, g.ID)
	if err != nil || len(got.Members) != 2 {
		t.Fatalf("group after the batch: %+v %v", got, err)
	}
}
