package db_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"imagestack/glance"
	glancedb "imagestack/glance/db"
)

func TestLeases(t *testing.T) {
	eachRepo(t, func(t *testing.T, r *glancedb.Repo) {
		ctx := context.Background()
		now := time.Now().UTC()
		a, b := "host:9292#1-aa", "host_9292#2-bb" // b's name would match a LIKE pattern with a bare "_"
		live := glance.Lease{Kind: glance.LeaseUpload, ID: "img-1", Owner: a, Until: now.Add(time.Minute), Detail: "img-1-k"}
		if err := r.TakeLease(ctx, live); err != nil {
			t.Fatal(err)
		}
		if err := r.TakeLease(ctx, glance.Lease{Kind: glance.LeaseUpload, ID: "img-1", Owner: b, Until: now}); !errors.Is(err, glance.ErrConflict) {
			t.Fatalf("second lease on one upload: %v", err)
		}
		dead := glance.Lease{Kind: glance.LeaseCopy, ID: glance.CopyLeaseID("img-2", "b"), Owner: b, Until: now.Add(-time.Second), Detail: "k2"}
		if err := r.TakeLease(ctx, dead); err != nil {
			t.Fatal(err)
		}
		// Expired leases are stale; a live one only for a member of its name.
		if got, err := r.StaleLeases(ctx, now, ""); err != nil || len(got) != 1 || got[0].ID != dead.ID || got[0].Detail != "k2" {
			t.Fatalf("stale leases: %+v %v", got, err)
		}
		if got, err := r.StaleLeases(ctx, now, "host:9292"); err != nil || len(got) != 2 {
			t.Fatalf("stale leases of name host:9292: %+v %v", got, err)
		}
		if got, err := r.StaleLeases(ctx, now, "host_9292"); err != nil || len(got) != 1 || got[0].Owner != b {
			t.Fatalf("stale leases of name host_9292: %+v %v", got, err)
		}
		// A live lease is not claimed unless forced.
		if won, err := r.ClaimLease(ctx, live, b, now, now.Add(time.Minute), false); err != nil || won {
			t.Fatalf("claim of a live lease: %v %v", won, err)
		}
		// Of several claimers of one expired lease exactly one wins.
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				won, err := r.ClaimLease(ctx, dead, "claimer#"+string(rune('a'+i)), now, now.Add(time.Minute), false)
				if err != nil {
					t.Error(err)
				}
				if won {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d claimers won one lease", wins.Load())
		}
		// Renewal moves every lease of the owner; release only by the owner.
		if n, err := r.RenewLeases(ctx, a, now.Add(time.Hour)); err != nil || n != 1 {
			t.Fatalf("renew: %d %v", n, err)
		}
		if got, _ := r.StaleLeases(ctx, now.Add(30*time.Minute), ""); len(got) != 1 || got[0].Owner == a {
			t.Fatalf("a renewed lease expired: %+v", got)
		}
		if err := r.ReleaseLease(ctx, glance.LeaseUpload, "img-1", b); err != nil {
			t.Fatal(err)
		}
		if err := r.TakeLease(ctx, live); !errors.Is(err, glance.ErrConflict) {
			t.Fatalf("released by another member: %v", err)
		}
		if err := r.ReleaseLease(ctx, glance.LeaseUpload, "img-1", a); err != nil {
			t.Fatal(err)
		}
		if err := r.TakeLease(ctx, live); err != nil {
			t.Fatalf("take after release: %v", err)
		}
	})
}

func TestAdoptOrphans(t *testing.T) {
	eachRepo(t, func(t *testing.T, r *glancedb.Repo) {
		ctx := context.Background()
		saving := newImage("00000000-0000-0000-0000-0000000000a1", "A", glance.VisibilityPrivate, 0)
		saving.Status, saving.BlobKey = glance.StatusSaving, "k1"
		leased := newImage("00000000-0000-0000-0000-0000000000a2", "A", glance.VisibilityPrivate, 1)
		leased.Status, leased.BlobKey = glance.StatusImporting, "k2"
		copying := newImage("00000000-0000-0000-0000-0000000000a3", "A", glance.VisibilityPrivate, 2)
		copying.Status, copying.BlobKey = glance.StatusActive, "k3"
		for _, im := range []*glance.Image{saving, leased, copying} {
			if err := r.Create(ctx, im); err != nil {
				t.Fatal(err)
			}
		}
		for _, st := range []string{"a", "b"} {
			status := map[string]string{"a": glance.LocationActive, "b": glance.LocationPending}[st]
			if err := r.AddLocation(ctx, copying.ID, st, status); err != nil {
				t.Fatal(err)
			}
		}
		task := &glance.Task{ID: "task-1", Type: glance.TaskTypeImageImport, Status: glance.TaskProcessing, ImageID: copying.ID,
			CreatedAt: base, UpdatedAt: base}
		if err := r.CreateTask(ctx, task); err != nil {
			t.Fatal(err)
		}
		owned := glance.Lease{Kind: glance.LeaseUpload, ID: leased.ID, Owner: "m#1", Until: time.Now().Add(time.Hour), Detail: "k2"}
		if err := r.TakeLease(ctx, owned); err != nil {
			t.Fatal(err)
		}
		if n, err := r.AdoptOrphans(ctx); err != nil || n != 3 {
			t.Fatalf("adopted %d: %v", n, err)
		}
		if n, err := r.AdoptOrphans(ctx); err != nil || n != 0 {
			t.Fatalf("adopted again %d: %v", n, err)
		}
		got, err := r.StaleLeases(ctx, time.Now(), "")
		if err != nil || len(got) != 3 {
			t.Fatalf("orphans: %+v %v", got, err)
		}
		want := map[string]string{glance.LeaseCopy: glance.CopyLeaseID(copying.ID, "b"), glance.LeaseTask: "task-1", glance.LeaseUpload: saving.ID}
		for _, l := range got {
			if want[l.Kind] != l.ID || l.Owner != "" {
				t.Fatalf("orphan lease %+v", l)
			}
		}
	})
}
