package service_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"imagestack/compute"
	"imagestack/compute/computetest"
	"imagestack/compute/service"
)

// TestComputeEnabled: new servers may be scheduled while nova-compute is
// enabled and up; disabling or forcing it down, or deleting it, stops
// that; only admins change services.
func TestComputeEnabled(t *testing.T) {
	e := computetest.NewSetup(t)
	ctx := context.Background()
	host, _ := os.Hostname()
	if !e.Service.ComputeEnabled(ctx) {
		t.Fatal("a fresh host takes no servers")
	}
	yes, no := true, false
	if _, err := e.Service.UpdateServiceByHost(ctx, e.Member, host, compute.BinaryCompute, service.ServiceChange{Disabled: &yes}); !errors.Is(err, compute.ErrForbidden) {
		t.Fatalf("member disables: %v", err)
	}
	sv, err := e.Service.UpdateServiceByHost(ctx, e.Admin, host, compute.BinaryCompute, service.ServiceChange{Disabled: &yes})
	if err != nil || sv.Enabled || e.Service.ComputeEnabled(ctx) {
		t.Fatalf("disabled: %+v %v", sv, err)
	}
	if _, err := e.Service.UpdateService(ctx, e.Admin, sv.UUID, service.ServiceChange{Disabled: &no, ForcedDown: &yes}); err != nil || e.Service.ComputeEnabled(ctx) {
		t.Fatalf("forced down: %v", err)
	}
	if _, err := e.Service.UpdateService(ctx, e.Admin, sv.UUID, service.ServiceChange{ForcedDown: &no}); err != nil || !e.Service.ComputeEnabled(ctx) {
		t.Fatalf("up again: %v", err)
	}
	if err := e.Service.DeleteService(ctx, e.Admin, sv.UUID, true); err != nil || e.Service.ComputeEnabled(ctx) {
		t.Fatalf("deleted: %v", err)
	}
	hvs, err := e.Service.Hypervisors(ctx, e.Admin, "list")
	if err != nil || len(hvs) != 0 {
		t.Fatalf("hypervisors of a deleted compute service: %+v %v", hvs, err)
	}
}

// TestRegisterNodeCapacity: a host registers this machine's CPUs, memory
// and the size of the filesystem its instance files will be on, even
// before their directory exists, with the configured allocation ratios.
func TestRegisterNodeCapacity(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithoutHost())
	n, err := e.Service.RegisterNode(context.Background(), "h")
	if err != nil {
		t.Fatal(err)
	}
	if n.Host != "h" || n.VCPUs < 1 || n.MemoryMB < 1 || n.LocalGB < 1 || n.CPUAllocationRatio != 4 || n.RAMAllocationRatio != 1 ||
		n.DiskAllocationRatio != 1 || n.HypervisorType != "QEMU" || n.Architecture == "" {
		t.Fatalf("registered %+v", n)
	}
	if size, _ := service.DiskGB(t.TempDir() + "/not/made/yet"); size < 1 {
		t.Fatalf("size of the filesystem of a directory not made yet: %d GiB", size)
	}
}
