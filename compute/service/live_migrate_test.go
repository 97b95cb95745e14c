package service_test

import (
	"context"
	"errors"
	"testing"

	"imagestack/compute"
	"imagestack/compute/computetest"
	"imagestack/compute/service"
)

// TestLiveMigrate: a running server moves to the other host without a
// new boot, MIGRATING meanwhile with its migration listed in progress;
// it ends ACTIVE there, the source's claim released. A migration that
// breaks leaves it running where it was.
func TestLiveMigrate(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithHosts("h1", "h2"))
	ctx := context.Background()
	sv := bootOnHosts(t, e)
	h1, h2 := e.Hosts.Host("h1"), e.Hosts.Host("h2")
	boots := len(h1.Disk(sv.ID))
	if err := e.Service.LiveMigrate(ctx, e.Member, sv.ID, service.LiveMigrateRequest{}); !errors.Is(err, compute.ErrForbidden) {
		t.Fatalf("a member live-migrates: %v", err)
	}
	if err := e.Service.LiveMigrate(ctx, e.Admin, sv.ID, service.LiveMigrateRequest{Host: "h9"}); !errors.Is(err, compute.ErrBadRequest) {
		t.Fatalf("to an unknown host: %v", err)
	}
	gate := h1.Hold("live_migrate")
	if err := e.Service.LiveMigrate(ctx, e.Admin, sv.ID, service.LiveMigrateRequest{}); err != nil {
		t.Fatal(err)
	}
	gate.Entered(t)
	if got := e.Get(t, sv.ID); got.Status() != "MIGRATING" {
		t.Fatalf("during the migration: %s", got.Status())
	}
	if ms, err := e.Service.ServerMigrations(ctx, e.Admin, sv.ID); err != nil || len(ms) != 1 || ms[0].Status != compute.MigrationRunning || ms[0].DestCompute != "h2" {
		t.Fatalf("in progress: %+v %v", ms, err)
	}
	console := string(mustConsole(t, h1, sv.ID))
	gate.Release(nil)
	e.Service.Wait()
	got := e.Get(t, sv.ID)
	if got.Status() != "ACTIVE" || got.Host != "h2" || got.TaskState != compute.TaskNone {
		t.Fatalf("after the migration: %+v", got)
	}
	if ps, ok := h2.Domain(sv.ID); !ok || ps != compute.PowerRunning || string(mustConsole(t, h2, sv.ID)) != console || len(h2.Disk(sv.ID)) != boots {
		t.Fatalf("on h2: %v %v", ps, ok)
	}
	if _, ok := h1.Domain(sv.ID); ok {
		t.Fatal("h1 keeps the VM")
	}
	if ms := migrationsOf(t, e, sv.ID); len(ms) != 1 || ms[0].Type != compute.MigrationLive || ms[0].Status != compute.MigrationCompleted {
		t.Fatalf("migration: %+v", ms)
	}
	if c := e.Hosts.Claims(sv.ID); len(c) != 1 || c[0] != "h2" {
		t.Fatalf("claims: %v", c)
	}
	no := false
	if err := e.Service.LiveMigrate(ctx, e.Admin, sv.ID, service.LiveMigrateRequest{Block: &no}); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if got := e.Get(t, sv.ID); got.Status() != "ACTIVE" || got.Host != "h2" {
		t.Fatalf("after a failed migration: %+v", got)
	}
	if ms := migrationsOf(t, e, sv.ID); ms[0].Status != compute.MigrationFailed {
		t.Fatalf("failed migration: %+v", ms[0])
	}
}

func mustConsole(t *testing.T, h *computetest.Hypervisor, id string) []byte {
	t.Helper()
	out, err := h.ConsoleOutput(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
