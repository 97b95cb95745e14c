package db_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"imagestack/compute"
	computedb "imagestack/compute/db"
)

// TestHostServices: services register once per host and binary, keep the
// state admins give them and can be deleted, on every engine.
func TestHostServices(t *testing.T) {
	eachRepo(t, func(t *testing.T, r *computedb.Repo) {
		ctx, now := context.Background(), time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
		a, err := r.EnsureHostService(ctx, "h", compute.BinaryCompute, now)
		if err != nil || len(a.UUID) != 36 || a.Disabled || a.ID == 0 {
			t.Fatalf("ensure: %+v %v", a, err)
		}
		if again, err := r.EnsureHostService(ctx, "h", compute.BinaryCompute, now); err != nil || again.UUID != a.UUID {
			t.Fatalf("ensure again: %+v %v", again, err)
		}
		reason := "maintenance"
		a.Disabled, a.DisabledReason, a.ForcedDown, a.UpdatedAt = true, &reason, true, now.Add(time.Minute)
		if err := r.UpdateHostService(ctx, a); err != nil {
			t.Fatal(err)
		}
		list, err := r.ListHostServices(ctx)
		if err != nil || len(list) != 1 || !list[0].Disabled || *list[0].DisabledReason != reason || !list[0].ForcedDown {
			t.Fatalf("list: %+v %v", list, err)
		}
		if err := r.DeleteHostService(ctx, a.UUID); err != nil {
			t.Fatal(err)
		}
		if err := r.DeleteHostService(ctx, a.UUID); !errors.Is(err, compute.ErrNotFound) {
			t.Fatalf("delete again: %v", err)
		}
		if err := r.UpdateHostService(ctx, a); !errors.Is(err, compute.ErrNotFound) {
			t.Fatalf("update of a deleted service: %v", err)
		}
	})
}

// TestActionEvents: an action's events start, finish with a result and
// traceback, and mark the action updated, on every engine.
func TestActionEvents(t *testing.T) {
	eachRepo(t, func(t *testing.T, r *computedb.Repo) {
		ctx, t0 := context.Background(), time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
		if err := r.StartEvent(ctx, "s1", "req-1", compute.Event{Name: "e", StartTime: t0}); !errors.Is(err, compute.ErrNotFound) {
			t.Fatalf("event of no action: %v", err)
		}
		if err := r.AddAction(ctx, compute.Action{ServerID: "s1", Name: "stop", RequestID: "req-1", StartTime: t0}); err != nil {
			t.Fatal(err)
		}
		if err := r.StartEvent(ctx, "s1", "req-1", compute.Event{Name: "compute_stop_instance", StartTime: t0, Host: "h"}); err != nil {
			t.Fatal(err)
		}
		t1 := t0.Add(2 * time.Second)
		if err := r.FinishEvent(ctx, "s1", "req-1", compute.Event{Name: "compute_stop_instance", FinishTime: &t1, Result: compute.EventError, Traceback: "boom"}); err != nil {
			t.Fatal(err)
		}
		evs, err := r.ActionEvents(ctx, "s1", "req-1")
		if err != nil || len(evs) != 1 || evs[0].Result != compute.EventError || evs[0].Traceback != "boom" || evs[0].Host != "h" ||
			evs[0].FinishTime == nil || !evs[0].FinishTime.Equal(t1) || !evs[0].StartTime.Equal(t0) {
			t.Fatalf("events: %+v %v", evs, err)
		}
		acts, err := r.ListActions(ctx, "s1")
		if err != nil || acts[0].UpdatedAt == nil || !acts[0].UpdatedAt.Equal(t1) || acts[0].Message == nil || *acts[0].Message != "Error" {
			t.Fatalf("action after its event: %+v %v", acts, err)
		}
		if err := r.FinishEvent(ctx, "s1", "req-1", compute.Event{Name: "compute_stop_instance", FinishTime: &t1}); !errors.Is(err, compute.ErrNotFound) {
			t.Fatalf("finishing a finished event: %v", err)
		}
	})
}
