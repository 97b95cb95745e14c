package computetest

import (
	"context"
	"fmt"
	"testing"

	"gorm.io/gorm"

	"imagestack/compute"
)

// NewReplicas builds a compute service on each of gdbs (connections to
// one database), as the API replicas of one deployment are (each with its
// own fake hypervisor and image cache), registering no compute host:
// tests register theirs.
func NewReplicas(t testing.TB, gdbs []*gorm.DB, opts ...Option) []*Setup {
	t.Helper()
	out := make([]*Setup, len(gdbs))
	for i, gdb := range gdbs {
		out[i] = NewSetup(t, append([]Option{WithDB(gdb), WithoutHost()}, opts...)...)
	}
	return out
}

// Overcommitted lists the hosts where what the servers placed there take
// (their allocations, and the flavors of the live servers recorded on the
// host) exceeds capacity x allocation ratio, each with why.
func Overcommitted(t testing.TB, r Registry, servers compute.ServerRepository) []string {
	t.Helper()
	ctx := context.Background()
	nodes, err := r.ListNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	usage, err := r.NodeUsage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	live, err := servers.ListServers(ctx, compute.ServerFilter{})
	if err != nil {
		t.Fatal(err)
	}
	onHost := map[string]compute.NodeUsage{}
	for _, sv := range live {
		u := onHost[sv.Host]
		u.VCPUs, u.MemoryMB, u.DiskGB, u.Servers = u.VCPUs+sv.VCPUs, u.MemoryMB+sv.RAM, u.DiskGB+sv.Disk, u.Servers+1
		onHost[sv.Host] = u
	}
	var out []string
	for _, n := range nodes {
		for what, u := range map[string]compute.NodeUsage{"allocations": usage[n.Host], "servers": onHost[n.Host]} {
			if float64(u.VCPUs) > float64(n.VCPUs)*n.CPUAllocationRatio || float64(u.MemoryMB) > float64(n.MemoryMB)*n.RAMAllocationRatio ||
				float64(u.DiskGB) > float64(n.LocalGB)*n.DiskAllocationRatio {
				out = append(out, fmt.Sprintf("%s: %s %+v beyond %+v", n.Host, what, u, n))
			}
		}
	}
	return out
}
