package db_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"imagestack/common/db/dbtest"
	"imagestack/compute"
	computedb "imagestack/compute/db"
)

func TestFlavorRepository(t *testing.T) {
	eachRepo(t, func(t *testing.T, r *computedb.Repo) {
		ctx := context.Background()
		now := time.Now()
		for i, f := range compute.DefaultFlavors {
			f.IsPublic, f.RxTxFactor, f.CreatedAt = i != 2, 1, now
			if err := r.CreateFlavor(ctx, f); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.CreateFlavor(ctx, compute.Flavor{ID: "x", Name: "m1.tiny", RAM: 1, VCPUs: 1}); !errors.Is(err, compute.ErrConflict) {
			t.Fatalf("duplicate name: %v", err)
		}
		pub := true
		list, err := r.ListFlavors(ctx, compute.FlavorFilter{MinRAM: 2048, IsPublic: &pub, SortKey: "memory_mb"})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range list {
			names = append(names, f.Name)
		}
		if !slices.Equal(names, []string{"m1.small", "m1.large", "m1.xlarge"}) {
			t.Fatalf("public flavors >= 2048 MiB by memory: %v", names)
		}
		// Paging by name, two at a time, visits every flavor once.
		var paged []string
		marker := ""
		for range 10 {
			page, err := r.ListFlavors(ctx, compute.FlavorFilter{SortKey: "name", SortDesc: true, Limit: 2, Marker: marker})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range page {
				paged = append(paged, f.Name)
			}
			if len(page) < 2 {
				break
			}
			marker = page[len(page)-1].ID
		}
		if len(paged) != len(compute.DefaultFlavors) || !slices.IsSortedFunc(paged, func(a, b string) int { return -compareStr(a, b) }) {
			t.Fatalf("paged names: %v", paged)
		}
		if _, err := r.ListFlavors(ctx, compute.FlavorFilter{Marker: "nope"}); !errors.Is(err, compute.ErrNotFound) {
			t.Fatalf("unknown marker: %v", err)
		}
		if err := r.SetExtraSpecs(ctx, "1", map[string]string{"a": "1", "b": "2"}); err != nil {
			t.Fatal(err)
		}
		if err := r.SetExtraSpecs(ctx, "1", map[string]string{"a": "3"}); err != nil {
			t.Fatal(err)
		}
		specs, _ := r.ExtraSpecs(ctx, "1")
		if specs["a"] != "3" || specs["b"] != "2" {
			t.Fatalf("specs: %v", specs)
		}
		if err := r.DeleteFlavor(ctx, "1"); err != nil {
			t.Fatal(err)
		}
		if specs, _ := r.ExtraSpecs(ctx, "1"); len(specs) != 0 {
			t.Fatal("extra specs survived their flavor")
		}
		if err := r.DeleteFlavor(ctx, "1"); !errors.Is(err, compute.ErrNotFound) {
			t.Fatalf("delete twice: %v", err)
		}
	})
}

func compareStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestComputeUpgradeMatchesFresh(t *testing.T) {
	dbtest.UpgradeMatchesFresh(t, computedb.Component, computedb.Migrations, computedb.Tables)
}
