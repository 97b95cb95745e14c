package db_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"imagestack/compute"
	computedb "imagestack/compute/db"
)

// Aggregates keep their hosts in the order added and their metadata;
// names are unique; a change's refusal and a delete's check stop them.
func TestAggregateRepository(t *testing.T) {
	eachRepo(t, func(t *testing.T, r *computedb.Repo) {
		ctx := context.Background()
		a, err := r.CreateAggregate(ctx, compute.Aggregate{Name: "a", Metadata: map[string]string{compute.ZoneKey: "az1"}, CreatedAt: time.Now()})
		if err != nil || a.ID == 0 || a.UUID == "" || a.Zone() != "az1" || a.UpdatedAt != nil {
			t.Fatalf("create: %+v %v", a, err)
		}
		if _, err := r.CreateAggregate(ctx, compute.Aggregate{Name: "a", CreatedAt: time.Now()}); !errors.Is(err, compute.ErrConflict) {
			t.Fatalf("same name: %v", err)
		}
		b, _ := r.CreateAggregate(ctx, compute.Aggregate{Name: "b", CreatedAt: time.Now()})
		for _, h := range []string{"z-host", "a-host"} {
			if _, err := r.UpdateAggregate(ctx, a.ID, func(x *compute.Aggregate, all []compute.Aggregate) error {
				if len(all) != 2 {
					t.Errorf("change saw %d aggregates", len(all))
				}
				x.Hosts = append(x.Hosts, h)
				x.Metadata["k"] = h
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := r.GetAggregate(ctx, a.ID)
		if err != nil || !slices.Equal(got.Hosts, []string{"z-host", "a-host"}) || got.Metadata["k"] != "a-host" || got.UpdatedAt == nil {
			t.Fatalf("after adds: %+v %v", got, err)
		}
		refused := errors.New("no")
		if _, err := r.UpdateAggregate(ctx, b.ID, func(*compute.Aggregate, []compute.Aggregate) error { return refused }); err != refused {
			t.Fatalf("refused change: %v", err)
		}
		if _, err := r.UpdateAggregate(ctx, b.ID, func(x *compute.Aggregate, _ []compute.Aggregate) error { x.Name = "a"; return nil }); !errors.Is(err, compute.ErrConflict) {
			t.Fatalf("rename onto a: %v", err)
		}
		if _, err := r.UpdateAggregate(ctx, 999, func(*compute.Aggregate, []compute.Aggregate) error { return nil }); !errors.Is(err, compute.ErrNotFound) {
			t.Fatalf("unknown: %v", err)
		}
		if err := r.DeleteAggregate(ctx, a.ID, func(x compute.Aggregate) error { return refused }); err != refused {
			t.Fatalf("refused delete: %v", err)
		}
		if err := r.DeleteAggregate(ctx, a.ID, func(compute.Aggregate) error { return nil }); err != nil {
			t.Fatal(err)
		}
		list, err := r.ListAggregates(ctx)
		if err != nil || len(list) != 1 || list[0].Name != "b" || list[0].Metadata == nil {
			t.Fatalf("list after delete: %+v %v", list, err)
		}
		if _, err := r.GetAggregate(ctx, a.ID); !errors.Is(err, compute.ErrNotFound) {
			t.Fatalf("deleted: %v", err)
		}
	})
}

// Two changes at once each see the other's result: of two aggregates of
// different zones taking the same host concurrently, exactly one does.
func TestAggregateUpdatesSerialize(t *testing.T) {
	eachRepo(t, func(t *testing.T, r *computedb.Repo) {
		ctx := context.Background()
		var ids []int
		for _, z := range []string{"az1", "az2"} {
			a, err := r.CreateAggregate(ctx, compute.Aggregate{Name: z, Metadata: map[string]string{compute.ZoneKey: z}, CreatedAt: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, a.ID)
		}
		taken := errors.New("in another zone")
		errs := make(chan error, 2)
		for _, id := range ids {
			go func() {
				_, err := r.UpdateAggregate(ctx, id, func(a *compute.Aggregate, all []compute.Aggregate) error {
					for _, b := range all {
						if b.ID != a.ID && slices.Contains(b.Hosts, "h1") {
							return taken
						}
					}
					time.Sleep(50 * time.Millisecond) // both read before either writes, unless serialized
					a.Hosts = append(a.Hosts, "h1")
					return nil
				})
				errs <- err
			}()
		}
		ok := 0
		for range 2 {
			if err := <-errs; err == nil {
				ok++
			} else if err != taken {
				t.Fatal(err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d aggregates of different zones took the same host", ok)
		}
	})
}
