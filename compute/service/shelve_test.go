package service_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"imagestack/compute"
	"imagestack/compute/computetest"
	"imagestack/compute/service"
)

// actionNames lists the actions recorded for a server, oldest first.
func actionNames(t *testing.T, e *computetest.Setup, id string) []string {
	t.Helper()
	acts, err := e.Repo.ListActions(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i := len(acts) - 1; i >= 0; i-- {
		names = append(names, acts[i].Name)
	}
	return names
}

// TestShelveOffloadUnshelve: with Nova's default shelved_offload_time (0)
// a shelved server goes through shelving's task states into an image
// "<name>-shelved" and is offloaded at once (no VM, power Shutdown, not on
// the hypervisor's books); unshelve boots it from that image with its own
// NICs, then the image goes.
func TestShelveOffloadUnshelve(t *testing.T) {
	nets := computetest.NewNetworks()
	nets.Add("11111111-1111-1111-1111-111111111111", "private", "10.0.0")
	e := computetest.NewSetup(t, smallQuotas, computetest.WithNetworks(nets))
	ctx := context.Background()
	sv := e.Boot(t, e.Member)
	nics := e.Get(t, sv.ID).NICs
	snap, upload := e.Hypervisor.Hold("snapshot"), e.Images.Hold("upload")
	if err := e.Service.Shelve(ctx, e.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	snap.Entered(t)
	e.WaitTask(t, sv.ID, compute.TaskShelvingPending)
	if err := e.Service.Shelve(ctx, e.Member, sv.ID); err == nil || compute.Message(err) != "Cannot 'shelve' instance "+sv.ID+" while it is in task_state shelving_image_pending_upload" {
		t.Fatalf("shelve during a shelve: %v", err)
	}
	snap.Release(nil)
	upload.Entered(t)
	e.WaitTask(t, sv.ID, compute.TaskShelvingUploading)
	upload.Release(nil)
	e.Service.Wait()

	got := e.Get(t, sv.ID)
	if got.Status() != "SHELVED_OFFLOADED" || got.TaskState != compute.TaskNone || got.PowerState != compute.PowerShutdown {
		t.Fatalf("after shelve: %s %q %d", got.Status(), got.TaskState, got.PowerState)
	}
	if _, ok := e.Hypervisor.Domain(sv.ID); ok {
		t.Fatal("an offloaded server keeps its VM")
	}
	req := e.Images.Created()[0]
	if req.Name != "vm-shelved" || req.Properties["image_type"] != "snapshot" || req.Properties["instance_uuid"] != sv.ID || req.Properties["os_distro"] != "x" {
		t.Fatalf("shelved image: %+v", req)
	}
	if got.SystemMetadata["shelved_image_id"] != "snap" || got.SystemMetadata["shelved_at"] == "" || got.SystemMetadata["shelved_host"] == "" {
		t.Fatalf("system metadata: %v", got.SystemMetadata)
	}
	hv, err := e.Service.Hypervisors(ctx, e.Admin, "list-detail")
	if err != nil || hv[0].RunningVMs != 0 || hv[0].VCPUsUsed != 0 {
		t.Fatalf("an offloaded server still holds the host: %+v %v", hv, err)
	}
	// A restart leaves an offloaded server alone (no VM is no error).
	if err := e.Service.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.Get(t, sv.ID); got.Status() != "SHELVED_OFFLOADED" {
		t.Fatalf("after reconcile: %s", got.Status())
	}

	if err := e.Service.Unshelve(ctx, e.Member, sv.ID, service.UnshelveRequest{}); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	got = e.Get(t, sv.ID)
	if got.Status() != "ACTIVE" || got.PowerState != compute.PowerRunning || len(got.SystemMetadata) != 0 {
		t.Fatalf("after unshelve: %s %d %v", got.Status(), got.PowerState, got.SystemMetadata)
	}
	spec := e.Hypervisor.Spec(sv.ID)
	if !strings.HasSuffix(spec.BaseImage, "/snap") || spec.BaseFormat != "qcow2" || len(spec.NICs) != 1 || spec.NICs[0] != nics[0].VIF() {
		t.Fatalf("unshelved from %+v", spec)
	}
	if got.ImageID != "img" || len(e.Images.Live()) != 0 {
		t.Fatalf("image %s, shelved images left %v", got.ImageID, e.Images.Live())
	}
	if names := actionNames(t, e, sv.ID); !slices.Equal(names, []string{"create", "shelve", "unshelve"}) {
		t.Fatalf("actions %v", names)
	}
}

// TestShelveWithoutOffload: shelved_offload_time -1 keeps the VM (SHELVED,
// powered off); only admins may offload it; unshelve powers it on again.
func TestShelveWithoutOffload(t *testing.T) {
	e := computetest.NewSetup(t, smallQuotas, computetest.WithShelvedOffloadTime(-1))
	ctx := context.Background()
	id := e.Boot(t, e.Member).ID
	if err := e.Service.Shelve(ctx, e.Member, id); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if got := e.Get(t, id); got.Status() != "SHELVED" || got.PowerState != compute.PowerShutdown {
		t.Fatalf("after shelve: %s %d", got.Status(), got.PowerState)
	}
	if ps, ok := e.Hypervisor.Domain(id); !ok || ps != compute.PowerShutdown {
		t.Fatalf("domain %v %v", ps, ok)
	}
	// Hypervisor events do not turn a shelved server into SHUTOFF.
	e.Service.SyncServer(ctx, id, false)
	if got := e.Get(t, id); got.Status() != "SHELVED" {
		t.Fatalf("after a power sync: %s", got.Status())
	}
	if err := e.Service.Unshelve(ctx, e.Member, id, service.UnshelveRequest{}); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if got := e.Get(t, id); got.Status() != "ACTIVE" || len(e.Images.Live()) != 0 {
		t.Fatalf("after unshelve: %s, images %v", got.Status(), e.Images.Live())
	}

	if err := e.Service.Shelve(ctx, e.Member, id); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if err := e.Service.ShelveOffload(ctx, e.Member, id); !errors.Is(err, compute.ErrForbidden) {
		t.Fatalf("member offloads: %v", err)
	}
	if err := e.Service.ShelveOffload(ctx, e.Admin, id); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if got := e.Get(t, id); got.Status() != "SHELVED_OFFLOADED" {
		t.Fatalf("after shelveOffload: %s", got.Status())
	}
	if err := e.Service.ShelveOffload(ctx, e.Admin, id); err == nil || compute.Message(err) != "Cannot 'shelveOffload' instance "+id+" while it is in vm_state shelved_offloaded" {
		t.Fatalf("offload twice: %v", err)
	}
	// Deleting a shelved server deletes its image.
	if err := e.Service.Delete(ctx, e.Member, id); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if left := e.Images.Live(); len(left) != 0 {
		t.Fatalf("images left: %v", left)
	}
}

// TestShelveStateChecks: Nova's 409s, the lock, and unshelve's zone.
func TestShelveStateChecks(t *testing.T) {
	e := computetest.NewSetup(t, smallQuotas, computetest.WithShelvedOffloadTime(-1))
	ctx := context.Background()
	id := e.Boot(t, e.Member).ID
	if err := e.Service.Unshelve(ctx, e.Member, id, service.UnshelveRequest{}); err == nil || compute.Message(err) != "Cannot 'unshelve' instance "+id+" while it is in vm_state active" {
		t.Fatalf("unshelve an active server: %v", err)
	}
	if err := e.Service.ShelveOffload(ctx, e.Admin, id); !errors.Is(err, compute.ErrConflict) {
		t.Fatalf("offload an active server: %v", err)
	}
	if err := e.Service.Lock(ctx, e.Member, id, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.Service.Shelve(ctx, e.Member, id); err == nil || compute.Message(err) != "Instance "+id+" is locked" {
		t.Fatalf("shelve a locked server: %v", err)
	}
	if err := e.Service.Unlock(ctx, e.Member, id); err != nil {
		t.Fatal(err)
	}
	if err := e.Service.Shelve(ctx, e.Member, id); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if err := e.Service.Shelve(ctx, e.Member, id); err == nil || compute.Message(err) != "Cannot 'shelve' instance "+id+" while it is in vm_state shelved" {
		t.Fatalf("shelve twice: %v", err)
	}
	zone, other := "nova", "elsewhere"
	if err := e.Service.Unshelve(ctx, e.Member, id, service.UnshelveRequest{AvailabilityZone: &zone}); !errors.Is(err, compute.ErrConflict) ||
		!strings.Contains(compute.Message(err), "The server status must be SHELVED_OFFLOADED") {
		t.Fatalf("unshelve a SHELVED server into a zone: %v", err)
	}
	if err := e.Service.ShelveOffload(ctx, e.Admin, id); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if err := e.Service.Unshelve(ctx, e.Member, id, service.UnshelveRequest{AvailabilityZone: &other}); !errors.Is(err, compute.ErrBadRequest) ||
		compute.Message(err) != "The requested availability zone is not available" {
		t.Fatalf("unshelve into an unknown zone: %v", err)
	}
	if err := e.Service.Unshelve(ctx, e.Member, id, service.UnshelveRequest{AvailabilityZone: &zone}); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if got := e.Get(t, id); got.Status() != "ACTIVE" || got.AvailabilityZone != "nova" {
		t.Fatalf("after unshelve into nova: %s %q", got.Status(), got.AvailabilityZone)
	}
}

// TestShelvedOffloadTimer: a positive shelved_offload_time offloads a
// shelved server once it has passed.
func TestShelvedOffloadTimer(t *testing.T) {
	e := computetest.NewSetup(t, smallQuotas, computetest.WithShelvedOffloadTime(1))
	ctx := context.Background()
	id := e.Boot(t, e.Member).ID
	if err := e.Service.Shelve(ctx, e.Member, id); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	e.Service.OffloadExpired(ctx)
	e.Service.Wait()
	if got := e.Get(t, id); got.Status() != "SHELVED" {
		t.Fatalf("offloaded before its time: %s", got.Status())
	}
	time.Sleep(1100 * time.Millisecond)
	e.Service.OffloadExpired(ctx)
	e.Service.Wait()
	if got := e.Get(t, id); got.Status() != "SHELVED_OFFLOADED" {
		t.Fatalf("after shelved_offload_time: %s", got.Status())
	}
}

// TestShelveRestartRecovery: what a restart finds mid-shelve is settled.
func TestShelveRestartRecovery(t *testing.T) {
	ctx := context.Background()
	e := computetest.NewSetup(t, smallQuotas, computetest.WithShelvedOffloadTime(-1))
	interrupted := func(vm, task string, sysmeta map[string]string) string {
		id := e.Boot(t, e.Member).ID
		if _, err := e.Images.Create(ctx, e.Member.Creds, compute.NewImage{Name: "x"}); err != nil {
			t.Fatal(err)
		}
		sv := e.Get(t, id)
		sv.VMState, sv.TaskState, sv.SystemMetadata = vm, task, sysmeta
		if err := e.Repo.UpdateServer(ctx, sv); err != nil {
			t.Fatal(err)
		}
		return id
	}
	uploading := interrupted(compute.VMActive, compute.TaskShelvingUploading, map[string]string{"shelved_image_id": "snap"})
	offloading := interrupted(compute.VMShelved, compute.TaskShelvingOffloading, map[string]string{"shelved_image_id": "snap-2"})
	unshelving := interrupted(compute.VMShelvedOffloaded, compute.TaskSpawning, map[string]string{"shelved_image_id": "snap-3"})
	if err := e.Service.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	for id, want := range map[string]string{uploading: "ACTIVE", offloading: "SHELVED_OFFLOADED", unshelving: "SHELVED_OFFLOADED"} {
		if got := e.Get(t, id); got.Status() != want || got.TaskState != compute.TaskNone {
			t.Errorf("server %s: %s %q, want %s", id, got.Status(), got.TaskState, want)
		}
	}
	if _, ok := e.Hypervisor.Domain(unshelving); ok {
		t.Error("an interrupted unshelve keeps its VM")
	}
	if live := e.Images.Live(); !slices.Equal(live, []string{"snap-2", "snap-3"}) {
		t.Errorf("images %v: only the interrupted shelve's goes", live)
	}
}

// TestUnshelveWithoutVM: a SHELVED server whose VM is gone all the same
// comes back from its shelved image.
func TestUnshelveWithoutVM(t *testing.T) {
	e := computetest.NewSetup(t, smallQuotas, computetest.WithShelvedOffloadTime(-1))
	ctx := context.Background()
	id := e.Boot(t, e.Member).ID
	if err := e.Service.Shelve(ctx, e.Member, id); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if err := e.Hypervisor.Destroy(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := e.Service.Unshelve(ctx, e.Member, id, service.UnshelveRequest{}); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if ps, ok := e.Hypervisor.Domain(id); !ok || ps != compute.PowerRunning || e.Get(t, id).Status() != "ACTIVE" || len(e.Images.Live()) != 0 {
		t.Fatalf("after unshelve: domain %v %v, %s, images %v", ps, ok, e.Get(t, id).Status(), e.Images.Live())
	}
}
