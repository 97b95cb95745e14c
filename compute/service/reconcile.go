package service

import (
	"context"
	"errors"
	"sync"
	"time"

	"imagestack/compute"
)

// EventSource is implemented by hypervisors that report VM lifecycle changes.
type EventSource interface {
	// Events sends the id of each server whose VM changed state, until ctx ends.
	Events(ctx context.Context) (<-chan string, error)
}

// Reconcile aligns servers with what the hypervisor reports, at start-up
// of a process running both roles: tasks whose member is gone are
// recovered (RecoverTasks; without leases, every unfinished task, as no
// other process runs any), then SyncHost.
func (s *Service) Reconcile(ctx context.Context) error {
	if s.Hypervisor == nil {
		return nil
	}
	if s.TaskLeases != nil {
		if _, err := s.RecoverTasks(ctx, true); err != nil {
			return err
		}
		return s.SyncHost(ctx)
	}
	list, err := s.Servers.ListServers(ctx, compute.ServerFilter{})
	if err != nil {
		return err
	}
	for _, sv := range list {
		if hasTask(sv) {
			s.recoverServer(ctx, sv)
		}
	}
	return s.SyncHost(ctx)
}

// hasTask reports whether a server has work in progress.
func hasTask(sv *compute.Server) bool {
	return sv.TaskState != compute.TaskNone || sv.VMState == compute.VMBuilding
}

// SyncHost aligns the servers of this host without a task with what the
// hypervisor reports, at start-up of its compute role: power states are
// read afresh, bases still arriving fetched again, and the image of a
// server unshelved before its image was deleted goes now.
func (s *Service) SyncHost(ctx context.Context) error {
	if s.Hypervisor == nil {
		return nil
	}
	list, err := s.Servers.ListServers(ctx, compute.ServerFilter{})
	if err != nil {
		return err
	}
	for _, sv := range list {
		if hasTask(sv) || !s.ownsVM(sv) || s.recoverShelve(ctx, sv) {
			continue
		}
		s.resumeBase(ctx, sv)
		s.SyncServer(ctx, sv.ID, false)
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
	ps, err := s.Hypervisor.PowerState(ctx, id)
	if err != nil {
		s.log.Warn("could not read power state", "server", id, "err", err)
		return
	}
	_, err = s.updateIf(ctx, id, func(sv *compute.Server) error {
		if sv.VMState == compute.VMDeleted || sv.VMState == compute.VMError || (sv.TaskState != compute.TaskNone && !clearTask) ||
			sv.VMState == compute.VMShelved || sv.VMState == compute.VMShelvedOffloaded { // off or gone on purpose
			return errUnchanged
		}
		vm := vmStateFor(ps, sv.VMState)
		if vm == sv.VMState && ps == sv.PowerState && sv.TaskState == compute.TaskNone {
			return errUnchanged
		}
		sv.VMState, sv.PowerState, sv.TaskState = vm, ps, compute.TaskNone
		s.log.Info("server state reconciled from the hypervisor", "server", id, "vm_state", vm, "power_state", int(ps))
		return nil
	})
	switch {
	case errors.Is(err, compute.ErrNotFound):
		// A domain of another imagestack sharing this libvirt (tests, a
		// second deployment): not ours, and nothing of it is kept.
		s.locks.Delete(id)
		s.rows.Delete(id)
	case err != nil && !errors.Is(err, errUnchanged):
		s.log.Error("could not record reconciled state", "server", id, "err", err)
	}
}

// vmStateFor is the vm_state a power state means for a server now in
// current: a paused guest of a server paused on purpose stays PAUSED, one
// paused for a moment (a snapshot) is ACTIVE. Soft-deleted and resized
// servers keep their state; a suspended one whose VM is off stays
// SUSPENDED.
func vmStateFor(ps compute.PowerState, current string) string {
	switch {
	case current == compute.VMSoftDeleted || current == compute.VMResized:
		return current // powered as they were left, on or off
	case current == compute.VMSuspended && ps == compute.PowerShutdown:
		return current // the managed save of a suspend
	case ps == compute.PowerPaused && current == compute.VMPaused:
		return compute.VMPaused
	case ps == compute.PowerRunning || ps == compute.PowerPaused:
		return compute.VMActive
	}
	return compute.VMStopped
}

// errUnchanged tells updateIf that there is nothing to save.
var errUnchanged = errors.New("unchanged")

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
