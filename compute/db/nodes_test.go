package db_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"imagestack/compute"
	computedb "imagestack/compute/db"
)

// TestNodes: a host registers once (again: its capacity changes, its
// generation stays), heartbeats, and claims on it are compare-and-set on
// its generation and bounded by capacity x ratio, on every engine.
func TestNodes(t *testing.T) {
	eachRepo(t, func(t *testing.T, r *computedb.Repo) {
		ctx, now := context.Background(), time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
		n := compute.ComputeNode{Host: "h1", HypervisorHostname: "h1", Zone: "nova", VCPUs: 2, MemoryMB: 1024, LocalGB: 10,
			CPUAllocationRatio: 2, RAMAllocationRatio: 1, DiskAllocationRatio: 1, HypervisorType: "QEMU", UpdatedAt: now}
		got, err := r.RegisterNode(ctx, n)
		if err != nil || got.ID == 0 || got.Generation != 0 || got.VCPUs != 2 || !got.UpdatedAt.Equal(now) {
			t.Fatalf("register: %+v %v", got, err)
		}
		if err := r.Claim(ctx, compute.Allocation{ServerID: "s1", Host: "h1", VCPUs: 3, MemoryMB: 512, DiskGB: 5}, 0); err != nil {
			t.Fatalf("claim: %v", err)
		}
		if err := r.Claim(ctx, compute.Allocation{ServerID: "s2", Host: "h1", VCPUs: 1, MemoryMB: 256}, 0); !errors.Is(err, compute.ErrGenerationChanged) {
			t.Fatalf("claim from a stale generation: %v", err)
		}
		if err := r.Claim(ctx, compute.Allocation{ServerID: "s2", Host: "h1", VCPUs: 2, MemoryMB: 256}, 1); !errors.Is(err, compute.ErrNoRoom) {
			t.Fatalf("claim beyond vcpus x ratio: %v", err)
		}
		if err := r.Claim(ctx, compute.Allocation{ServerID: "s2", Host: "h1", VCPUs: 1, MemoryMB: 512, DiskGB: 5}, 1); err != nil {
			t.Fatalf("claim of the rest: %v", err)
		}
		// A server's new claim replaces its allocation (a resize).
		if err := r.Claim(ctx, compute.Allocation{ServerID: "s1", Host: "h1", VCPUs: 2, MemoryMB: 256, DiskGB: 5}, 2); err != nil {
			t.Fatalf("claim again: %v", err)
		}
		u, err := r.NodeUsage(ctx)
		if err != nil || u["h1"] != (compute.NodeUsage{VCPUs: 3, MemoryMB: 768, DiskGB: 10, Servers: 2}) {
			t.Fatalf("usage: %+v %v", u, err)
		}
		n.VCPUs, n.UpdatedAt = 4, now.Add(time.Minute)
		if got, err = r.RegisterNode(ctx, n); err != nil || got.VCPUs != 4 || got.Generation != 3 || got.ID == 0 {
			t.Fatalf("register again: %+v %v", got, err)
		}
		if err := r.HeartbeatNode(ctx, "h1", now.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := r.HeartbeatNode(ctx, "gone", now); !errors.Is(err, compute.ErrNotFound) {
			t.Fatalf("heartbeat of no node: %v", err)
		}
		list, err := r.ListNodes(ctx)
		if err != nil || len(list) != 1 || !list[0].UpdatedAt.Equal(now.Add(2*time.Minute)) {
			t.Fatalf("list: %+v %v", list, err)
		}
		if err := r.ReleaseAllocation(ctx, "s1", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := r.AllocationOf(ctx, "s1", "h1"); !errors.Is(err, compute.ErrNotFound) {
			t.Fatalf("released allocation: %v", err)
		}
		if a, err := r.AllocationOf(ctx, "s2", "h1"); err != nil || a.MemoryMB != 512 {
			t.Fatalf("allocation: %+v %v", a, err)
		}
	})
}

// TestAllocationsPerHost: a server may hold allocations on two hosts (a
// move's source and destination); each host counts its own, and they are
// released one host or all at once.
func TestAllocationsPerHost(t *testing.T) {
	eachRepo(t, func(t *testing.T, r *computedb.Repo) {
		ctx, now := context.Background(), time.Now()
		for _, h := range []string{"a", "b"} {
			if _, err := r.RegisterNode(ctx, compute.ComputeNode{Host: h, VCPUs: 4, MemoryMB: 1024, LocalGB: 10,
				CPUAllocationRatio: 1, RAMAllocationRatio: 1, DiskAllocationRatio: 1, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			if err := r.Claim(ctx, compute.Allocation{ServerID: "s", Host: h, VCPUs: 1, MemoryMB: 512}, 0); err != nil {
				t.Fatal(err)
			}
		}
		if u, err := r.NodeUsage(ctx); err != nil || u["a"].MemoryMB != 512 || u["b"].MemoryMB != 512 {
			t.Fatalf("usage: %+v %v", u, err)
		}
		if err := r.ReleaseAllocation(ctx, "s", "a"); err != nil {
			t.Fatal(err)
		}
		if u, _ := r.NodeUsage(ctx); u["a"].Servers != 0 || u["b"].Servers != 1 {
			t.Fatalf("after releasing a: %+v", u)
		}
		if err := r.ReleaseAllocation(ctx, "s", ""); err != nil {
			t.Fatal(err)
		}
		if u, _ := r.NodeUsage(ctx); len(u) != 0 {
			t.Fatalf("after releasing all: %+v", u)
		}
	})
}
