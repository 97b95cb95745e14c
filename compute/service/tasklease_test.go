package service_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"imagestack/common/db/dbtest"
	"imagestack/compute"
	"imagestack/compute/computetest"
	"imagestack/compute/service"
)

// leaseTTL is short so that a member's death shows within the test.
const leaseTTL = 300 * time.Millisecond

// TestTaskLeasesAcrossMembers: two members on one database. B's start-up
// leaves A's boot in progress alone, and A's renewals keep it A's however
// long it takes; A's boot ends ACTIVE. When A stops renewing mid-boot (its
// death), the server is recovered to ERROR by exactly one of two racing
// members, and A's late outcome changes nothing.
func TestTaskLeasesAcrossMembers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		ctx := context.Background()
		a := member(t, gdb, "a")
		gate := a.Hypervisor.Hold("spawn")
		id := create(t, a)
		gate.Entered(t)
		b := member(t, gdb, "b")
		if err := b.Service.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * leaseTTL)
		if n, err := b.Service.RecoverTasks(ctx, false); n != 0 || err != nil {
			t.Fatalf("B recovered %d live tasks of A (%v)", n, err)
		}
		if got := a.Get(t, id); got.Status() != "BUILD" || got.TaskState != compute.TaskSpawning || got.Fault != "" {
			t.Fatalf("A's boot after B's start-up: %s %q %q", got.Status(), got.TaskState, got.Fault)
		}
		gate.Release(nil)
		a.Service.Wait()
		if got := a.Get(t, id); got.Status() != "ACTIVE" || got.TaskOwner != "" {
			t.Fatalf("A's boot: %s, lease of %q", got.Status(), got.TaskOwner)
		}

		gate = a.Hypervisor.Hold("spawn")
		dying := create(t, a)
		gate.Entered(t)
		a.StopRenewing()
		time.Sleep(leaseTTL + leaseTTL/2)
		if n := raceRecovery(t, b, member(t, gdb, "c")); n != 1 {
			t.Fatalf("%d recoveries of the dead member's task, want 1", n)
		}
		got := a.Get(t, dying)
		if got.Status() != "ERROR" || !strings.Contains(got.Fault, "interrupted") || got.TaskOwner != "" {
			t.Fatalf("after the recovery: %s %q, lease of %q", got.Status(), got.Fault, got.TaskOwner)
		}
		gate.Release(nil) // the dead member's boot comes back late
		a.Service.Wait()
		if late := a.Get(t, dying); late.Status() != "ERROR" || late.Fault != got.Fault {
			t.Fatalf("the dead member's late boot changed the server: %s %q", late.Status(), late.Fault)
		}
	})
}

func member(t *testing.T, gdb *gorm.DB, name string) *computetest.Setup {
	return computetest.NewSetup(t, computetest.WithDB(gdb), computetest.WithMember(name), computetest.WithLeaseTTL(leaseTTL))
}

func create(t *testing.T, s *computetest.Setup) string {
	t.Helper()
	res, err := s.Service.Create(context.Background(), s.Member, service.CreateRequest{Name: "vm", ImageRef: "img", FlavorRef: "42", MinCount: 1, MaxCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	return res.Servers[0].ID
}

// raceRecovery runs the recovery of members at once and returns how many
// servers they recovered in all.
func raceRecovery(t *testing.T, members ...*computetest.Setup) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for _, m := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := m.Service.RecoverTasks(context.Background(), false)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			total += n
		}()
	}
	wg.Wait()
	return total
}

// TestRestartRecoversItsOwnTasksAtOnce: a task leased by an earlier run of
// the same member (a restart: same name, new id) is dead for certain; the
// restart's start-up recovers it at once, its lease still running.
func TestRestartRecoversItsOwnTasksAtOnce(t *testing.T) {
	gdb := dbtest.OpenSQLite(t)
	before := computetest.NewSetup(t, computetest.WithDB(gdb)) // lease TTL 30 s
	gate := before.Hypervisor.Hold("spawn")
	id := create(t, before)
	gate.Entered(t)
	other := computetest.NewSetup(t, computetest.WithDB(gdb), computetest.WithMember("other"))
	if err := other.Service.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := other.Get(t, id); got.Status() != "BUILD" {
		t.Fatalf("another member's start-up touched the boot: %s %q", got.Status(), got.Fault)
	}
	after := computetest.NewSetup(t, computetest.WithDB(gdb)) // the restart
	if err := after.Service.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := after.Get(t, id); got.Status() != "ERROR" || !strings.Contains(got.Fault, "interrupted") {
		t.Fatalf("after the restart: %s %q", got.Status(), got.Fault)
	}
	gate.Release(nil)
}

// TestLostLeaseStopsTheTask: a member whose lease another took (it stalled
// past the TTL) learns it at its next renewal, says so, and its task
// records nothing more.
func TestLostLeaseStopsTheTask(t *testing.T) {
	logs := &lossNoticed{Handler: slog.NewTextHandler(io.Discard, nil), noticed: make(chan struct{})}
	a := computetest.NewSetup(t, computetest.WithLeaseTTL(leaseTTL), computetest.WithLog(slog.New(logs)))
	gate := a.Hypervisor.Hold("spawn")
	id := create(t, a)
	gate.Entered(t)
	owner := a.Get(t, id).TaskOwner
	if ok, err := a.Repo.ClaimTask(context.Background(), id, owner, time.Time{}, "b#1", time.Now().Add(time.Hour)); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	select {
	case <-logs.noticed:
	case <-time.After(5 * time.Second):
		t.Fatal("the loss was never noticed")
	}
	gate.Release(nil)
	a.Service.Wait()
	if got := a.Get(t, id); got.Status() != "BUILD" || got.TaskOwner != "b#1" {
		t.Fatalf("the task went on after losing its lease: %s, lease of %q", got.Status(), got.TaskOwner)
	}
}

// lossNoticed closes noticed at the first log record of a lost lease.
type lossNoticed struct {
	slog.Handler
	once    sync.Once
	noticed chan struct{}
}

func (h *lossNoticed) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "lost the lease") {
		h.once.Do(func() { close(h.noticed) })
	}
	return h.Handler.Handle(ctx, r)
}
