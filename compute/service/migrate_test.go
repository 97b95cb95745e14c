package service_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"imagestack/compute"
	"imagestack/compute/computetest"
)

// TestMigrateConfirm: a cold migration carries the server's disk (what
// its guest wrote) to the other host, where it runs in VERIFY_RESIZE while
// the source keeps its VM powered off; confirming drops the source's VM
// and claim.
func TestMigrateConfirm(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithHosts("h1", "h2"))
	ctx := context.Background()
	sv := bootOnHosts(t, e)
	h1, h2 := e.Hosts.Host("h1"), e.Hosts.Host("h2")
	h1.WriteDisk(sv.ID, []byte("guest data"))
	if err := e.Service.Migrate(ctx, e.Member, sv.ID, ""); !errors.Is(err, compute.ErrForbidden) {
		t.Fatalf("a member migrates: %v", err)
	}
	if err := e.Service.Migrate(ctx, e.Admin, sv.ID, "h1"); !errors.Is(err, compute.ErrBadRequest) {
		t.Fatalf("migrate to its own host: %v", err)
	}
	if err := e.Service.Migrate(ctx, e.Admin, sv.ID, "h9"); !errors.Is(err, compute.ErrNotFound) {
		t.Fatalf("migrate to an unknown host: %v", err)
	}
	if err := e.Service.Migrate(ctx, e.Admin, sv.ID, ""); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	got := e.Get(t, sv.ID)
	if got.Status() != "VERIFY_RESIZE" || got.Host != "h2" || got.FlavorID != sv.FlavorID || got.OldFlavorID != sv.FlavorID {
		t.Fatalf("after migrate: %+v", got)
	}
	if string(h2.Disk(sv.ID)) != "guest data" {
		t.Fatalf("disk on h2: %q", h2.Disk(sv.ID))
	}
	if ps, ok := h2.Domain(sv.ID); !ok || ps != compute.PowerRunning {
		t.Fatalf("h2's VM: %v %v", ps, ok)
	}
	if ps, ok := h1.Domain(sv.ID); !ok || ps != compute.PowerShutdown {
		t.Fatalf("h1 keeps its VM off until confirm: %v %v", ps, ok)
	}
	if ms := migrationsOf(t, e, sv.ID); len(ms) != 1 || ms[0].Type != compute.MigrationCold || ms[0].Status != compute.MigrationFinished ||
		ms[0].SourceCompute != "h1" || ms[0].DestCompute != "h2" || ms[0].OldFlavorID != "42" || ms[0].NewFlavorID != "42" {
		t.Fatalf("migration: %+v", ms)
	}
	if err := e.Service.ConfirmResize(ctx, e.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if got := e.Get(t, sv.ID); got.Status() != "ACTIVE" || got.Host != "h2" {
		t.Fatalf("after confirm: %+v", got)
	}
	if _, ok := h1.Domain(sv.ID); ok {
		t.Fatal("h1 still has the VM after confirm")
	}
	if c := e.Hosts.Claims(sv.ID); len(c) != 1 || c[0] != "h2" {
		t.Fatalf("claims after confirm: %v", c)
	}
	if ms := migrationsOf(t, e, sv.ID); ms[0].Status != compute.MigrationConfirmed {
		t.Fatalf("migration after confirm: %+v", ms[0])
	}
}

// TestResizeToAnotherHostRevert: with other hosts a resize moves the
// server (new flavor's sizes on the destination); reverting brings it
// back to its source with the old flavor and disk, the destination's VM
// and claim gone.
func TestResizeToAnotherHostRevert(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithHosts("h1", "h2"))
	ctx := context.Background()
	sv := bootOnHosts(t, e)
	h1, h2 := e.Hosts.Host("h1"), e.Hosts.Host("h2")
	if err := e.Service.Resize(ctx, e.Member, sv.ID, "84"); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	got := e.Get(t, sv.ID)
	if got.Status() != "VERIFY_RESIZE" || got.Host != "h2" || got.FlavorID != "84" || h2.Spec(sv.ID).MemoryMiB != 192 {
		t.Fatalf("after resize: %+v (h2 spec %+v)", got, h2.Spec(sv.ID))
	}
	if ms := migrationsOf(t, e, sv.ID); len(ms) != 1 || ms[0].Type != compute.MigrationResize || ms[0].NewFlavorID != "84" {
		t.Fatalf("migration: %+v", ms)
	}
	if err := e.Service.RevertResize(ctx, e.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	got = e.Get(t, sv.ID)
	if got.Status() != "ACTIVE" || got.Host != "h1" || got.FlavorID != "42" || got.Node != "h1.node" {
		t.Fatalf("after revert: %+v", got)
	}
	if ps, ok := h1.Domain(sv.ID); !ok || ps != compute.PowerRunning || h1.Spec(sv.ID).MemoryMiB != 128 {
		t.Fatalf("h1's VM after revert: %v %v", ps, ok)
	}
	if _, ok := h2.Domain(sv.ID); ok || len(e.Hosts.Claims(sv.ID)) != 0 {
		t.Fatalf("h2 keeps the VM (%v) or claims %v after revert", ok, e.Hosts.Claims(sv.ID))
	}
	if ms := migrationsOf(t, e, sv.ID); ms[0].Status != compute.MigrationReverted {
		t.Fatalf("migration after revert: %+v", ms[0])
	}
}

// TestMigrateFailures: no other host leaves the server ACTIVE where it
// was (migration error); a copy that breaks puts it in ERROR on its
// source, the destination left empty (migration failed).
func TestMigrateFailures(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithHosts("h1", "h2"))
	ctx := context.Background()
	sv := bootOnHosts(t, e)
	e.Hosts.SetFull("h2", true)
	if err := e.Service.Migrate(ctx, e.Admin, sv.ID, ""); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if got := e.Get(t, sv.ID); got.Status() != "ACTIVE" || got.Host != "h1" {
		t.Fatalf("after migrate without a host: %+v", got)
	}
	if ms := migrationsOf(t, e, sv.ID); len(ms) != 1 || ms[0].Status != compute.MigrationError {
		t.Fatalf("migration: %+v", ms)
	}
	e.Hosts.SetFull("h2", false)
	imp := e.Hosts.Host("h2").Hold("import")
	if err := e.Service.Migrate(ctx, e.Admin, sv.ID, "h2"); err != nil {
		t.Fatal(err)
	}
	imp.Entered(t)
	imp.Release(errors.New("disk full"))
	e.Service.Wait()
	if got := e.Get(t, sv.ID); got.Status() != "ERROR" || got.Host != "h1" {
		t.Fatalf("after a failed copy: %+v", got)
	}
	if _, ok := e.Hosts.Host("h2").Domain(sv.ID); ok || len(e.Hosts.Claims(sv.ID)) != 0 {
		t.Fatal("the failed copy left a VM or a claim on h2")
	}
	if ms := migrationsOf(t, e, sv.ID); ms[0].Status != compute.MigrationFailed {
		t.Fatalf("migration: %+v", ms[0])
	}
}

// TestDeleteMovedServer: deleting a server moved to another host and not
// yet confirmed removes its VMs on both hosts, as Nova confirms the resize
// on delete.
func TestDeleteMovedServer(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithHosts("h1", "h2"))
	ctx := context.Background()
	sv := bootOnHosts(t, e)
	if err := e.Service.Migrate(ctx, e.Admin, sv.ID, ""); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if err := e.Service.Delete(ctx, e.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if got := e.Get(t, sv.ID); got.VMState != compute.VMDeleted {
		t.Fatalf("after delete: %+v", got)
	}
	for _, h := range []string{"h1", "h2"} {
		if _, ok := e.Hosts.Host(h).Domain(sv.ID); ok {
			t.Errorf("%s keeps the deleted server's VM", h)
		}
	}
	if ms := migrationsOf(t, e, sv.ID); ms[0].Status != compute.MigrationConfirmed {
		t.Fatalf("migration: %+v", ms[0])
	}
}

// TestResizeInPlaceRecordsMigration: on one host a resize happens in
// place and os-migrations lists it (this host as source and destination),
// finished, then confirmed.
func TestResizeInPlaceRecordsMigration(t *testing.T) {
	e := computetest.NewSetup(t)
	ctx := context.Background()
	sv := e.Boot(t, e.Member)
	if err := e.Service.Resize(ctx, e.Member, sv.ID, "84"); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	host, _ := os.Hostname()
	ms := migrationsOf(t, e, sv.ID)
	if len(ms) != 1 || ms[0].Type != compute.MigrationResize || ms[0].Status != compute.MigrationFinished ||
		ms[0].SourceCompute != host || ms[0].DestCompute != host || ms[0].OldFlavorID != "42" || ms[0].NewFlavorID != "84" {
		t.Fatalf("migration of a resize in place: %+v", ms)
	}
	if err := e.Service.ConfirmResize(ctx, e.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if ms := migrationsOf(t, e, sv.ID); ms[0].Status != compute.MigrationConfirmed || e.Get(t, sv.ID).Status() != "ACTIVE" {
		t.Fatalf("after confirm: %+v", ms[0])
	}
}
