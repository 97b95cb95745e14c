package service

import (
	"context"
	"slices"
	"time"

	"imagestack/common/cluster"
	"imagestack/compute"
	"imagestack/policy"
)

// shelvedAtLayout is how shelved_at is written (Nova's isoformat, UTC).
const shelvedAtLayout = "2006-01-02T15:04:05.000000"

// PollShelved offloads, every interval until ctx ends, the shelved servers
// shelved more than ShelvedOffloadTime seconds ago (Nova's
// _poll_shelved_instances); it returns at once when that time is not
// positive (offloading then happens at once, or never).
func (s *Service) PollShelved(ctx context.Context, interval time.Duration) {
	if s.ShelvedOffloadTime <= 0 || s.Hypervisor == nil {
		return
	}
	cluster.Every(ctx, interval, func(context.Context) { s.OffloadExpired(ctx) })
}

// OffloadExpired offloads the shelved servers whose ShelvedOffloadTime has
// passed (one round of PollShelved).
func (s *Service) OffloadExpired(ctx context.Context) {
	list, err := s.Servers.ListServers(ctx, compute.ServerFilter{Status: compute.VMShelved})
	if err != nil {
		s.log.Warn("could not list shelved servers", "err", err)
		return
	}
	keep := time.Duration(s.ShelvedOffloadTime) * time.Second
	for _, sv := range list {
		at, err := time.Parse(shelvedAtLayout, sv.SystemMetadata[compute.SysShelvedAt])
		if err != nil || s.now().UTC().Sub(at) < keep {
			continue
		}
		if _, err := s.updateIf(ctx, sv.ID, func(sv *compute.Server) error {
			if sv.VMState != compute.VMShelved || sv.TaskState != compute.TaskNone {
				return errUnchanged
			}
			sv.TaskState = compute.TaskShelvingOffloading
			return nil
		}); err != nil {
			continue
		}
		id := sv.ID
		s.background(ctx, id, func(ctx context.Context) { s.offload(ctx, id) })
	}
}

// shelvingTasks are the tasks of a shelve before the server is SHELVED.
var shelvingTasks = []string{compute.TaskShelving, compute.TaskShelvingPending, compute.TaskShelvingUploading}

// recoverShelve settles, at start-up, a server that shelving or unshelving
// left mid-way, and reports whether Reconcile must leave the server's
// states alone afterwards (a shelved server's VM is off or gone on purpose).
// An interrupted shelve is undone (its image goes, the server is as its VM
// is: SHUTOFF once powered off), an interrupted offload finished, an
// interrupted unshelve undone (the server stays shelved, its image kept);
// an unshelved server whose image was never deleted loses it now.
func (s *Service) recoverShelve(ctx context.Context, sv *compute.Server) bool {
	imageID := sv.SystemMetadata[compute.SysShelvedImageID]
	shelved := sv.VMState == compute.VMShelved || sv.VMState == compute.VMShelvedOffloaded
	switch {
	case slices.Contains(shelvingTasks, sv.TaskState) && !shelved:
		if imageID != "" {
			s.deleteImage(ctx, ownerCreds(sv), sv.ID, imageID)
		}
		s.revertTask(ctx, sv.ID)
		return true
	case sv.TaskState == compute.TaskShelvingOffloading:
		id := sv.ID
		s.background(ctx, id, func(ctx context.Context) { s.offload(ctx, id) })
		return true
	case shelved && sv.TaskState != compute.TaskNone:
		// An unshelve that did not finish: whatever it started goes.
		if sv.VMState == compute.VMShelvedOffloaded {
			_ = s.Hypervisor.Destroy(ctx, sv.ID)
		} else {
			_ = s.Hypervisor.Stop(ctx, sv.ID)
		}
		s.revertTask(ctx, sv.ID)
		return true
	case shelved:
		return true
	case imageID != "" && sv.TaskState == compute.TaskNone:
		s.deleteImage(ctx, ownerCreds(sv), sv.ID, imageID)
		if _, err := s.update(ctx, sv.ID, func(sv *compute.Server) { clearShelvedKeys(sv) }); err != nil {
			s.log.Error("could not clear a server's shelved keys", "server", sv.ID, "err", err)
		}
	}
	return false
}

// ownerCreds act for a server's owner when no request does (start-up):
// a member of the server's project, who may delete the project's images.
func ownerCreds(sv *compute.Server) policy.Credentials {
	return policy.Credentials{UserID: sv.UserID, ProjectID: sv.ProjectID, Roles: []string{"member", "reader"}}
}

// clearShelvedKeys removes a shelved server's system metadata.
func clearShelvedKeys(sv *compute.Server) {
	for _, k := range []string{compute.SysShelvedAt, compute.SysShelvedImageID, compute.SysShelvedHost} {
		delete(sv.SystemMetadata, k)
	}
}

// deleteShelvedImage removes the image of a shelved server being deleted,
// as Nova's delete does.
func (s *Service) deleteShelvedImage(ctx context.Context, c Caller, sv *compute.Server) {
	if imageID := sv.SystemMetadata[compute.SysShelvedImageID]; imageID != "" && (sv.VMState == compute.VMShelved || sv.VMState == compute.VMShelvedOffloaded) {
		s.deleteImage(ctx, c.Creds, sv.ID, imageID)
	}
}
