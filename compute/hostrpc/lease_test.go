package hostrpc

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"imagestack/common/cluster"
	"imagestack/common/db/dbtest"
	"imagestack/compute"
	"imagestack/compute/computetest"
)

// stuckCall queues a Stop for a server of fake's host directly (its caller
// went away) and returns it once the agent runs it, held in the fake.
func stuckCall(t *testing.T, env *testEnv, fake *computetest.Hypervisor, host string) (callRow, *computetest.Gate) {
	t.Helper()
	s := spec(t)
	if err := fake.Spawn(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	gate := fake.Hold("stop")
	t.Cleanup(func() { gate.Release(nil) })
	row := callRow{ID: s.ServerID, Host: host, ServerID: s.ServerID, Method: mStop, Args: "{}"}
	if err := newCalls(env.db).insert(t.Context(), &row); err != nil {
		t.Fatal(err)
	}
	gate.Entered(t)
	return row, gate
}

func wantInterrupted(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, compute.ErrUnavailable) || !strings.Contains(compute.Message(err), "interrupted") {
		t.Fatalf("got %v, want an interrupted call (ErrUnavailable)", err)
	}
}

// TestDeadHostsCallFailsOnceItsLeaseExpires: the process running a call
// dies (stops renewing); once the lease expired, the call is failed as
// interrupted by exactly one of two members recovering at once, and the
// dead process's late outcome changes nothing.
func TestDeadHostsCallFailsOnceItsLeaseExpires(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		env := newTestEnv(t, gdb)
		fake := computetest.NewHypervisor()
		const ttl = 300 * time.Millisecond
		a := env.agent(t, "host-1", fake, withLease(ttl))
		row, _ := stuckCall(t, env, fake, "host-1")
		time.Sleep(2 * ttl) // renewed meanwhile: still running
		if cur, _ := env.calls().get(t.Context(), row.ID); cur.State != stateRunning {
			t.Fatalf("a call renewed by a live agent is %s", cur.State)
		}
		a.dead.Store(true)
		died := time.Now()
		var recovered atomic.Int32
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				for time.Since(died) < 3*ttl {
					n, err := RecoverExpired(t.Context(), env.db)
					if err != nil {
						t.Error(err)
						return
					}
					recovered.Add(int32(n))
				}
			})
		}
		wg.Wait()
		cur, err := env.calls().get(t.Context(), row.ID)
		if err != nil || recovered.Load() != 1 || cur.State != stateFailed {
			t.Fatalf("recovered %d times; call %s %v", recovered.Load(), cur.State, err)
		}
		if took := cur.UpdatedAt.Sub(died); took > 2*ttl {
			t.Errorf("failed %s after the host died, lease %s", took, ttl)
		}
		_, err = decodeResult(cur)
		wantInterrupted(t, err)
		if ok, err := env.calls().finish(t.Context(), row.ID, a.cfg.Member.ID, "{}", nil); ok || err != nil {
			t.Fatalf("the dead host's late outcome was taken: %v %v", ok, err)
		}
	})
}

// TestCallerSeesAnInterruptedCall: a caller waiting on a call whose host
// died gets ErrUnavailable once the lease expired, without a recovery loop.
func TestCallerSeesAnInterruptedCall(t *testing.T) {
	env := newTestEnv(t, dbtest.OpenSQLite(t))
	fake := computetest.NewHypervisor()
	const ttl = 300 * time.Millisecond
	a := env.agent(t, "host-1", fake, withLease(ttl))
	client := env.client(t, OneHost("host-1"))
	s := spec(t)
	if err := client.Spawn(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	gate := fake.Hold("stop")
	t.Cleanup(func() { gate.Release(nil) })
	go func() { gate.Entered(t); a.dead.Store(true) }()
	start := time.Now()
	wantInterrupted(t, client.Stop(t.Context(), s.ServerID))
	if took := time.Since(start); took > 3*ttl {
		t.Errorf("the caller waited %s (lease %s)", took, ttl)
	}
}

// TestRestartedHostFailsItsPreviousCalls: a host process that comes back
// under the same member name fails what its previous run left running at
// once, without waiting for the leases, and serves new calls.
func TestRestartedHostFailsItsPreviousCalls(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		env := newTestEnv(t, gdb)
		fake := computetest.NewHypervisor()
		roles := []string{cluster.RoleCompute}
		old := env.agent(t, "host-1", fake, withLease(time.Hour), withMember(cluster.NewMember("host-1:8774", "host-1", roles)))
		row, _ := stuckCall(t, env, fake, "host-1")
		old.dead.Store(true)
		other := env.agent(t, "host-1", computetest.NewHypervisor(), withMember(cluster.NewMember("host-1:9774", "host-1", roles)))
		time.Sleep(50 * time.Millisecond)
		if cur, _ := env.calls().get(t.Context(), row.ID); cur.State != stateRunning {
			t.Fatalf("another member of the host failed a call it does not own: %s", cur.State)
		}
		other.dead.Store(true)
		env.agent(t, "host-1", fake, withMember(cluster.NewMember("host-1:8774", "host-1", roles)))
		eventually(t, 2*time.Second, "the previous run's call fails", func() bool {
			cur, _ := env.calls().get(t.Context(), row.ID)
			return cur.State == stateFailed
		})
		cur, _ := env.calls().get(t.Context(), row.ID)
		_, err := decodeResult(cur)
		wantInterrupted(t, err)
		client := env.client(t, OneHost("host-1"))
		if ps, err := client.PowerState(t.Context(), row.ServerID); err != nil || ps != compute.PowerRunning {
			t.Fatalf("the restarted host: %d %v", ps, err)
		}
	})
}

func (e *testEnv) calls() calls { return newCalls(e.db) }
