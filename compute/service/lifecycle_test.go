package service_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"imagestack/compute"
	"imagestack/compute/computetest"
	"imagestack/compute/service"
)

// deleteDuring accepts a delete while gate holds a hypervisor call of a
// background step, then holds the delete's Destroy, releases the step with
// stepErr and returns the server as it is while the delete waits: a delete
// has claimed it, so it must still show task_state deleting.
func deleteDuring(t *testing.T, e *computetest.Setup, id string, gate *computetest.Gate, stepErr error) *compute.Server {
	t.Helper()
	gate.Entered(t)
	destroy := e.Hypervisor.Hold("destroy")
	if err := e.Service.Delete(context.Background(), e.Member, id); err != nil {
		t.Fatal(err)
	}
	gate.Release(stepErr)
	destroy.Entered(t)
	sv := e.Get(t, id)
	destroy.Release(nil)
	e.Service.Wait()
	return sv
}

// assertDeleted: the delete won, whatever ran before or after it.
func assertDeleted(t *testing.T, e *computetest.Setup, id string, during *compute.Server) {
	t.Helper()
	if during.TaskState != compute.TaskDeleting || during.VMState == compute.VMError {
		t.Errorf("while the delete ran the server was %s (vm_state %s, task %q, fault %q), want task deleting",
			during.Status(), during.VMState, during.TaskState, during.Fault)
	}
	if sv := e.Get(t, id); sv.VMState != compute.VMDeleted || sv.TaskState != compute.TaskNone {
		t.Errorf("after the delete: vm_state %s task %q fault %q", sv.VMState, sv.TaskState, sv.Fault)
	}
	if _, ok := e.Hypervisor.Domain(id); ok {
		t.Errorf("a domain is left after the delete")
	}
}

// TestDeleteWinsOverBoot: a boot that ends (well or badly) after a delete
// was accepted neither reports ACTIVE nor ERROR; the server ends deleted.
func TestDeleteWinsOverBoot(t *testing.T) {
	for name, spawnErr := range map[string]error{"boot succeeds": nil, "boot fails": errors.New("domain vanished")} {
		t.Run(name, func(t *testing.T) {
			e := computetest.NewSetup(t, smallQuotas)
			spawn := e.Hypervisor.Hold("spawn")
			res, err := e.Service.Create(context.Background(), e.Member, service.CreateRequest{Name: "vm", ImageRef: "img", FlavorRef: "42", MinCount: 1, MaxCount: 1})
			if err != nil {
				t.Fatal(err)
			}
			id := res.Servers[0].ID
			assertDeleted(t, e, id, deleteDuring(t, e, id, spawn, spawnErr))
		})
	}
}

// TestDeleteWinsOverActions: an action or snapshot whose hypervisor call
// fails because the delete is under way leaves the server to the delete;
// one queued behind the delete never reaches the hypervisor.
func TestDeleteWinsOverActions(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		op  string
		act func(e *computetest.Setup, id string) error
	}{
		{"stop", func(e *computetest.Setup, id string) error { return e.Service.Stop(ctx, e.Member, id) }},
		{"reboot", func(e *computetest.Setup, id string) error { return e.Service.Reboot(ctx, e.Member, id, true) }},
		{"snapshot", func(e *computetest.Setup, id string) error {
			_, err := e.Service.CreateImage(ctx, e.Member, id, "snap", nil)
			return err
		}},
		{"rebuild", func(e *computetest.Setup, id string) error {
			_, _, err := e.Service.Rebuild(ctx, e.Member, id, service.RebuildRequest{ImageRef: "img"})
			return err
		}},
	} {
		t.Run(c.op, func(t *testing.T) {
			e := computetest.NewSetup(t, smallQuotas)
			id := e.Boot(t, e.Member).ID
			gate := e.Hypervisor.Hold(c.op)
			if err := c.act(e, id); err != nil {
				t.Fatal(err)
			}
			assertDeleted(t, e, id, deleteDuring(t, e, id, gate, fmt.Errorf("domain of server %s: %w", id, compute.ErrNotFound)))
		})
	}
	t.Run("queued behind the delete", func(t *testing.T) {
		e := computetest.NewSetup(t, smallQuotas)
		id := e.Boot(t, e.Member).ID
		// A power-state read holds the server's operation lock, so the
		// stop and the delete both queue behind it.
		power := e.Hypervisor.Hold("power")
		go e.Service.SyncServer(ctx, id, false)
		power.Entered(t)
		if err := e.Service.Stop(ctx, e.Member, id); err != nil {
			t.Fatal(err)
		}
		if err := e.Service.Delete(ctx, e.Member, id); err != nil {
			t.Fatal(err)
		}
		power.Release(nil)
		e.Service.Wait()
		assertDeleted(t, e, id, &compute.Server{TaskState: compute.TaskDeleting})
		if calls := strings.Join(e.Hypervisor.Calls(), ","); strings.Contains(calls, "stop") {
			t.Errorf("the stop ran although a delete was accepted before it started: %s", calls)
		}
	})
}

// TestDeleteTwice: a second delete while the first runs changes nothing.
func TestDeleteTwice(t *testing.T) {
	e := computetest.NewSetup(t, smallQuotas)
	ctx := context.Background()
	id := e.Boot(t, e.Member).ID
	destroy := e.Hypervisor.Hold("destroy")
	if err := e.Service.Delete(ctx, e.Member, id); err != nil {
		t.Fatal(err)
	}
	destroy.Entered(t)
	if err := e.Service.Delete(ctx, e.Member, id); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	destroy.Release(nil)
	e.Service.Wait()
	if n := strings.Count(strings.Join(e.Hypervisor.Calls(), ","), "destroy"); n != 1 {
		t.Fatalf("%d destroys", n)
	}
	if _, err := e.Service.Get(ctx, e.Member, id); !errors.Is(err, compute.ErrNotFound) {
		t.Fatalf("deleted server: %v", err)
	}
}

// flakyServers is a server repository whose writes fail as an unreachable
// database does while down is set.
type flakyServers struct {
	compute.ServerRepository
	down   atomic.Bool
	failed atomic.Int32
}

func (f *flakyServers) UpdateServer(ctx context.Context, sv *compute.Server) error {
	if f.down.Load() {
		f.failed.Add(1)
		return fmt.Errorf("update server: %w", compute.ErrUnavailable)
	}
	return f.ServerRepository.UpdateServer(ctx, sv)
}

// TestBootOutcomeRecordedWhenDatabaseReturns: a boot whose end meets an
// unreachable database does not leave the server in BUILD: once the
// database answers again the server is ACTIVE, without a restart.
func TestBootOutcomeRecordedWhenDatabaseReturns(t *testing.T) {
	defer service.SetSettlePauses(5*time.Millisecond, 20*time.Millisecond)()
	flaky := &flakyServers{}
	e := computetest.NewSetup(t, smallQuotas, computetest.WithServers(func(r compute.ServerRepository) compute.ServerRepository {
		flaky.ServerRepository = r
		return flaky
	}))
	spawn := e.Hypervisor.Hold("spawn")
	res, err := e.Service.Create(context.Background(), e.Member, service.CreateRequest{Name: "vm", ImageRef: "img", FlavorRef: "42", MinCount: 1, MaxCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Servers[0].ID
	spawn.Entered(t)
	flaky.down.Store(true)
	spawn.Release(nil)
	for deadline := time.Now().Add(5 * time.Second); flaky.failed.Load() < 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the boot never tried to record its outcome")
		}
	}
	if sv := e.Get(t, id); sv.Status() != "BUILD" {
		t.Fatalf("while the database is down: %s", sv.Status())
	}
	flaky.down.Store(false)
	e.Service.Wait()
	if sv := e.Get(t, id); sv.Status() != "ACTIVE" || sv.TaskState != compute.TaskNone {
		t.Fatalf("after the database came back: %s (task %q, fault %q)", sv.Status(), sv.TaskState, sv.Fault)
	}
}
