package computetest

import (
	"cmp"
	"context"
	"testing"
	"time"

	"imagestack/compute"
)

// Host is a compute host a test registers: a fake hypervisor's capacity.
// Zone is the node's own zone (none: its aggregates', else the default
// zone). Zero fields get generous defaults (64 vCPUs, 256 GiB of RAM, 10 TiB of
// disk, Nova's ratios, QEMU on x86_64, a heartbeat now).
type Host struct {
	Name                     string
	Zone                     string
	VCPUs, MemoryMB, LocalGB int
	CPURatio, RAMRatio       float64
	Arch                     string
	Heartbeat                time.Time
}

// Node is h as the compute node it registers.
func (h Host) Node() compute.ComputeNode {
	return compute.ComputeNode{Host: h.Name, HypervisorHostname: h.Name, Zone: h.Zone,
		VCPUs: cmp.Or(h.VCPUs, 64), MemoryMB: cmp.Or(h.MemoryMB, 256<<10), LocalGB: cmp.Or(h.LocalGB, 10<<10),
		CPUAllocationRatio: cmp.Or(h.CPURatio, 4), RAMAllocationRatio: cmp.Or(h.RAMRatio, 1), DiskAllocationRatio: 1,
		HypervisorType: "QEMU", Architecture: cmp.Or(h.Arch, "x86_64"), UpdatedAt: cmp.Or(h.Heartbeat, time.Now()).UTC()}
}

// Registry is where compute hosts register: their nodes and nova-compute
// services (the compute repository).
type Registry interface {
	compute.NodeRepository
	compute.HostServiceRepository
}

// RegisterHost registers h's compute node and nova-compute service
// directly in r, as its heartbeat loop would.
func RegisterHost(t testing.TB, r Registry, h Host) compute.ComputeNode {
	t.Helper()
	ctx := context.Background()
	if _, err := r.EnsureHostService(ctx, h.Name, compute.BinaryCompute, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	n, err := r.RegisterNode(ctx, h.Node())
	if err != nil {
		t.Fatal(err)
	}
	return n
}
