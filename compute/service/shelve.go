package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"imagestack/compute"
)

// Shelving, as Nova: shelve powers a server off and snapshots its disk into
// the image "<name>-shelved" (SHELVED); offloading then destroys the VM
// and frees what it held on the host (SHELVED_OFFLOADED), at once when
// ShelvedOffloadTime is 0, after that many seconds when it is positive,
// never (but by shelveOffload) when it is negative. Unshelving powers a
// shelved server on again, or boots an offloaded one from its shelved
// image with its NICs and config drive; either way the image goes.
//
// Quota: an offloaded server still holds its instances, cores and ram
// quota, as with Nova's classic counting (from the instances table, not
// from placement); so unshelving never needs a quota check.

// shelvable are the vm_states shelve accepts (Nova also takes suspended).
var shelvable = []string{compute.VMActive, compute.VMStopped, compute.VMPaused}

// checkState refuses an action on a server not in one of the vm_states,
// or busy with a task, with Nova's 409 text.
func checkState(sv *compute.Server, action string, vmStates ...string) error {
	if !slices.Contains(vmStates, sv.VMState) {
		return compute.Errorf(compute.ErrConflict, "Cannot '%s' instance %s while it is in vm_state %s", action, sv.ID, sv.VMState)
	}
	if sv.TaskState != compute.TaskNone {
		return compute.Errorf(compute.ErrConflict, "Cannot '%s' instance %s while it is in task_state %s", action, sv.ID, sv.TaskState)
	}
	return nil
}

// lockedAction loads a server for an action that the lock refuses: 404 if
// invisible, 403 if rule denies, 409 if locked, 503 without a hypervisor.
func (s *Service) lockedAction(ctx context.Context, c Caller, id, rule string) (*compute.Server, error) {
	sv, err := s.Get(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if !s.authz.Enforce(rule, serverTarget(sv), c.Creds) {
		return nil, compute.Errorf(compute.ErrForbidden, "Policy doesn't allow %s to be performed.", rule)
	}
	if err := checkLock(c, sv); err != nil {
		return nil, err
	}
	if s.Hypervisor == nil {
		return nil, compute.Errorf(compute.ErrUnavailable, "No hypervisor is available on this host.")
	}
	return sv, nil
}

// Shelve shelves a server: task_state shelving, then (in the background)
// shelving_image_pending_upload and shelving_image_uploading while its
// disk goes into the image "<name>-shelved", then SHELVED (and, with
// ShelvedOffloadTime 0, shelving_offloading and SHELVED_OFFLOADED).
func (s *Service) Shelve(ctx context.Context, c Caller, id string) error {
	if _, err := s.lockedAction(ctx, c, id, "os_compute_api:os-shelve:shelve"); err != nil {
		return err
	}
	sv, err := s.updateIf(ctx, id, func(sv *compute.Server) error {
		if err := checkState(sv, "shelve", shelvable...); err != nil {
			return err
		}
		sv.TaskState = compute.TaskShelving
		return nil
	})
	if err != nil {
		return err
	}
	s.record(ctx, c, id, compute.ActionShelve)
	imageID, err := s.createSnapshotImage(ctx, c, sv, sv.Name+"-shelved", "snapshot", nil)
	if err != nil {
		s.progress(ctx, id, func(sv *compute.Server) { sv.TaskState = compute.TaskNone })
		return err
	}
	// The image is noted at once, so that a restart mid-shelve can remove it.
	if _, err := s.progress(ctx, id, func(sv *compute.Server) {
		sv.SystemMetadata = withShelvedKeys(sv.SystemMetadata, map[string]string{compute.SysShelvedImageID: imageID})
	}); err != nil {
		s.deleteImage(ctx, c.Creds, id, imageID)
		return err
	}
	s.background(ctx, id, func(ctx context.Context) { s.shelve(ctx, c, id, imageID) })
	return nil
}

// shelve powers the server off, snapshots it into imageID and records it
// SHELVED, then offloads it if so configured. A failure removes the image
// and leaves the server as the hypervisor has it (SHUTOFF once powered off).
func (s *Service) shelve(ctx context.Context, c Caller, id, imageID string) {
	err := s.Hypervisor.Stop(ctx, id)
	if err == nil {
		err = s.snapshot(ctx, c, id, imageID, compute.TaskShelvingPending, compute.TaskShelvingUploading)
	}
	offload := s.ShelvedOffloadTime == 0
	if err == nil {
		at := s.now().UTC()
		_, err = s.settle(ctx, id, unlessGone(func(sv *compute.Server) {
			sv.VMState, sv.TaskState, sv.PowerState = compute.VMShelved, compute.TaskNone, compute.PowerShutdown
			if offload {
				sv.TaskState = compute.TaskShelvingOffloading
			}
			sv.SystemMetadata = withShelvedKeys(sv.SystemMetadata, map[string]string{compute.SysShelvedImageID: imageID,
				compute.SysShelvedAt: at.Format(shelvedAtLayout), compute.SysShelvedHost: sv.Host})
		}))
	}
	if err != nil {
		s.log.Error("shelve failed; shelved image removed", "server", id, "image", imageID, "err", err)
		s.deleteImage(ctx, c.Creds, id, imageID)
		if !errors.Is(err, errGone) {
			s.revertTask(ctx, id)
		}
		return
	}
	if offload {
		s.offload(ctx, id)
	}
}

// withShelvedKeys returns sysmeta with keys set.
func withShelvedKeys(sysmeta, keys map[string]string) map[string]string {
	out := maps.Clone(sysmeta)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, keys)
	return out
}

// revertTask ends a failed operation without a fault, as Nova's
// reverts_task_state: no task, the vm_state and power state the hypervisor
// now shows.
func (s *Service) revertTask(ctx context.Context, id string) {
	ps, err := s.Hypervisor.PowerState(ctx, id)
	if err != nil {
		ps = compute.PowerNoState
	}
	if _, err := s.settle(ctx, id, unlessGone(func(sv *compute.Server) {
		sv.TaskState = compute.TaskNone
		if sv.VMState != compute.VMShelved && sv.VMState != compute.VMShelvedOffloaded {
			// Not shelved: a failed shelve, whose keys go too.
			sv.VMState, sv.PowerState = vmStateFor(ps, sv.VMState), ps
			clearShelvedKeys(sv)
		}
	})); err != nil && !errors.Is(err, errGone) {
		s.log.Error("could not revert a server's task", "server", id, "err", err)
	}
}

// ShelveOffload offloads a shelved server (admins by default): its VM goes,
// SHELVED_OFFLOADED.
func (s *Service) ShelveOffload(ctx context.Context, c Caller, id string) error {
	if _, err := s.lockedAction(ctx, c, id, "os_compute_api:os-shelve:shelve_offload"); err != nil {
		return err
	}
	if _, err := s.updateIf(ctx, id, func(sv *compute.Server) error {
		if err := checkState(sv, "shelveOffload", compute.VMShelved); err != nil {
			return err
		}
		sv.TaskState = compute.TaskShelvingOffloading
		return nil
	}); err != nil {
		return err
	}
	s.record(ctx, c, id, compute.ActionShelveOffload)
	s.background(ctx, id, func(ctx context.Context) { s.offload(ctx, id) })
	return nil
}

// offload destroys a shelved server's VM and config drive and records it
// SHELVED_OFFLOADED; the power state stays the SHUTDOWN read before the
// VM went, as Nova shows it. On failure it stays SHELVED.
func (s *Service) offload(ctx context.Context, id string) {
	if err := s.Hypervisor.Destroy(ctx, id); err != nil {
		s.log.Error("offloading a shelved server failed", "server", id, "err", err)
		s.revertTask(ctx, id)
		return
	}
	s.removeConfigDrive(id)
	if s.Consoles != nil {
		s.Consoles.Revoke(ctx, id)
	}
	if _, err := s.settle(ctx, id, unlessGone(func(sv *compute.Server) {
		sv.VMState, sv.TaskState, sv.PowerState = compute.VMShelvedOffloaded, compute.TaskNone, compute.PowerShutdown
		sv.Host, sv.Node = "", ""
	})); err != nil && !errors.Is(err, errGone) {
		s.log.Error("could not record the offloaded server", "server", id, "err", err)
		return
	}
	s.release(ctx, id) // an offloaded server takes nothing of a host
}

// UnshelveRequest is a parsed unshelve action.
type UnshelveRequest struct {
	// AvailabilityZone (microversion 2.77) is the zone to unshelve an
	// offloaded server into; nil: its own.
	AvailabilityZone *string
}

// Unshelve brings a shelved server back: task_state unshelving, then
// powering-on (SHELVED) or spawning (SHELVED_OFFLOADED), then ACTIVE, and
// its shelved image is deleted.
func (s *Service) Unshelve(ctx context.Context, c Caller, id string, req UnshelveRequest) error {
	sv, err := s.lockedAction(ctx, c, id, "os_compute_api:os-shelve:unshelve")
	if err != nil {
		return err
	}
	if err := checkState(sv, "unshelve", compute.VMShelved, compute.VMShelvedOffloaded); err != nil {
		return err
	}
	if req.AvailabilityZone != nil {
		if sv.VMState != compute.VMShelvedOffloaded {
			return compute.Errorf(compute.ErrConflict, "Specifying an availability zone or a host when unshelving server \"%s\" with status \"%s\" is not supported. The server status must be SHELVED_OFFLOADED.", id, sv.VMState)
		}
		if ok, err := s.zoneExists(ctx, *req.AvailabilityZone); err != nil || !ok {
			return cmp.Or(err, compute.Errorf(compute.ErrBadRequest, "The requested availability zone is not available"))
		}
	}
	if _, err := s.updateIf(ctx, id, func(sv *compute.Server) error {
		if err := checkState(sv, "unshelve", compute.VMShelved, compute.VMShelvedOffloaded); err != nil {
			return err
		}
		sv.TaskState = compute.TaskUnshelving
		if req.AvailabilityZone != nil {
			sv.AvailabilityZone = *req.AvailabilityZone
		}
		return nil
	}); err != nil {
		return err
	}
	s.record(ctx, c, id, compute.ActionUnshelve)
	s.background(ctx, id, func(ctx context.Context) { s.unshelve(ctx, c, id) })
	return nil
}

// unshelve powers a shelved server on, or spawns an offloaded one from its
// shelved image; on success the image goes and the server is ACTIVE.
func (s *Service) unshelve(ctx context.Context, c Caller, id string) {
	cur, err := s.Servers.GetServer(ctx, id)
	if err != nil || gone(cur) {
		return
	}
	imageID := cur.SystemMetadata[compute.SysShelvedImageID]
	spawned := cur.VMState == compute.VMShelvedOffloaded
	if !spawned {
		err = s.powerOnShelved(ctx, id)
		// A shelved server whose VM is gone all the same (a host
		// reinstalled) comes back from its image, as an offloaded one.
		spawned = errors.Is(err, compute.ErrNotFound)
	}
	if spawned {
		err = s.spawnShelved(ctx, c, id, imageID)
	}
	if err != nil {
		if !errors.Is(err, errGone) {
			s.log.Error("unshelve failed", "server", id, "err", err)
			s.revertTask(ctx, id)
		}
		return
	}
	s.finishUnshelve(ctx, id, spawned, func(ctx context.Context) { s.deleteImage(ctx, c.Creds, id, imageID) })
}

// powerOnShelved starts a shelved server's VM again.
func (s *Service) powerOnShelved(ctx context.Context, id string) error {
	if _, err := s.progress(ctx, id, func(sv *compute.Server) { sv.TaskState = compute.TaskPoweringOn }); err != nil {
		return err
	}
	return s.Hypervisor.Start(ctx, id)
}

// spawnShelved boots an offloaded server from its shelved image: a new
// disk over that image, the server's own NICs and a fresh config drive
// (without a password, as Nova's unshelve).
func (s *Service) spawnShelved(ctx context.Context, c Caller, id, imageID string) error {
	if _, err := s.progress(ctx, id, func(sv *compute.Server) { sv.TaskState = compute.TaskSpawning }); err != nil {
		return err
	}
	if imageID == "" {
		return fmt.Errorf("server %s has no shelved image", id)
	}
	if err := s.schedule(ctx, c, id); err != nil {
		s.failServer(ctx, id, err)
		return errGone // the server is in ERROR now: nothing to revert
	}
	// Never from a lazy base: the shelved image is deleted once the
	// server runs, which would cut a base still arriving short.
	spec, _, err := s.spawnSpec(ctx, c, id, imageID, "", false)
	if errors.Is(err, compute.ErrNotFound) {
		s.failServer(ctx, id, compute.Errorf(compute.ErrNotFound, "Unshelve attempted but the image %s cannot be found.", imageID))
		return errGone // the server is in ERROR now: nothing to revert
	}
	if err != nil {
		return err
	}
	return s.Hypervisor.Spawn(ctx, spec)
}

// finishUnshelve records an unshelved server ACTIVE and running (launched
// anew when spawned), without its shelved keys, then removes its shelved
// image with removeImage.
func (s *Service) finishUnshelve(ctx context.Context, id string, spawned bool, removeImage func(context.Context)) {
	now := s.now().UTC()
	_, err := s.settle(ctx, id, unlessGone(func(sv *compute.Server) {
		sv.VMState, sv.TaskState, sv.PowerState = compute.VMActive, compute.TaskNone, compute.PowerRunning
		if spawned {
			sv.LaunchedAt = &now
		}
		clearShelvedKeys(sv)
	}))
	if err != nil {
		if !errors.Is(err, errGone) {
			s.log.Error("could not record the unshelved server", "server", id, "err", err)
		}
		return
	}
	removeImage(ctx)
}
