package service

import (
	"context"
	"fmt"
	"time"

	"imagestack/common/cluster"
	"imagestack/compute"
)

// Recovery of server tasks whose member is gone: any live member (API
// role) claims each such task's lease with a compare-and-set, so that
// exactly one recovers it, and settles the server as a restart of the
// single process always did (see recoverServer).

// errInterrupted is the fault of a boot or rebuild its member never
// finished.
var errInterrupted = fmt.Errorf("interrupted by a restart of the compute service")

// RecoverTasks recovers the servers whose task lease expired and, at
// start-up, those whose lease an earlier run of this member held (dead
// for certain) and those with a task but no lease (their request died
// before its work began, or a version without leases left them); later,
// a task without a lease is recovered once it is LeaseTTL old. It returns
// how many it recovered. A live member's tasks are never touched.
func (s *Service) RecoverTasks(ctx context.Context, startup bool) (int, error) {
	if s.TaskLeases == nil || s.Hypervisor == nil {
		return 0, nil
	}
	list, err := s.TaskLeases.TaskLeases(ctx, true)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, tl := range list {
		now := s.now().UTC()
		expiredBy, ok := s.recoverable(tl, now, startup)
		if !ok {
			continue
		}
		won, err := s.TaskLeases.ClaimTask(ctx, tl.ServerID, tl.Owner, expiredBy, s.Member.ID, now.Add(s.leases.ttl))
		if err != nil || !won {
			continue // recovered by another member, or renewed
		}
		s.log.Warn("recovering a server task whose member is gone", "server", tl.ServerID, "task_state", tl.TaskState, "owner", tl.Owner)
		s.leases.adopt(tl.ServerID)
		s.recoverClaimed(ctx, tl.ServerID)
		s.leases.leave(tl.ServerID)
		n++
	}
	return n, nil
}

// recoverable reports whether this member may recover tl's server now and
// the expiry its claim must check (zero: none, its owner is gone for
// certain or there is none).
func (s *Service) recoverable(tl compute.TaskLease, now time.Time, startup bool) (time.Time, bool) {
	switch {
	case tl.Owner == s.Member.ID:
		return time.Time{}, false
	case tl.Owner == "":
		return time.Time{}, startup || tl.UpdatedAt.Before(now.Add(-s.leases.ttl))
	case startup && cluster.NameOf(tl.Owner) == s.Member.Name:
		return time.Time{}, true
	}
	return now, tl.Until.Before(now)
}

// recoverClaimed settles a server whose task this member claimed.
func (s *Service) recoverClaimed(ctx context.Context, id string) {
	sv, err := s.Servers.GetServer(ctx, id)
	if err != nil {
		s.log.Error("could not read a server to recover", "server", id, "err", err)
		return
	}
	s.recoverServer(ctx, sv)
}

// recoverServer settles a server whose task nothing runs any more: a boot
// or rebuild that never finished is an error, an interrupted delete is
// finished, shelving is settled (recoverShelve), other tasks are cleared
// and the power state read afresh where this process has the server's
// hypervisor.
func (s *Service) recoverServer(ctx context.Context, sv *compute.Server) {
	id := sv.ID
	switch {
	case sv.TaskState == compute.TaskDeleting:
		s.background(ctx, id, func(ctx context.Context) { s.finishDelete(ctx, id) })
	case sv.TaskState == compute.TaskSoftDeleting:
		s.background(ctx, id, func(ctx context.Context) { s.finishSoftDelete(ctx, id) })
	case sv.VMState == compute.VMBuilding || sv.TaskState == compute.TaskRebuilding:
		s.failServer(ctx, id, errInterrupted)
	case s.recoverShelve(ctx, sv): // shelved servers keep their states
	case s.ownsVM(sv):
		s.resumeBase(ctx, sv)
		s.SyncServer(ctx, id, true)
	default:
		s.clearTask(ctx, id)
	}
}

// clearTask ends a server's task, leaving its power state to the process
// that has its hypervisor.
func (s *Service) clearTask(ctx context.Context, id string) {
	if _, err := s.settle(ctx, id, unlessGone(func(sv *compute.Server) { sv.TaskState = compute.TaskNone })); err != nil {
		s.log.Error("could not clear a recovered server's task", "server", id, "err", err)
	}
}

// ownsVM reports whether this process has the hypervisor of sv's host: it
// runs the compute role on that host (a server not placed yet is on the
// only host of a single process). A process without roles (tests, tools)
// has them all.
func (s *Service) ownsVM(sv *compute.Server) bool {
	if len(s.Member.Roles) == 0 {
		return true
	}
	return s.Member.Has(cluster.RoleCompute) && (sv.Host == "" || sv.Host == s.Member.Host)
}

// RunTaskRecovery recovers expired server tasks every
// cluster.RenewEvery(LeaseTTL) until ctx ends (the API role runs it).
func (s *Service) RunTaskRecovery(ctx context.Context) {
	if s.TaskLeases == nil {
		return
	}
	cluster.Every(ctx, cluster.RenewEvery(s.leases.ttl), func(context.Context) {
		if _, err := s.RecoverTasks(ctx, false); err != nil {
			s.log.Warn("could not recover server tasks", "err", err)
		}
	})
}
