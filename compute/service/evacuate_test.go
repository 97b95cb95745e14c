package service_test

import (
	"context"
	"errors"
	"testing"

	"imagestack/compute"
	"imagestack/compute/computetest"
	"imagestack/compute/service"
)

// bootOn boots a server for the member and records it on host h1, where
// the fake router spawned it.
func bootOnHosts(t *testing.T, e *computetest.Setup) *compute.Server {
	t.Helper()
	sv := e.Boot(t, e.Member)
	e.PlaceOn(t, sv.ID, "h1")
	sv = e.Get(t, sv.ID)
	sv.Metadata = map[string]string{"role": "db"}
	if err := e.Repo.UpdateServer(context.Background(), sv); err != nil {
		t.Fatal(err)
	}
	return sv
}

func migrationsOf(t *testing.T, e *computetest.Setup, id string) []compute.Migration {
	t.Helper()
	ms, err := e.Service.ListMigrations(context.Background(), e.Admin, compute.MigrationFilter{ServerID: id})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// TestEvacuate: a server of a host that is down comes back ACTIVE on the
// other host, rebuilt from its image, with its id and metadata; the
// migration says so; when the old host returns, CleanEvacuated destroys
// the VM left there instead of letting it start.
func TestEvacuate(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithHosts("h1", "h2"))
	ctx := context.Background()
	sv := bootOnHosts(t, e)
	if _, err := e.Service.Evacuate(ctx, e.Admin, sv.ID, service.EvacuateRequest{}); !errors.Is(err, compute.ErrBadRequest) ||
		compute.Message(err) != "Compute service of h1 is still in use." {
		t.Fatalf("evacuate from a host that is up: %v", err)
	}
	e.Hosts.SetUp("h1", false)
	if _, err := e.Service.Evacuate(ctx, e.Member, sv.ID, service.EvacuateRequest{}); !errors.Is(err, compute.ErrForbidden) {
		t.Fatalf("a member evacuates: %v", err)
	}
	if _, err := e.Service.Evacuate(ctx, e.Admin, sv.ID, service.EvacuateRequest{Host: "h9"}); !errors.Is(err, compute.ErrNotFound) {
		t.Fatalf("evacuate to an unknown host: %v", err)
	}
	if _, err := e.Service.Evacuate(ctx, e.Admin, sv.ID, service.EvacuateRequest{Host: "h1"}); !errors.Is(err, compute.ErrBadRequest) {
		t.Fatalf("evacuate to its own host: %v", err)
	}
	pass, err := e.Service.Evacuate(ctx, e.Admin, sv.ID, service.EvacuateRequest{})
	if err != nil || pass == "" {
		t.Fatalf("evacuate: %q %v", pass, err)
	}
	e.Service.Wait()
	got := e.Get(t, sv.ID)
	if got.Status() != "ACTIVE" || got.Host != "h2" || got.Node != "h2.node" || got.Metadata["role"] != "db" || got.ImageID != sv.ImageID {
		t.Fatalf("after evacuate: %+v", got)
	}
	if ps, ok := e.Hosts.Host("h2").Domain(sv.ID); !ok || ps != compute.PowerRunning || e.Hosts.Host("h2").Spec(sv.ID).BaseImage == "" {
		t.Fatalf("h2's VM: %v %v", ps, ok)
	}
	ms := migrationsOf(t, e, sv.ID)
	if len(ms) != 1 || ms[0].Type != compute.MigrationEvacuation || ms[0].Status != compute.MigrationDone || ms[0].SourceCompute != "h1" ||
		ms[0].DestCompute != "h2" || ms[0].DestNode != "h2.node" || ms[0].ProjectID != sv.ProjectID || ms[0].OldFlavorID != "" {
		t.Fatalf("migration: %+v", ms)
	}
	if _, ok := e.Hosts.Host("h1").Domain(sv.ID); !ok {
		t.Fatal("the dead host's VM is gone before the host came back")
	}
	n, err := e.Service.CleanEvacuated(ctx, "h1", e.Hosts.Host("h1"))
	if _, left := e.Hosts.Host("h1").Domain(sv.ID); err != nil || n != 1 || left {
		t.Fatalf("clean up on h1: %d %v, VM left: %v", n, err, left)
	}
	if ms := migrationsOf(t, e, sv.ID); ms[0].Status != compute.MigrationCompleted {
		t.Fatalf("migration after clean up: %+v", ms[0])
	}
	if n, err := e.Service.CleanEvacuated(ctx, "h2", e.Hosts.Host("h2")); n != 0 || err != nil {
		t.Fatalf("clean up on the destination: %d %v", n, err)
	}
	if _, ok := e.Hosts.Host("h2").Domain(sv.ID); !ok {
		t.Fatal("the evacuated server's new VM was destroyed")
	}
}

// TestEvacuateNoValidHost: with no other host to go to, the server stays
// as it was (on its dead host, task cleared) and the migration is in
// error; a stopped server evacuated stays stopped.
func TestEvacuateNoValidHost(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithHosts("h1", "h2"))
	ctx := context.Background()
	sv := bootOnHosts(t, e)
	e.Hosts.SetUp("h1", false)
	e.Hosts.SetFull("h2", true)
	if _, err := e.Service.Evacuate(ctx, e.Admin, sv.ID, service.EvacuateRequest{}); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	got := e.Get(t, sv.ID)
	if got.Status() != "ACTIVE" || got.TaskState != compute.TaskNone || got.Host != "h1" {
		t.Fatalf("after evacuate without a host: %+v", got)
	}
	if ms := migrationsOf(t, e, sv.ID); len(ms) != 1 || ms[0].Status != compute.MigrationError || ms[0].DestCompute != "" {
		t.Fatalf("migration: %+v", ms)
	}
	e.Hosts.SetFull("h2", false)
	stopped := e.Get(t, sv.ID)
	stopped.VMState = compute.VMStopped
	if err := e.Repo.UpdateServer(ctx, stopped); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Service.Evacuate(ctx, e.Admin, sv.ID, service.EvacuateRequest{Host: "h2"}); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if got := e.Get(t, sv.ID); got.Status() != "SHUTOFF" || got.Host != "h2" {
		t.Fatalf("a stopped server evacuated: %+v", got)
	}
	if ps, _ := e.Hosts.Host("h2").Domain(sv.ID); ps != compute.PowerShutdown {
		t.Fatalf("its VM on h2: %v", ps)
	}
}
