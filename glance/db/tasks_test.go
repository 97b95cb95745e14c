package db_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"imagestack/glance"
	glancedb "imagestack/glance/db"
)

func taskIDs(ts []*glance.Task) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

// TestTaskPagingAndExpiry: filters, sort keys with created_at and id as
// tie-breakers, keyset paging by marker, and expired tasks left out of
// pages and deleted by DeleteExpiredTasks, on each engine.
func TestTaskPagingAndExpiry(t *testing.T) {
	eachRepo(t, func(t *testing.T, r *glancedb.Repo) {
		ctx := context.Background()
		now := base.Add(time.Hour)
		past, future := now.Add(-time.Minute), now.Add(time.Minute)
		// Tasks 1-4 share one created_at; 5 is newer; 6 has expired.
		for i, spec := range []struct {
			owner, status string
			minute        int
			expires       *time.Time
		}{{"A", glance.TaskSuccess, 0, &future}, {"A", glance.TaskFailure, 0, &future}, {"B", glance.TaskPending, 0, nil},
			{"A", glance.TaskProcessing, 0, nil}, {"A", glance.TaskSuccess, 5, &future}, {"A", glance.TaskSuccess, 1, &past}} {
			at := base.Add(time.Duration(spec.minute) * time.Minute)
			task := &glance.Task{ID: fmt.Sprintf("00000000-0000-0000-0000-00000000000%d", i+1), Type: glance.TaskTypeImport,
				Status: spec.status, Owner: spec.owner, CreatedAt: at, UpdatedAt: at, ExpiresAt: spec.expires}
			if err := r.CreateTask(ctx, task); err != nil {
				t.Fatal(err)
			}
		}
		id := func(n int) string { return fmt.Sprintf("00000000-0000-0000-0000-00000000000%d", n) }
		page := func(q glance.TaskQuery) []string {
			t.Helper()
			q.Now = now
			ts, err := r.PageTasks(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			return taskIDs(ts)
		}
		if got, want := page(glance.TaskQuery{Desc: true}), []string{id(5), id(4), id(3), id(2), id(1)}; !slices.Equal(got, want) {
			t.Fatalf("newest first: %v, want %v", got, want)
		}
		if got, want := page(glance.TaskQuery{Owner: "A", Status: glance.TaskSuccess}), []string{id(1), id(5)}; !slices.Equal(got, want) {
			t.Fatalf("A's successes, oldest first: %v, want %v", got, want)
		}
		if got, want := page(glance.TaskQuery{SortKey: "status", Limit: 2, Marker: id(2)}), []string{id(3), id(4)}; !slices.Equal(got, want) {
			t.Fatalf("by status after failure: %v, want %v", got, want)
		}
		var all []string
		for marker := ""; ; {
			got := page(glance.TaskQuery{Desc: true, Limit: 2, Marker: marker})
			all = append(all, got...)
			if len(got) < 2 {
				break
			}
			marker = got[1]
		}
		if want := []string{id(5), id(4), id(3), id(2), id(1)}; !slices.Equal(all, want) {
			t.Fatalf("paged two at a time: %v, want %v", all, want)
		}
		for _, q := range []glance.TaskQuery{{Marker: id(6), Now: now}, {Owner: "A", Marker: id(3), Now: now}} {
			if _, err := r.PageTasks(ctx, q); !errors.Is(err, glance.ErrNotFound) {
				t.Fatalf("marker %s (owner %q): %v", q.Marker, q.Owner, err)
			}
		}
		if n, err := r.DeleteExpiredTasks(ctx, now); err != nil || n != 1 {
			t.Fatalf("deleted %d expired tasks: %v", n, err)
		}
		if _, err := r.GetTask(ctx, id(6)); !errors.Is(err, glance.ErrNotFound) {
			t.Fatalf("expired task after the cleanup: %v", err)
		}
		if n, _ := r.DeleteExpiredTasks(ctx, future); n != 3 {
			t.Fatalf("deleted %d tasks expiring at %v, want 3", n, future)
		}
	})
}
