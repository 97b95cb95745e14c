package db_test

import (
	"context"
	"testing"
	"time"

	"imagestack/compute"
	computedb "imagestack/compute/db"
)

// TestServerResizeAndSoftDeleteFields: the old flavor of a resize and the
// time of a soft delete are stored and read back on every engine (so a
// revert and the reclaimer work after a restart); soft-deleted servers
// count in no usage (as Nova) and are listed by their state.
func TestServerResizeAndSoftDeleteFields(t *testing.T) {
	eachRepo(t, func(t *testing.T, r *computedb.Repo) {
		ctx := context.Background()
		created, err := r.CreateServers(ctx, "p", newServers("p", 1), upTo(10, 1))
		if err != nil {
			t.Fatal(err)
		}
		sv := created[0]
		at := time.Now().UTC().Truncate(time.Millisecond)
		sv.VMState, sv.FlavorID, sv.DeletedAt = compute.VMSoftDeleted, "2", &at
		sv.OldFlavorID, sv.OldRAM, sv.OldVCPUs, sv.OldDisk, sv.OldVMState = "1", 64, 1, 1, compute.VMStopped
		sv.OldFlavor = compute.FlavorCopy{Name: "m1.old", Swap: 5}
		if err := r.UpdateServer(ctx, sv); err != nil {
			t.Fatal(err)
		}
		got, err := r.GetServer(ctx, sv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.OldFlavorID != "1" || got.OldRAM != 64 || got.OldVCPUs != 1 || got.OldDisk != 1 || got.OldVMState != compute.VMStopped || got.OldFlavor.Name != "m1.old" ||
			got.DeletedAt == nil || !got.DeletedAt.Equal(at) {
			t.Fatalf("read back: %+v (deleted at %v, want %v)", got, got.DeletedAt, at)
		}
		if used, err := r.CountUsage(ctx, "p"); err != nil || used.Instances != 0 {
			t.Fatalf("a soft-deleted server counts in the usage (Nova leaves it out): %+v %v", used, err)
		}
		list, err := r.ListServers(ctx, compute.ServerFilter{Status: compute.VMSoftDeleted})
		if err != nil || len(list) != 1 || list[0].ID != sv.ID {
			t.Fatalf("soft-deleted servers: %v %v", list, err)
		}
	})
}
