package service_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"imagestack/compute"
	"imagestack/compute/computetest"
	"imagestack/compute/service"
)

// TestBackupRotation: each createBackup makes a backup image, then keeps
// the server's newest `rotation` backups of its type; rotation 0 removes
// them all, the new one too. Backups of another type are not touched; a
// lock does not refuse a backup (as Nova).
func TestBackupRotation(t *testing.T) {
	e := computetest.NewSetup(t, smallQuotas)
	ctx := context.Background()
	id := e.Boot(t, e.Member).ID
	backup := func(typ string, rotation int) string {
		t.Helper()
		imageID, err := e.Service.CreateBackup(ctx, e.Member, id, service.BackupRequest{Name: "b", BackupType: typ, Rotation: rotation, Metadata: map[string]string{"k": "v"}})
		if err != nil {
			t.Fatal(err)
		}
		e.Service.Wait()
		return imageID
	}
	weekly := backup("weekly", 1)
	if err := e.Service.Lock(ctx, e.Member, id, ""); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		backup("daily", 2)
	}
	if live := e.Images.Live(); !slices.Equal(live, []string{weekly, "snap-3", "snap-4"}) {
		t.Fatalf("after 3 daily backups with rotation 2: %v", live)
	}
	req := e.Images.Created()[1]
	if req.Name != "b" || req.Properties["image_type"] != "backup" || req.Properties["backup_type"] != "daily" ||
		req.Properties["instance_uuid"] != id || req.Properties["k"] != "v" || req.Properties["os_distro"] != "x" {
		t.Fatalf("backup image: %+v", req)
	}
	backup("daily", 0)
	if live := e.Images.Live(); !slices.Equal(live, []string{weekly}) {
		t.Fatalf("after rotation 0: %v", live)
	}
	if got := e.Get(t, id); got.TaskState != compute.TaskNone || got.Status() != "ACTIVE" {
		t.Fatalf("server after backups: %s %q", got.Status(), got.TaskState)
	}
	if names := actionNames(t, e, id); names[len(names)-1] != "createBackup" {
		t.Fatalf("actions %v", names)
	}
}

// TestBackupTaskStatesAndChecks: image_backup, image_pending_upload,
// image_uploading, then none; a busy or shelved server is 409.
func TestBackupTaskStatesAndChecks(t *testing.T) {
	e := computetest.NewSetup(t, smallQuotas, computetest.WithShelvedOffloadTime(-1))
	ctx := context.Background()
	id := e.Boot(t, e.Member).ID
	snap := e.Hypervisor.Hold("snapshot")
	if _, err := e.Service.CreateBackup(ctx, e.Member, id, service.BackupRequest{Name: "b", BackupType: "daily", Rotation: 1}); err != nil {
		t.Fatal(err)
	}
	snap.Entered(t)
	e.WaitTask(t, id, compute.TaskImagePending)
	if _, err := e.Service.CreateBackup(ctx, e.Member, id, service.BackupRequest{Name: "b", BackupType: "daily", Rotation: 1}); err == nil ||
		compute.Message(err) != "Cannot 'createBackup' instance "+id+" while it is in task_state image_pending_upload" {
		t.Fatalf("a backup during a backup: %v", err)
	}
	snap.Release(nil)
	e.Service.Wait()
	if err := e.Service.Shelve(ctx, e.Member, id); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if _, err := e.Service.CreateBackup(ctx, e.Member, id, service.BackupRequest{Name: "b", BackupType: "daily", Rotation: 1}); !errors.Is(err, compute.ErrConflict) {
		t.Fatalf("back up a shelved server: %v", err)
	}
	if _, err := e.Service.CreateBackup(ctx, e.Member, id, service.BackupRequest{Name: " b", BackupType: "daily"}); !errors.Is(err, compute.ErrBadRequest) {
		t.Fatalf("a name with leading space: %v", err)
	}
}
