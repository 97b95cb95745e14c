package db_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"imagestack/compute"
	computedb "imagestack/compute/db"
)

// TestTaskLeases: a server's task lease is taken by one member at a time,
// survives UpdateServer, is renewed by its owner, and, once expired, is
// claimed by exactly one of several racing members; a renewal before the
// expiry keeps it from them.
func TestTaskLeases(t *testing.T) {
	eachRepo(t, func(t *testing.T, r *computedb.Repo) {
		ctx := context.Background()
		created, err := r.CreateServers(ctx, "p", newServers("p", 2), upTo(10, 2))
		if err != nil {
			t.Fatal(err)
		}
		id, idle := created[0].ID, created[1].ID
		now := time.Now().UTC()
		takeTask(t, r, id, "a#1", now, now.Add(time.Minute), true)
		takeTask(t, r, id, "b#1", now, now.Add(time.Minute), false)
		// The API's own writes of the server keep the lease.
		sv, _ := r.GetServer(ctx, id)
		sv.TaskState = compute.TaskSpawning
		if err := r.UpdateServer(ctx, sv); err != nil || sv.TaskOwner != "a#1" {
			t.Fatalf("update: %v, owner %q", err, sv.TaskOwner)
		}
		if got, _ := r.GetServer(ctx, id); got.TaskOwner != "a#1" {
			t.Fatalf("owner after an update: %q", got.TaskOwner)
		}
		if ok, err := r.ClaimTask(ctx, id, "a#1", now, "b#1", now.Add(time.Minute)); ok || err != nil {
			t.Fatalf("a live lease was claimed: %v %v", ok, err)
		}
		held, err := r.RenewTasks(ctx, "a#1", now.Add(-time.Second)) // a renewal that came too late
		if err != nil || !slices.Equal(held, []string{id}) {
			t.Fatalf("renew: %v %v", held, err)
		}
		leases, err := r.TaskLeases(ctx, true)
		if err != nil || len(leases) != 2 || !slices.ContainsFunc(leases, func(l compute.TaskLease) bool {
			return l.ServerID == id && l.Owner == "a#1" && l.TaskState == compute.TaskSpawning && l.Until.Before(now)
		}) {
			t.Fatalf("leases (the leased server and the unowned building one): %+v %v", leases, err)
		}
		if winners := raceClaims(t, r, id, now); winners != 1 {
			t.Fatalf("%d of the racing members claimed the expired lease, want 1", winners)
		}
		if err := r.ReleaseTask(ctx, id, "a#1"); err != nil { // the former owner's release changes nothing
			t.Fatal(err)
		}
		if got, _ := r.GetServer(ctx, id); got.TaskOwner == "" || got.TaskOwner == "a#1" {
			t.Fatalf("owner after the claim: %q", got.TaskOwner)
		}
		if ok, err := r.ClaimTask(ctx, idle, "", time.Time{}, "c#1", now.Add(time.Minute)); !ok || err != nil {
			t.Fatalf("claim of an unowned task: %v %v", ok, err)
		}
		if err := r.ReleaseTask(ctx, idle, "c#1"); err != nil {
			t.Fatal(err)
		}
		if _, err := r.TakeTask(ctx, "no-such-server", "a#1", now, now); !errors.Is(err, compute.ErrNotFound) {
			t.Fatalf("take of a missing server: %v", err)
		}
	})
}

func takeTask(t *testing.T, r *computedb.Repo, id, owner string, now, until time.Time, want bool) {
	t.Helper()
	if ok, err := r.TakeTask(context.Background(), id, owner, now, until); ok != want || err != nil {
		t.Fatalf("%s takes the task: %v %v, want %v", owner, ok, err, want)
	}
}

// raceClaims has five members claim server id's expired lease of a#1 at
// once and returns how many won.
func raceClaims(t *testing.T, r *computedb.Repo, id string, now time.Time) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	winners := 0
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := r.ClaimTask(context.Background(), id, "a#1", now, "r#"+string(rune('0'+i)), now.Add(time.Minute))
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if ok {
				winners++
			}
		}()
	}
	wg.Wait()
	return winners
}
