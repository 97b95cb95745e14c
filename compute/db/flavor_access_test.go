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

// TestFlavorAccess: private flavors are listed as "public" only for the
// projects given access; grants are unique and go with their flavor.
func TestFlavorAccess(t *testing.T) {
	eachRepo(t, func(t *testing.T, r *computedb.Repo) {
		ctx := context.Background()
		for _, f := range []compute.Flavor{
			{ID: "pub", Name: "pub", RAM: 1, VCPUs: 1, IsPublic: true},
			{ID: "priv", Name: "priv", RAM: 1, VCPUs: 1},
			{ID: "other", Name: "other", RAM: 1, VCPUs: 1},
		} {
			f.RxTxFactor, f.CreatedAt = 1, time.Now()
			if err := r.CreateFlavor(ctx, f); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.AddFlavorAccess(ctx, "priv", "p1"); err != nil {
			t.Fatal(err)
		}
		if err := r.AddFlavorAccess(ctx, "priv", "p0"); err != nil {
			t.Fatal(err)
		}
		if err := r.AddFlavorAccess(ctx, "priv", "p1"); !errors.Is(err, compute.ErrConflict) {
			t.Fatalf("second grant: %v", err)
		}
		if err := r.AddFlavorAccess(ctx, "nope", "p1"); !errors.Is(err, compute.ErrNotFound) {
			t.Fatalf("grant on a missing flavor: %v", err)
		}
		if got, err := r.FlavorProjects(ctx, "priv"); err != nil || !slices.Equal(got, []string{"p0", "p1"}) {
			t.Fatalf("projects: %v %v", got, err)
		}
		if got, err := r.FlavorProjects(ctx, "pub"); err != nil || got == nil || len(got) != 0 {
			t.Fatalf("projects of a flavor without grants: %#v %v", got, err)
		}
		if _, err := r.FlavorProjects(ctx, "nope"); !errors.Is(err, compute.ErrNotFound) {
			t.Fatalf("projects of a missing flavor: %v", err)
		}
		pub := true
		ids := func(project string) []string {
			t.Helper()
			list, err := r.ListFlavors(ctx, compute.FlavorFilter{IsPublic: &pub, AccessProject: project})
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, f := range list {
				out = append(out, f.ID)
			}
			return out
		}
		if got := ids("p1"); !slices.Equal(got, []string{"priv", "pub"}) {
			t.Fatalf("p1 sees %v", got)
		}
		if got := ids("p2"); !slices.Equal(got, []string{"pub"}) {
			t.Fatalf("p2 sees %v", got)
		}
		if err := r.RemoveFlavorAccess(ctx, "priv", "p1"); err != nil {
			t.Fatal(err)
		}
		if err := r.RemoveFlavorAccess(ctx, "priv", "p1"); !errors.Is(err, compute.ErrNotFound) {
			t.Fatalf("second removal: %v", err)
		}
		if got := ids("p1"); !slices.Equal(got, []string{"pub"}) {
			t.Fatalf("p1 after removal sees %v", got)
		}
		// A flavor's grants go with it: one of the same id later starts empty.
		if err := r.DeleteFlavor(ctx, "priv"); err != nil {
			t.Fatal(err)
		}
		if err := r.CreateFlavor(ctx, compute.Flavor{ID: "priv", Name: "priv", RAM: 1, VCPUs: 1, RxTxFactor: 1, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if got, _ := r.FlavorProjects(ctx, "priv"); len(got) != 0 {
			t.Fatalf("grants outlived their flavor: %v", got)
		}
	})
}
