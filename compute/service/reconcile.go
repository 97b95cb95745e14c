package service

import (
	"context"
	"fmt"
	"sync"
	"time"

	"imagestack/compute"
)

// EventSource is implemented by hypervisors that report VM lifecycle changes.
type EventSource interface {
	// Events sends the id of each server whose VM changed state, until ctx ends.
	Events(ctx context.Context) (<-chan string, error)
}

// Reconcile aligns every live server with what the hypervisor reports, after a
// restart: work a restart interrupted is settled (a boot or rebuild that
// never finished is an error, an interrupted delete is finished, other tasks
// are cleared) and power states are read afresh.
func (s *Service) Reconcile(ctx context.Context) error {
	if s.Hypervisor == nil {
		return nil
	}
	list, err := s.Servers.ListServers(ctx, compute.ServerFilter{})
	if err != nil {
		return err
	}
	for _, sv := range list {
		switch {
		case sv.TaskState == compute.TaskDeleting:
			id := sv.ID
			s.background(id, func(ctx context.Context) {
				if err := s.Hypervisor.Destroy(ctx, id); err != nil {
					s.failServer(ctx, id, fmt.Errorf("delete: %w", err))
					return
				}
				s.update(ctx, id, func(sv *compute.Server) {
					sv.VMState, sv.TaskState, sv.PowerState = compute.VMDeleted, compute.TaskNone, compute.PowerNoState
				})
			})
			continue
		case sv.VMState == compute.VMBuilding || sv.TaskState == compute.TaskRebuilding:
			s.failServer(ctx, sv.ID, fmt.Errorf("interrupted by a restart of the compute service"))
			continue
		}
		s.SyncServer(ctx, sv.ID, true)
	}
	return nil
}

// SyncServer reads a server's power state from the hypervisor and records
// it: a guest that powered itself off becomes SHUTOFF, one that came back
// ACTIVE. Servers with an operation in progress are left to it, unless
// clearTask (start-up) says no operation can still be running.
func (s *Service) SyncServer(ctx context.Context, id string, clearTask bool) {
	mu, _ := s.locks.LoadOrStore(id, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	sv, err := s.Servers.GetServer(ctx, id)
	if err != nil || sv.VMState == compute.VMDeleted || sv.VMState == compute.VMError {
		return
	}
	if sv.TaskState != compute.TaskNone && !clearTask {
		return
	}
	ps, err := s.Hypervisor.PowerState(ctx, id)
	if err != nil {
		s.log.Warn("could not read power state", "server", id, "err", err)
		return
	}
	next := *sv
	next.TaskState, next.PowerState = compute.TaskNone, ps
	switch ps {
	case compute.PowerRunning, compute.PowerPaused:
		next.VMState = compute.VMActive
	default:
		next.VMState = compute.VMStopped
	}
	if next.VMState == sv.VMState && next.PowerState == sv.PowerState && next.TaskState == sv.TaskState {
		return
	}
	next.UpdatedAt = s.now().UTC()
	s.log.Info("server state reconciled from the hypervisor", "server", id, "vm_state", next.VMState, "power_state", int(ps))
	if err := s.Servers.UpdateServer(ctx, &next); err != nil {
		s.log.Error("could not record reconciled state", "server", id, "err", err)
	}
}

// WatchEvents keeps servers in step with hypervisor events until ctx ends,
// resubscribing when the hypervisor connection drops.
func (s *Service) WatchEvents(ctx context.Context) {
	src, ok := s.Hypervisor.(EventSource)
	if !ok {
		return
	}
	for ctx.Err() == nil {
		ch, err := src.Events(ctx)
		if err != nil {
			s.log.Warn("hypervisor events unavailable; retrying", "err", err)
		} else {
			for id := range ch {
				s.SyncServer(ctx, id, false)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
	}
}
