package db_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"imagestack/compute"
	computedb "imagestack/compute/db"
)

func newServers(project string, n int) []*compute.Server {
	now := time.Now()
	out := make([]*compute.Server, n)
	for i := range out {
		out[i] = &compute.Server{ID: uuid.NewString(), Name: fmt.Sprintf("s%d", i), ProjectID: project, UserID: "u", ImageID: "img",
			FlavorID: "1", RAM: 64, VCPUs: 1, Disk: 1, VMState: compute.VMBuilding, ReservationID: "r-1",
			Metadata: map[string]string{"k": "v"}, CreatedAt: now, UpdatedAt: now}
	}
	return out
}

// upTo is a FitFunc allowing at most limit instances, as many of want as fit.
func upTo(limit, want int) compute.FitFunc {
	return func(used compute.Usage) (int, error) {
		n := min(want, limit-used.Instances)
		if n < 1 {
			return 0, compute.ErrOverQuota
		}
		return n, nil
	}
}

// TestCreateServersWithinQuota: many concurrent creates in one project never
// store more than its quota between them, on every engine; other projects
// are not held up by the project's lock.
func TestCreateServersWithinQuota(t *testing.T) {
	eachRepo(t, func(t *testing.T, r *computedb.Repo) {
		ctx := context.Background()
		const limit, callers = 10, 24
		var wg sync.WaitGroup
		var mu sync.Mutex
		stored, refused := 0, 0
		for i := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				project := "p"
				if i%4 == 3 {
					project = fmt.Sprintf("q%d", i)
				}
				got, err := r.CreateServers(ctx, project, newServers(project, 3), upTo(limit, 3))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case errors.Is(err, compute.ErrOverQuota):
					refused++
				case err != nil:
					t.Errorf("create: %v", err)
				case project == "p":
					stored += len(got)
				}
			}()
		}
		wg.Wait()
		used, err := r.CountUsage(ctx, "p")
		if err != nil {
			t.Fatal(err)
		}
		if used.Instances != limit || stored != limit || used.VCPUs != limit || used.RAM != limit*64 {
			t.Fatalf("quota of %d instances: %d stored by the calls, usage %+v (%d calls refused)", limit, stored, used, refused)
		}
		if other, _ := r.CountUsage(ctx, "q3"); other.Instances != 3 {
			t.Fatalf("another project: %+v", other)
		}
		// A refusal stores nothing; a server of another project is refused.
		if _, err := r.CreateServers(ctx, "p", newServers("p", 1), upTo(limit, 1)); !errors.Is(err, compute.ErrOverQuota) {
			t.Fatalf("over quota: %v", err)
		}
		if _, err := r.CreateServers(ctx, "x", newServers("y", 1), upTo(limit, 1)); err == nil {
			t.Fatal("a server of another project was stored")
		}
		if used, _ := r.CountUsage(ctx, "y"); used.Instances != 0 {
			t.Fatalf("refused servers stored: %+v", used)
		}
	})
}

// TestListServersByName: the name pattern is applied before marker and
// limit, on every engine, case-sensitive and matching anywhere in the name
// (Nova's re.search), so that paging by one reaches every match.
func TestListServersByName(t *testing.T) {
	eachRepo(t, func(t *testing.T, r *computedb.Repo) {
		ctx := context.Background()
		names := []string{"web-1", "db-1", "Web-2", "web-3", "cache", "wéb-4"}
		servers := newServers("p", len(names))
		base := time.Now().Add(-time.Hour)
		for i, sv := range servers {
			sv.Name, sv.CreatedAt, sv.UpdatedAt = names[i], base.Add(time.Duration(i)*time.Second), base
		}
		if _, err := r.CreateServers(ctx, "p", servers, upTo(10, len(names))); err != nil {
			t.Fatal(err)
		}
		list := func(f compute.ServerFilter) []string {
			t.Helper()
			f.ProjectID = "p"
			got, err := r.ListServers(ctx, f)
			if err != nil {
				t.Fatalf("%+v: %v", f, err)
			}
			out := make([]string, len(got))
			for i, sv := range got {
				out[i] = sv.Name
			}
			return out
		}
		for pattern, want := range map[string]string{
			"^web":     "web-3 web-1",
			"eb-":      "web-3 Web-2 web-1",
			"(?i)^web": "web-3 Web-2 web-1",
			"^w.b-4$":  "wéb-4",
			"1$":       "db-1 web-1",
			"nomatch":  "",
		} {
			if got := fmt.Sprint(list(compute.ServerFilter{Name: pattern})); got != "["+want+"]" {
				t.Errorf("name %q: %s, want [%s]", pattern, got, want)
			}
		}
		// Paging one by one through the matches reaches the oldest one,
		// though newer servers that do not match fill whole pages.
		var paged []string
		marker := ""
		for range 10 {
			got, err := r.ListServers(ctx, compute.ServerFilter{ProjectID: "p", Name: "^web-1$", Limit: 1, Marker: marker})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 {
				break
			}
			paged, marker = append(paged, got[0].Name), got[0].ID
		}
		if fmt.Sprint(paged) != "[web-1]" {
			t.Fatalf("paging by one through ^web-1$: %v", paged)
		}
		if _, err := r.ListServers(ctx, compute.ServerFilter{ProjectID: "p", Name: "a(b"}); !errors.Is(err, compute.ErrBadRequest) {
			t.Fatalf("invalid pattern: %v", err)
		}
	})
}

// TestServerSystemMetadata: a server's system metadata (a shelved server's
// keys) is stored and read back on every engine, and removed entirely.
func TestServerSystemMetadata(t *testing.T) {
	eachRepo(t, func(t *testing.T, r *computedb.Repo) {
		ctx := context.Background()
		sv := newServers("p", 1)[0]
		if _, err := r.CreateServers(ctx, "p", []*compute.Server{sv}, upTo(1, 1)); err != nil {
			t.Fatal(err)
		}
		if got, err := r.GetServer(ctx, sv.ID); err != nil || len(got.SystemMetadata) != 0 {
			t.Fatalf("new server: %v %v", got.SystemMetadata, err)
		}
		sv.SystemMetadata = map[string]string{compute.SysShelvedImageID: "i", compute.SysShelvedAt: "2026-01-02T03:04:05.000000"}
		if err := r.UpdateServer(ctx, sv); err != nil {
			t.Fatal(err)
		}
		if got, err := r.GetServer(ctx, sv.ID); err != nil || got.SystemMetadata[compute.SysShelvedImageID] != "i" || len(got.SystemMetadata) != 2 {
			t.Fatalf("stored: %v %v", got.SystemMetadata, err)
		}
		sv.SystemMetadata = map[string]string{}
		if err := r.UpdateServer(ctx, sv); err != nil {
			t.Fatal(err)
		}
		if got, err := r.GetServer(ctx, sv.ID); err != nil || len(got.SystemMetadata) != 0 {
			t.Fatalf("cleared: %v %v", got.SystemMetadata, err)
		}
	})
}
