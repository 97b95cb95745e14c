package service_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"imagestack/common/db/dbtest"
	"imagestack/compute"
	"imagestack/compute/computetest"
	"imagestack/compute/service"
)

// wantErr checks that err is of kind with exactly msg as its message.
func wantErr(t *testing.T, err, kind error, msg string) {
	t.Helper()
	if !errors.Is(err, kind) || compute.Message(err) != msg {
		t.Fatalf("error %v, want %v %q", err, kind, msg)
	}
}

// TestSuspendResume: suspend shows suspending, then SUSPENDED with power
// state SHUTDOWN (4); resume makes it ACTIVE without a new boot; Nova's
// state rules and locks apply; both are recorded as instance actions.
func TestSuspendResume(t *testing.T) {
	e := computetest.NewSetup(t)
	ctx := context.Background()
	sv := e.Boot(t, e.Member)
	gate := e.Hypervisor.Hold("suspend")
	if err := e.Service.Suspend(ctx, e.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	gate.Entered(t)
	if got := e.Get(t, sv.ID); got.TaskState != compute.TaskSuspending {
		t.Fatalf("task while suspending: %q", got.TaskState)
	}
	gate.Release(nil)
	e.Service.Wait()
	if got := e.Get(t, sv.ID); got.Status() != "SUSPENDED" || got.PowerState != compute.PowerShutdown || got.TaskState != "" {
		t.Fatalf("after suspend: %s power %d task %q", got.Status(), got.PowerState, got.TaskState)
	}
	wantErr(t, e.Service.Suspend(ctx, e.Member, sv.ID), compute.ErrConflict, "Cannot 'suspend' instance "+sv.ID+" while it is in vm_state suspended")
	wantErr(t, e.Service.Stop(ctx, e.Member, sv.ID), compute.ErrConflict, "Cannot 'stop' instance "+sv.ID+" while it is in vm_state suspended")
	// A restart (reconcile) keeps a suspended server suspended.
	e.Service.SyncServer(ctx, sv.ID, true)
	if got := e.Get(t, sv.ID); got.Status() != "SUSPENDED" {
		t.Fatalf("after a reconcile: %s", got.Status())
	}
	if err := e.Service.Lock(ctx, e.Member, sv.ID, ""); err != nil {
		t.Fatal(err)
	}
	wantErr(t, e.Service.Resume(ctx, e.Member, sv.ID), compute.ErrConflict, "Instance "+sv.ID+" is locked")
	if err := e.Service.Unlock(ctx, e.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.Service.Resume(ctx, e.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if got := e.Get(t, sv.ID); got.Status() != "ACTIVE" || got.PowerState != compute.PowerRunning {
		t.Fatalf("after resume: %s power %d", got.Status(), got.PowerState)
	}
	wantErr(t, e.Service.Resume(ctx, e.Member, sv.ID), compute.ErrConflict, "Cannot 'resume' instance "+sv.ID+" while it is in vm_state active")
	if got := strings.Join(actionNames(t, e, sv.ID), ","); got != "create,suspend,lock,unlock,resume" {
		t.Fatalf("actions: %s", got)
	}
}

// resizeSetup has a member's m1.nano server and flavors to resize it to:
// "r2" (2 vCPUs, 256 MiB, 2 GiB), "r2-off" (the same, disabled) and "r0"
// (no disk).
func resizeSetup(t *testing.T, opts ...computetest.Option) (*computetest.Setup, *compute.Server) {
	t.Helper()
	e := computetest.NewSetup(t, opts...)
	for _, f := range []compute.Flavor{{ID: "r2", Name: "r2", RAM: 256, VCPUs: 2, Disk: 2},
		{ID: "r2-off", Name: "r2-off", RAM: 256, VCPUs: 2, Disk: 2, Disabled: true}, {ID: "r0", Name: "r0", RAM: 256, VCPUs: 2}} {
		f.RxTxFactor, f.IsPublic = 1, true
		if _, err := e.Service.CreateFlavor(context.Background(), e.Admin, f); err != nil {
			t.Fatal(err)
		}
	}
	return e, e.Boot(t, e.Member)
}

// TestResizeConfirm: a resize walks Nova's task states (status RESIZE),
// ends in VERIFY_RESIZE with the new flavor on the server and its VM, the
// old one kept; confirm makes it ACTIVE and forgets the old flavor.
func TestResizeConfirm(t *testing.T) {
	e, sv := resizeSetup(t)
	ctx := context.Background()
	gate := e.Hypervisor.Hold("resize")
	if err := e.Service.Resize(ctx, e.Member, sv.ID, "r2"); err != nil {
		t.Fatal(err)
	}
	gate.Entered(t)
	if got := e.Get(t, sv.ID); got.TaskState != compute.TaskResizeMigrating || got.Status() != "RESIZE" {
		t.Fatalf("while resizing: %s task %q", got.Status(), got.TaskState)
	}
	gate.Release(nil)
	e.Service.Wait()
	got := e.Get(t, sv.ID)
	if got.Status() != "VERIFY_RESIZE" || got.FlavorID != "r2" || got.VCPUs != 2 || got.RAM != 256 || got.Disk != 2 || got.OldFlavorID != "42" || got.OldVMState != compute.VMActive ||
		got.Flavor.Name != "r2" || got.OldFlavor.Name != "m1.nano" {
		t.Fatalf("after resize: %+v", got)
	}
	if size, _ := e.Hypervisor.Size(ctx, sv.ID); size != (compute.ResizeSpec{MemoryMiB: 256, VCPUs: 2, RootGB: 2}) {
		t.Fatalf("VM size after resize: %+v", size)
	}
	wantErr(t, e.Service.Resize(ctx, e.Member, sv.ID, "84"), compute.ErrConflict, "Cannot 'resize' instance "+sv.ID+" while it is in vm_state resized")
	if err := e.Service.ConfirmResize(ctx, e.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if got := e.Get(t, sv.ID); got.Status() != "ACTIVE" || got.FlavorID != "r2" || got.OldFlavorID != "" {
		t.Fatalf("after confirm: %+v", got)
	}
	wantErr(t, e.Service.ConfirmResize(ctx, e.Member, sv.ID), compute.ErrConflict, "Cannot 'confirmResize' instance "+sv.ID+" while it is in vm_state active")
	wantErr(t, e.Service.RevertResize(ctx, e.Member, sv.ID), compute.ErrConflict, "Cannot 'revertResize' instance "+sv.ID+" while it is in vm_state active")
	wantErr(t, e.Service.Resize(ctx, e.Member, sv.ID, "84"), compute.ErrBadRequest, "Resizing to a smaller disk flavor is not allowed.")
	if got := strings.Join(actionNames(t, e, sv.ID), ","); got != "create,resize,confirmResize" {
		t.Fatalf("actions: %s", got)
	}
}

// TestResizeRevert: a revert brings back the old flavor and the VM's old
// size (REVERT_RESIZE meanwhile); a stopped server resized stays SHUTOFF.
func TestResizeRevert(t *testing.T) {
	e, sv := resizeSetup(t)
	ctx := context.Background()
	if err := e.Service.Stop(ctx, e.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if err := e.Service.Resize(ctx, e.Member, sv.ID, "r2"); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if got := e.Get(t, sv.ID); got.Status() != "VERIFY_RESIZE" || got.PowerState != compute.PowerShutdown {
		t.Fatalf("after resizing a stopped server: %s power %d", got.Status(), got.PowerState)
	}
	gate := e.Hypervisor.Hold("revert_resize")
	if err := e.Service.RevertResize(ctx, e.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	gate.Entered(t)
	if got := e.Get(t, sv.ID); got.Status() != "REVERT_RESIZE" {
		t.Fatalf("while reverting: %s", got.Status())
	}
	gate.Release(nil)
	e.Service.Wait()
	if got := e.Get(t, sv.ID); got.Status() != "SHUTOFF" || got.FlavorID != "42" || got.VCPUs != 1 || got.RAM != 128 || got.Disk != 1 || got.OldFlavorID != "" || got.Flavor.Name != "m1.nano" {
		t.Fatalf("after revert: %s %+v", got.Status(), got)
	}
	if size, _ := e.Hypervisor.Size(ctx, sv.ID); size != (compute.ResizeSpec{MemoryMiB: 128, VCPUs: 1, RootGB: 1}) {
		t.Fatalf("VM size after revert: %+v", size)
	}
}

// TestResizeRefusals: Nova's 400s for flavors a server cannot take, 403
// over the cores quota, 409 for states it refuses.
func TestResizeRefusals(t *testing.T) {
	e, sv := resizeSetup(t, computetest.WithQuotas(service.Quotas{Instances: 10, Cores: 2, RAM: 10000}))
	ctx := context.Background()
	for ref, msg := range map[string]string{
		"42":      "When resizing, instances must change flavor!",
		"nope":    "Flavor nope could not be found.",
		"r2-off":  "Flavor r2-off could not be found.",
		"r0":      "Server disk was unable to be resized because: Resize to zero disk flavor is not allowed.",
		"unknown": "Flavor unknown could not be found.",
	} {
		wantErr(t, e.Service.Resize(ctx, e.Member, sv.ID, ref), compute.ErrBadRequest, msg)
	}
	e.Boot(t, e.Member) // 2 of 2 cores used
	wantErr(t, e.Service.Resize(ctx, e.Member, sv.ID, "r2"), compute.ErrOverQuota, "Quota exceeded for cores: Requested 1, but already used 2 of 2 cores")
	// The project's own limit, not the configured default, is the one in force.
	if _, err := e.Service.UpdateProjectQuotas(ctx, e.Admin, sv.ProjectID, "", map[string]int{"cores": -1}, false); err != nil {
		t.Fatal(err)
	}
	gate := e.Hypervisor.Hold("resize")
	if err := e.Service.Resize(ctx, e.Member, sv.ID, "r2"); err != nil {
		t.Fatalf("resize with unlimited cores: %v", err)
	}
	gate.Release(nil)
	e.Service.Wait()
	if err := e.Service.RevertResize(ctx, e.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if err := e.Service.Pause(ctx, e.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	wantErr(t, e.Service.Resize(ctx, e.Member, sv.ID, "r2"), compute.ErrConflict, "Cannot 'resize' instance "+sv.ID+" while it is in vm_state paused")
}

// TestResetState: admins set active or error and clear the task; members
// may not; other states are 400.
func TestResetState(t *testing.T) {
	e := computetest.NewSetup(t)
	ctx := context.Background()
	sv := e.Boot(t, e.Member)
	wantErr(t, e.Service.ResetState(ctx, e.Member, sv.ID, "error"), compute.ErrForbidden, "Policy doesn't allow os_compute_api:os-admin-actions:reset_state to be performed.")
	wantErr(t, e.Service.ResetState(ctx, e.Admin, sv.ID, "stopped"), compute.ErrBadRequest, "Invalid input for field/attribute state. Value: stopped. 'stopped' is not one of ['active', 'error']")
	if err := e.Service.ResetState(ctx, e.Admin, sv.ID, "error"); err != nil {
		t.Fatal(err)
	}
	if got := e.Get(t, sv.ID); got.Status() != "ERROR" || got.TaskState != "" {
		t.Fatalf("after reset to error: %s task %q", got.Status(), got.TaskState)
	}
	if err := e.Service.ResetState(ctx, e.Admin, sv.ID, "active"); err != nil {
		t.Fatal(err)
	}
	if got := e.Get(t, sv.ID); got.Status() != "ACTIVE" {
		t.Fatalf("after reset to active: %s", got.Status())
	}
}

// TestTriggerCrashDump: an NMI reaches an active server's VM; a stopped
// server is 409.
func TestTriggerCrashDump(t *testing.T) {
	e := computetest.NewSetup(t)
	ctx := context.Background()
	sv := e.Boot(t, e.Member)
	if err := e.Service.TriggerCrashDump(ctx, e.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if n := e.Hypervisor.NMIs(sv.ID); n != 1 {
		t.Fatalf("%d NMIs, want 1", n)
	}
	if err := e.Service.Stop(ctx, e.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	wantErr(t, e.Service.TriggerCrashDump(ctx, e.Member, sv.ID), compute.ErrConflict, "Cannot 'trigger_crash_dump' instance "+sv.ID+" while it is in vm_state stopped")
}

// TestSoftDelete: with a reclaim interval a delete powers the VM off and
// keeps the server SOFT_DELETED, out of the quota and of the default list
// (as Nova); restore, which needs quota room again, brings it back ACTIVE;
// forceDelete deletes at once.
func TestSoftDelete(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithReclaimInterval(time.Hour), computetest.WithQuotas(service.Quotas{Instances: 1, Cores: 20, RAM: 51200}))
	ctx := context.Background()
	sv := e.Boot(t, e.Member)
	wantErr(t, e.Service.Restore(ctx, e.Member, sv.ID), compute.ErrConflict, "Cannot 'restore' instance "+sv.ID+" while it is in vm_state active")
	if err := e.Service.Delete(ctx, e.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	got := e.Get(t, sv.ID)
	if ps, _ := e.Hypervisor.Domain(sv.ID); got.Status() != "SOFT_DELETED" || got.DeletedAt == nil || ps != compute.PowerShutdown {
		t.Fatalf("after delete: %s deleted_at %v domain %d", got.Status(), got.DeletedAt, ps)
	}
	if used, _ := e.Repo.CountUsage(ctx, sv.ProjectID); used.Instances != 0 {
		t.Fatalf("a soft-deleted server counts in the quota: %+v", used)
	}
	if list, _ := e.Repo.ListServers(ctx, compute.ServerFilter{ProjectID: sv.ProjectID}); len(list) != 0 {
		t.Fatalf("a soft-deleted server is in the default list: %d servers", len(list))
	}
	deleted := true
	if list, _ := e.Repo.ListServers(ctx, compute.ServerFilter{ProjectID: sv.ProjectID, ServerFilterMore: compute.ServerFilterMore{Deleted: &deleted}}); len(list) != 1 {
		t.Fatalf("deleted=true does not list the soft-deleted server: %d servers", len(list))
	}
	other := e.Boot(t, e.Member) // takes the one instance the quota has
	wantErr(t, e.Service.Restore(ctx, e.Member, sv.ID), compute.ErrOverQuota, "Quota exceeded for instances: Requested 1, but already used 1 of 1 instances")
	if err := e.Service.ForceDelete(ctx, e.Member, other.ID); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if err := e.Service.ReclaimDeleted(ctx); err != nil || e.Get(t, sv.ID).Status() != "SOFT_DELETED" {
		t.Fatalf("reclaimed before its interval: %v", err)
	}
	if err := e.Service.Restore(ctx, e.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if got := e.Get(t, sv.ID); got.Status() != "ACTIVE" || got.PowerState != compute.PowerRunning || got.DeletedAt != nil {
		t.Fatalf("after restore: %s power %d", got.Status(), got.PowerState)
	}
	if err := e.Service.ForceDelete(ctx, e.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if got := e.Get(t, sv.ID); got.VMState != compute.VMDeleted {
		t.Fatalf("after forceDelete: %s", got.VMState)
	}
	if got := strings.Join(actionNames(t, e, sv.ID), ","); got != "create,delete,restore,delete" {
		t.Fatalf("actions: %s", got)
	}
}

// TestReclaimSoftDeleted: servers soft-deleted before a restart stay
// SOFT_DELETED through the restart's reconcile, and the reclaimer deletes
// them once the interval has passed.
func TestReclaimSoftDeleted(t *testing.T) {
	const interval = 50 * time.Millisecond
	gdb := dbtest.OpenSQLite(t)
	before := computetest.NewSetup(t, computetest.WithDB(gdb), computetest.WithReclaimInterval(interval))
	ctx := context.Background()
	sv := before.Boot(t, before.Member)
	if err := before.Service.Delete(ctx, before.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	before.Service.Wait()
	e := computetest.NewSetup(t, computetest.WithDB(gdb), computetest.WithReclaimInterval(interval)) // the restart
	if err := e.Service.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.Get(t, sv.ID); got.Status() != "SOFT_DELETED" {
		t.Fatalf("after the restart: %s", got.Status())
	}
	time.Sleep(2 * interval)
	if err := e.Service.ReclaimDeleted(ctx); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if got := e.Get(t, sv.ID); got.VMState != compute.VMDeleted {
		t.Fatalf("not reclaimed: %s", got.Status())
	}
}
