package hostrpc

import (
	"context"
	"errors"
	"sync"
	"testing"

	"gorm.io/gorm"

	"imagestack/common/db/dbtest"
	"imagestack/compute"
	"imagestack/compute/computetest"
)

// TestPrecacheRunsOnTheNamedHost: a precache call reaches only the host it
// names, which resolves the image reference with its own cache; a host
// that is down is ErrUnavailable, and a plain path is refused.
func TestPrecacheRunsOnTheNamedHost(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		env := newTestEnv(t, gdb)
		var mu sync.Mutex
		resolved := map[string][]string{}
		for _, host := range []string{"host-a", "host-b"} {
			env.agent(t, host, computetest.NewHypervisor(), withResolver(func(_ context.Context, id, sum string) (string, error) {
				mu.Lock()
				defer mu.Unlock()
				resolved[host] = append(resolved[host], id+"/"+sum)
				return "/cache/" + id, nil
			}))
		}
		client := env.client(t, &placement{at: map[string]string{}})
		if err := client.Precache(t.Context(), "host-b", Ref("img-1", "abc")); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		if len(resolved["host-a"]) != 0 || len(resolved["host-b"]) != 1 || resolved["host-b"][0] != "img-1/abc" {
			t.Errorf("resolved per host: %v, want img-1/abc on host-b only", resolved)
		}
		mu.Unlock()
		if err := client.Precache(t.Context(), "host-a", "/some/path"); !errors.Is(err, compute.ErrBadRequest) {
			t.Errorf("a plain path: %v, want a bad request", err)
		}
		env.hosts.Set("host-c", false)
		if err := client.Precache(t.Context(), "host-c", Ref("img-1", "abc")); !errors.Is(err, compute.ErrUnavailable) {
			t.Errorf("a host that is down: %v, want unavailable", err)
		}
	})
}
