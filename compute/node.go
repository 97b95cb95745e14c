package compute

import (
	"context"
	"errors"
	"time"
)

// ComputeNode is a compute host as it registered itself (Nova's
// compute_nodes with placement's resource provider generation): its
// capacity, how far that capacity may be overcommitted, what it runs
// guests on, and its last heartbeat. The scheduler places servers on the
// nodes whose heartbeat is recent.
type ComputeNode struct {
	ID                 int // Nova's integer hypervisor id (shown before 2.53)
	Host               string
	HypervisorHostname string
	// Zone is the availability zone the host registered in (its
	// configuration's default zone); aggregates may say otherwise.
	Zone                     string
	VCPUs, MemoryMB, LocalGB int
	// Allocation ratios: the node takes up to capacity x ratio of each
	// resource (Nova's cpu/ram/disk_allocation_ratio).
	CPUAllocationRatio, RAMAllocationRatio, DiskAllocationRatio float64
	HypervisorType                                              string // e.g. QEMU
	HypervisorVersion                                           int    // Nova's encoding: major*1000000 + minor*1000 + micro
	Architecture                                                string // canonical: x86_64, aarch64, ...
	// Generation grows with every claim on the node: a claim made from an
	// older reading of the node fails (compare and set).
	Generation int64
	CreatedAt  time.Time
	UpdatedAt  time.Time // the last heartbeat
}

// Allocation is what a server takes of its host.
type Allocation struct {
	ServerID string
	Host     string
	VCPUs    int
	MemoryMB int
	DiskGB   int
}

// NodeUsage is what the allocations on one host add up to.
type NodeUsage struct {
	VCPUs, MemoryMB, DiskGB int
	Servers                 int
}

// Fits reports whether u plus a stays within n's capacity x ratios.
func (n ComputeNode) Fits(u NodeUsage, a Allocation) bool {
	within := func(used, want, total int, ratio float64) bool {
		return want <= 0 || float64(used+want) <= float64(total)*ratio
	}
	return within(u.VCPUs, a.VCPUs, n.VCPUs, n.CPUAllocationRatio) &&
		within(u.MemoryMB, a.MemoryMB, n.MemoryMB, n.RAMAllocationRatio) &&
		within(u.DiskGB, a.DiskGB, n.LocalGB, n.DiskAllocationRatio)
}

// FreeRAM is how much memory n can still give with usage u (negative when
// overcommitted beyond its ratio).
func (n ComputeNode) FreeRAM(u NodeUsage) float64 {
	return float64(n.MemoryMB)*n.RAMAllocationRatio - float64(u.MemoryMB)
}

// ErrGenerationChanged is a claim made from a reading of a node that
// another claim has made stale: read the node again and retry.
var ErrGenerationChanged = errors.New("compute node generation changed")

// ErrNoRoom is a claim the node cannot take: the allocations already on it
// leave too little.
var ErrNoRoom = errors.New("not enough room on the compute node")

// NodeRepository keeps the compute nodes and the allocations of servers
// on them, shared by every API replica and compute host.
type NodeRepository interface {
	// RegisterNode creates the node of n.Host or updates its capacity,
	// zone, ratios, hypervisor and architecture, with n.UpdatedAt as its
	// heartbeat; its id, generation and allocations are kept. It returns
	// the node as stored.
	RegisterNode(ctx context.Context, n ComputeNode) (ComputeNode, error)
	// HeartbeatNode sets the node's UpdatedAt to now, or ErrNotFound when
	// the host has no node (deleted meanwhile: register again).
	HeartbeatNode(ctx context.Context, host string, now time.Time) error
	// ListNodes returns every node, by host.
	ListNodes(ctx context.Context) ([]ComputeNode, error)
	// DeleteNode removes the node of host (none: nil); its allocations stay
	// with their servers.
	DeleteNode(ctx context.Context, host string) error
	// NodeUsage returns the sum of the allocations on each host.
	NodeUsage(ctx context.Context) (map[string]NodeUsage, error)
	// Claim records a as the server's allocation on a.Host (replacing the
	// one it had there; those on other hosts stay), in one transaction
	// that moves node a.Host from generation to generation+1 and checks
	// that a fits next to the node's other allocations. It fails with
	// ErrGenerationChanged when the node is no longer at generation (or is
	// gone) and with ErrNoRoom when a does not fit; then nothing changed.
	Claim(ctx context.Context, a Allocation, generation int64) error
	// AllocationOf returns the server's allocation on host, or ErrNotFound.
	AllocationOf(ctx context.Context, serverID, host string) (Allocation, error)
	// ReleaseAllocation removes the server's allocation on host, or on
	// every host when host is "" (none: nil).
	ReleaseAllocation(ctx context.Context, serverID, host string) error
}
