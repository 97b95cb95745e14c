package db_test

import (
	"context"
	"errors"
	"testing"

	"gorm.io/gorm"

	"imagestack/common/db/dbtest"
	"imagestack/policy/keystone"
	keystonedb "imagestack/policy/keystone/db"
)

// TestUnifiedLimits on each engine: duplicates are ErrConflict (all of a
// batch or none stored), a limit needs its registered limit, a referenced
// registered limit cannot change or go, filters apply, and deleting a
// project deletes its limits.
func TestUnifiedLimits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		s, err := keystonedb.New(gdb)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if err := s.CreateProject(ctx, keystone.Project{ID: "p1", Name: "p1", DomainID: "default", Enabled: true}); err != nil {
			t.Fatal(err)
		}
		rl := keystone.RegisteredLimit{ID: "r1", ServiceID: "image", ResourceName: "image_count_total", DefaultLimit: 10}
		if err := s.CreateRegisteredLimits(ctx, []keystone.RegisteredLimit{rl}); err != nil {
			t.Fatal(err)
		}
		dup := []keystone.RegisteredLimit{{ID: "r2", ServiceID: "image", ResourceName: "other", DefaultLimit: 1}, {ID: "r3", ServiceID: "image", ResourceName: "image_count_total"}}
		if err := s.CreateRegisteredLimits(ctx, dup); !errors.Is(err, keystone.ErrConflict) {
			t.Fatalf("duplicate registered limit: %v", err)
		}
		if _, err := s.GetRegisteredLimit(ctx, "r2"); !errors.Is(err, keystone.ErrNotFound) {
			t.Fatalf("half a failed batch stored: %v", err)
		}
		l := keystone.Limit{ID: "l1", ProjectID: "p1", ServiceID: "image", ResourceName: "image_count_total", ResourceLimit: 3}
		if _, err := s.CreateLimits(ctx, []keystone.Limit{{ID: "l0", ProjectID: "p1", ServiceID: "image", ResourceName: "nope"}}); !errors.Is(err, keystone.ErrNoRegisteredLimit) {
			t.Fatalf("limit without registered limit: %v", err)
		}
		if _, err := s.CreateLimits(ctx, []keystone.Limit{l}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateLimits(ctx, []keystone.Limit{{ID: "l2", ProjectID: "p1", ServiceID: "image", ResourceName: "image_count_total"}}); !errors.Is(err, keystone.ErrConflict) {
			t.Fatalf("duplicate limit: %v", err)
		}
		if err := s.DeleteRegisteredLimit(ctx, "r1"); !errors.Is(err, keystone.ErrLimitReferenced) {
			t.Fatalf("delete referenced registered limit: %v", err)
		}
		got, err := s.ListLimits(ctx, keystone.LimitFilter{ProjectID: "p1", ResourceName: "image_count_total"})
		if err != nil || len(got) != 1 || got[0].ServiceID != "image" || got[0].ResourceLimit != 3 {
			t.Fatalf("list limits: %+v %v", got, err)
		}
		if err := s.DeleteProject(ctx, "p1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetLimit(ctx, "l1"); !errors.Is(err, keystone.ErrNotFound) {
			t.Fatalf("limit of a deleted project: %v", err)
		}
		if err := s.DeleteRegisteredLimit(ctx, "r1"); err != nil {
			t.Fatal(err)
		}
	})
}
