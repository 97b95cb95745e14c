package db_test

import (
	"context"
	"testing"
	"time"

	"imagestack/compute"
	computedb "imagestack/compute/db"
)

// TestActions: a server's actions come back newest first, those recorded
// in the same millisecond in reverse order of recording, with every field
// kept, on every engine; other servers' actions are not among them.
func TestActions(t *testing.T) {
	eachRepo(t, func(t *testing.T, r *computedb.Repo) {
		ctx := context.Background()
		t0 := time.Date(2026, 12, 1, 6, 0, 0, 123_000_000, time.UTC)
		for _, a := range []compute.Action{
			{ServerID: "s1", Name: "create", RequestID: "req-1", UserID: "u", ProjectID: "p", StartTime: t0},
			{ServerID: "s2", Name: "create", RequestID: "req-2", UserID: "u", ProjectID: "p", StartTime: t0},
			{ServerID: "s1", Name: "stop", RequestID: "req-3", UserID: "u2", ProjectID: "p", StartTime: t0.Add(time.Second)},
			{ServerID: "s1", Name: "start", RequestID: "req-4", UserID: "u2", ProjectID: "p", StartTime: t0.Add(time.Second)},
		} {
			if err := r.AddAction(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		got, err := r.ListActions(ctx, "s1")
		if err != nil {
			t.Fatal(err)
		}
		want := []compute.Action{
			{ServerID: "s1", Name: "start", RequestID: "req-4", UserID: "u2", ProjectID: "p", StartTime: t0.Add(time.Second)},
			{ServerID: "s1", Name: "stop", RequestID: "req-3", UserID: "u2", ProjectID: "p", StartTime: t0.Add(time.Second)},
			{ServerID: "s1", Name: "create", RequestID: "req-1", UserID: "u", ProjectID: "p", StartTime: t0},
		}
		if len(got) != len(want) {
			t.Fatalf("actions of s1: %+v", got)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("action %d: %+v, want %+v", i, got[i], want[i])
			}
		}
		if none, err := r.ListActions(ctx, "nope"); err != nil || len(none) != 0 {
			t.Fatalf("actions of an unknown server: %v %v", none, err)
		}
	})
}
