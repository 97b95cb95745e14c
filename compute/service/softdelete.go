package service

import (
	"context"
	"errors"
	"time"

	"imagestack/compute"
)

// Soft delete (Nova's reclaim_instance_interval): with an interval set, a
// deleted server's VM is powered off and the server kept as SOFT_DELETED,
// still counting against its project's quotas, until the owner restores
// it, forces the delete, or the reclaimer deletes it once the interval has
// passed. The time of the soft delete is stored, so reclaiming survives
// restarts.

// softDeletes reports whether deleting sv soft-deletes it: an interval is
// set and the server ever ran (Nova soft-deletes launched servers only,
// and a second delete of a soft-deleted one deletes it).
func (s *Service) softDeletes(sv *compute.Server) bool {
	// An offloaded shelved server has no VM to keep: Nova deletes it at once.
	return s.ReclaimInterval > 0 && sv.LaunchedAt != nil && sv.VMState != compute.VMSoftDeleted &&
		sv.VMState != compute.VMShelvedOffloaded && !gone(sv)
}

// softDelete powers a server off and marks it SOFT_DELETED (task
// soft-deleting meanwhile).
func (s *Service) softDelete(ctx context.Context, c Caller, id string) error {
	return s.claimDelete(ctx, c, id, compute.TaskSoftDeleting, s.finishSoftDelete)
}

// finishSoftDelete powers a server being soft-deleted off and marks it
// SOFT_DELETED; Reconcile calls it again for one a restart interrupted.
func (s *Service) finishSoftDelete(ctx context.Context, id string) {
	if cur, err := s.Servers.GetServer(ctx, id); err != nil || gone(cur) {
		return
	}
	if err := s.Hypervisor.Stop(ctx, id); err != nil && !errors.Is(err, compute.ErrNotFound) {
		s.failServer(ctx, id, err)
		return
	}
	now := s.now().UTC()
	if _, err := s.settle(ctx, id, unlessGone(func(sv *compute.Server) {
		sv.VMState, sv.TaskState, sv.PowerState, sv.DeletedAt = compute.VMSoftDeleted, compute.TaskNone, compute.PowerShutdown, &now
	})); err != nil && !errors.Is(err, errGone) {
		s.log.Error("could not record the soft-deleted server", "server", id, "err", err)
	}
}

// Restore brings a soft-deleted server back: its VM boots again (ACTIVE).
func (s *Service) Restore(ctx context.Context, c Caller, id string) error {
	if sv, err := s.Get(ctx, c, id); err == nil && sv.VMState == compute.VMSoftDeleted {
		if err := s.checkRestoreQuota(ctx, sv); err != nil {
			return err
		}
	}
	return s.act(ctx, c, id, "os_compute_api:os-deferred-delete:restore", "restore", compute.TaskRestoring,
		func(sv *compute.Server) bool { return sv.VMState == compute.VMSoftDeleted },
		func(ctx context.Context, sv *compute.Server) error { return s.Hypervisor.Start(ctx, sv.ID) },
		func(sv *compute.Server) {
			sv.VMState, sv.PowerState, sv.DeletedAt = compute.VMActive, compute.PowerRunning, nil
		})
}

// ForceDelete deletes a server at once, soft-deleted or not.
func (s *Service) ForceDelete(ctx context.Context, c Caller, id string) error {
	if _, err := s.authorizedServer(ctx, c, id, "os_compute_api:os-deferred-delete:force"); err != nil {
		return err
	}
	return s.deleteNow(ctx, c, id)
}

// ReclaimDeleted deletes the soft-deleted servers whose interval has
// passed (Nova's _reclaim_queued_deletes); one being restored is left.
func (s *Service) ReclaimDeleted(ctx context.Context) error {
	if s.ReclaimInterval <= 0 {
		return nil
	}
	list, err := s.Servers.ListServers(ctx, compute.ServerFilter{Status: compute.VMSoftDeleted})
	if err != nil {
		return err
	}
	for _, sv := range list {
		if sv.DeletedAt != nil && s.now().Sub(*sv.DeletedAt) < s.ReclaimInterval {
			continue
		}
		_, err := s.updateIf(ctx, sv.ID, func(cur *compute.Server) error {
			if cur.VMState != compute.VMSoftDeleted || cur.TaskState != compute.TaskNone {
				return errUnchanged
			}
			cur.TaskState = compute.TaskDeleting
			return nil
		})
		if err != nil {
			continue
		}
		s.log.Info("reclaiming a soft-deleted server", "server", sv.ID)
		id := sv.ID
		s.background(ctx, id, func(ctx context.Context) { s.finishDelete(ctx, id) })
	}
	return nil
}

// RunReclaimer reclaims soft-deleted servers now and then every interval
// (at most a minute apart) until ctx ends; without an interval it returns.
func (s *Service) RunReclaimer(ctx context.Context) {
	if s.ReclaimInterval <= 0 {
		return
	}
	tick := time.NewTicker(min(s.ReclaimInterval, time.Minute))
	defer tick.Stop()
	for {
		if err := s.ReclaimDeleted(ctx); err != nil {
			s.log.Warn("could not reclaim soft-deleted servers", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// checkRestoreQuota refuses to restore a server its project's quota no
// longer has room for: soft-deleted servers count in no quota, so a
// restore takes an instance, its cores and RAM again (Nova: 403).
func (s *Service) checkRestoreQuota(ctx context.Context, sv *compute.Server) error {
	limits, err := s.limitsOf(ctx, sv.ProjectID, "")
	if err != nil {
		return err
	}
	used, err := s.Servers.CountUsage(ctx, sv.ProjectID)
	if err != nil {
		return err
	}
	if limit := limits[compute.QuotaInstances]; room(limit, used.Instances) < 1 {
		return compute.Errorf(compute.ErrOverQuota, "Quota exceeded for instances: Requested 1, but already used %d of %d instances", used.Instances, limit)
	}
	return s.checkQuotaDelta(ctx, sv.ProjectID, sv.VCPUs, sv.RAM)
}
