package db_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"imagestack/compute"
	computedb "imagestack/compute/db"
)

// TestMigrations: migrations keep what a move did, list newest first with
// every filter, page by uuid markers (ties in created_at broken the same
// way on every page), and take status and destination updates.
func TestMigrations(t *testing.T) {
	eachRepo(t, func(t *testing.T, r *computedb.Repo) {
		ctx := context.Background()
		t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		var made []compute.Migration
		for i := range 5 {
			m := compute.Migration{UUID: fmt.Sprintf("00000000-0000-0000-0000-00000000000%d", i), ServerID: "s" + fmt.Sprint(i%2),
				Type: compute.MigrationEvacuation, Status: compute.MigrationAccepted, SourceCompute: "h1", SourceNode: "h1",
				ProjectID: "p", UserID: "u", CreatedAt: t0.Add(time.Duration(i/2) * time.Minute), UpdatedAt: t0.Add(time.Duration(i) * time.Minute)}
			if i == 4 {
				m.Type, m.SourceCompute, m.OldFlavorID, m.NewFlavorID, m.ProjectID = compute.MigrationResize, "h2", "1", "2", "q"
			}
			if err := r.CreateMigration(ctx, &m); err != nil || m.ID == 0 {
				t.Fatalf("create: %v (id %d)", err, m.ID)
			}
			made = append(made, m)
		}
		all, err := r.ListMigrations(ctx, compute.MigrationFilter{})
		if err != nil || len(all) != 5 || all[0].UUID != made[4].UUID || all[0].OldFlavorID != "1" || !all[0].CreatedAt.Equal(made[4].CreatedAt) {
			t.Fatalf("list: %v %+v", err, all)
		}
		var paged []string
		for marker := ""; ; {
			page, err := r.ListMigrations(ctx, compute.MigrationFilter{Limit: 2, Marker: marker})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range page {
				paged = append(paged, m.UUID)
			}
			if len(page) < 2 {
				break
			}
			marker = page[1].UUID
		}
		if fmt.Sprint(paged) != fmt.Sprint(uuids(all)) {
			t.Fatalf("pages %v, want %v", paged, uuids(all))
		}
		since, before := t0.Add(time.Minute), t0.Add(3*time.Minute)
		for _, c := range []struct {
			f    compute.MigrationFilter
			want int
		}{
			{compute.MigrationFilter{Host: "h2"}, 1}, {compute.MigrationFilter{SourceCompute: "h1"}, 4},
			{compute.MigrationFilter{Type: compute.MigrationResize}, 1}, {compute.MigrationFilter{ServerID: "s1"}, 2},
			{compute.MigrationFilter{ProjectID: "q"}, 1}, {compute.MigrationFilter{UserID: "u", Status: compute.MigrationAccepted}, 5},
			{compute.MigrationFilter{ChangesSince: &since, ChangesBefore: &before}, 3},
		} {
			got, err := r.ListMigrations(ctx, c.f)
			if err != nil || len(got) != c.want {
				t.Errorf("filter %+v: %d migrations, want %d (%v)", c.f, len(got), c.want, err)
			}
		}
		m := made[0]
		m.Status, m.DestCompute, m.DestNode, m.DestHost, m.UpdatedAt = compute.MigrationDone, "h3", "h3", "h3", t0.Add(time.Hour)
		if err := r.UpdateMigration(ctx, m); err != nil {
			t.Fatal(err)
		}
		got, _ := r.ListMigrations(ctx, compute.MigrationFilter{Host: "h3"})
		if len(got) != 1 || got[0].Status != compute.MigrationDone || got[0].DestNode != "h3" || !got[0].UpdatedAt.Equal(m.UpdatedAt) {
			t.Fatalf("after update: %+v", got)
		}
		if _, err := r.ListMigrations(ctx, compute.MigrationFilter{Marker: "nope"}); !errors.Is(err, compute.ErrNotFound) {
			t.Fatalf("unknown marker: %v", err)
		}
		if err := r.UpdateMigration(ctx, compute.Migration{UUID: "nope"}); !errors.Is(err, compute.ErrNotFound) {
			t.Fatalf("update unknown: %v", err)
		}
	})
}

func uuids(ms []compute.Migration) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.UUID
	}
	return out
}
