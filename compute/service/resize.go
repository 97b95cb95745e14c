package service

import (
	"context"
	"errors"
	"slices"

	"imagestack/compute"
)

// Without other hosts (no Destinations), resizes happen on the server's
// host (Nova's allow_resize_to_same_host): the VM
// gets the new flavor's vCPUs and memory and its disk grows, a copy of the
// disk being kept until the user confirms (VERIFY_RESIZE -> ACTIVE) or
// reverts (the old flavor and disk come back). With other hosts, a resize
// moves the server as a cold migration does (migrate.go). The server record keeps the
// old flavor meanwhile, so either works after a restart. Resizes are never
// confirmed automatically (Nova's resize_confirm_window 0).

// Resize gives an active or stopped server the flavor flavorRef: task
// resize_prep, resize_migrating, resize_migrated, resize_finish, then
// VERIFY_RESIZE (vm_state resized).
func (s *Service) Resize(ctx context.Context, c Caller, id, flavorRef string) error {
	const rule = "os_compute_api:servers:resize"
	sv, err := s.authorizedServer(ctx, c, id, rule)
	if err != nil {
		return err
	}
	if !resizable(sv) {
		return stateConflict("resize", sv)
	}
	f, err := s.resizeFlavor(ctx, c, sv, flavorRef)
	if err != nil {
		return err
	}
	if err := s.checkQuotaDelta(ctx, sv.ProjectID, f.VCPUs-sv.VCPUs, f.RAM-sv.RAM); err != nil {
		return err
	}
	specs, err := s.flavors.ExtraSpecs(ctx, f.ID)
	if err != nil {
		return err
	}
	if s.Destinations != nil && sv.Host != "" && s.otherHostUp(ctx, sv.Host) {
		return s.startMove(ctx, c, sv, move{typ: compute.MigrationResize, action: "resize", flavor: f, specs: specs})
	}
	// Until confirmed or reverted, the server holds the larger of both
	// flavors on its host, so either end fits (Nova's migration
	// allocation); a host without that room is Nova's 400 NoValidHost.
	if err := s.claimOnHost(ctx, sv, max(f.VCPUs, sv.VCPUs), max(f.RAM, sv.RAM), max(f.Disk, sv.Disk)); err != nil {
		if errors.Is(err, errNoValidHost) {
			return compute.Errorf(compute.ErrBadRequest, "%s", errNoValidHost.Error())
		}
		return err
	}
	from := sv.FlavorID
	err = s.act(ctx, c, id, rule, "resize", compute.TaskResizePrep,
		func(sv *compute.Server) bool { return resizable(sv) && sv.FlavorID == from },
		func(ctx context.Context, sv *compute.Server) error { return s.resizeInPlace(ctx, sv, f) },
		func(sv *compute.Server) {
			sv.OldFlavorID, sv.OldRAM, sv.OldVCPUs, sv.OldDisk, sv.OldFlavor = sv.FlavorID, sv.RAM, sv.VCPUs, sv.Disk, sv.Flavor
			sv.OldVMState, sv.VMState = sv.VMState, compute.VMResized
			sv.SetFlavor(f, specs)
		})
	if err != nil { // not started: the server keeps what its flavor takes
		s.keepClaim(ctx, sv, sv.VCPUs, sv.RAM, sv.Disk)
	}
	return err
}

// claimOnHost makes what sv takes of its host vcpus, ram and disk,
// retrying while other claims move the host's generation; errNoValidHost
// when the host lacks the room. A server without a host takes nothing.
func (s *Service) claimOnHost(ctx context.Context, sv *compute.Server, vcpus, ram, disk int) error {
	if s.Nodes == nil || sv.Host == "" {
		return nil
	}
	a := compute.Allocation{ServerID: sv.ID, Host: sv.Host, VCPUs: vcpus, MemoryMB: ram, DiskGB: disk}
	for range claimRounds {
		nodes, err := s.Nodes.ListNodes(ctx)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(nodes, func(n compute.ComputeNode) bool { return n.Host == sv.Host })
		if i < 0 {
			return errNoValidHost
		}
		err = s.Nodes.Claim(ctx, a, nodes[i].Generation)
		switch {
		case errors.Is(err, compute.ErrNoRoom):
			return errNoValidHost
		case !errors.Is(err, compute.ErrGenerationChanged):
			return err
		}
	}
	return errNoValidHost
}

// keepClaim is claimOnHost for an allocation that shrinks (a confirmed
// or reverted resize): it always fits, so a failure is only logged.
func (s *Service) keepClaim(ctx context.Context, sv *compute.Server, vcpus, ram, disk int) {
	if err := s.claimOnHost(ctx, sv, vcpus, ram, disk); err != nil {
		s.log.Error("could not record what a resized server takes of its host", "server", sv.ID, "err", err)
	}
}

// resizable: Nova resizes active and stopped servers.
func resizable(sv *compute.Server) bool {
	return sv.VMState == compute.VMActive || sv.VMState == compute.VMStopped
}

// resizeFlavor returns the flavor a server may be resized to, or Nova's
// 400 for one it cannot use: unknown or hidden, disabled, the same, or
// with a smaller (or zero) disk.
func (s *Service) resizeFlavor(ctx context.Context, c Caller, sv *compute.Server, ref string) (compute.Flavor, error) {
	f, err := s.visibleFlavor(ctx, c, ref)
	if errors.Is(err, compute.ErrNotFound) || (err == nil && f.Disabled && f.ID != sv.FlavorID) {
		return f, compute.Errorf(compute.ErrBadRequest, "Flavor %s could not be found.", compute.Clip(ref))
	}
	switch {
	case err != nil:
		return f, err
	case f.ID == sv.FlavorID:
		return f, compute.Errorf(compute.ErrBadRequest, "When resizing, instances must change flavor!")
	case f.Disk == 0 && sv.Disk != 0:
		return f, compute.Errorf(compute.ErrBadRequest, "Server disk was unable to be resized because: Resize to zero disk flavor is not allowed.")
	case f.Disk < sv.Disk:
		return f, compute.Errorf(compute.ErrBadRequest, "Resizing to a smaller disk flavor is not allowed.")
	}
	// The server's image must fit the new flavor (min_ram, min_disk, size),
	// as at create (Nova: 400); an image gone since is not checked.
	if im, err := s.Images.Get(ctx, c.Creds, sv.ImageID); err == nil {
		return f, flavorFitsImage(f, im)
	}
	return f, nil
}

// resizeInPlace resizes a server on its own host, recording the
// migration (source and destination the same host).
func (s *Service) resizeInPlace(ctx context.Context, sv *compute.Server, f compute.Flavor) error {
	m := s.startMigration(ctx, sv, compute.MigrationResize, compute.MigrationPreMigrating, f.ID)
	if m != nil {
		s.setMigration(ctx, m, compute.MigrationMigrating, &compute.Destination{Host: m.SourceCompute, Node: m.SourceNode})
	}
	if err := s.resizeVM(ctx, sv.ID, f); err != nil {
		s.setMigration(ctx, m, compute.MigrationFailed, nil)
		return err
	}
	s.setMigration(ctx, m, compute.MigrationFinished, nil)
	return nil
}

// resizeVM walks a server through Nova's resize task states around the
// hypervisor's resize.
func (s *Service) resizeVM(ctx context.Context, id string, f compute.Flavor) error {
	step := func(task string) error {
		_, err := s.progress(ctx, id, func(sv *compute.Server) { sv.TaskState = task })
		return err
	}
	if err := step(compute.TaskResizeMigrating); err != nil {
		return err
	}
	if err := s.awaitBase(ctx, id); err != nil {
		return err
	}
	if err := s.Hypervisor.Resize(ctx, id, compute.ResizeSpec{MemoryMiB: f.RAM, VCPUs: f.VCPUs, RootGB: f.Disk}); err != nil {
		return err
	}
	if err := step(compute.TaskResizeMigrated); err != nil {
		return err
	}
	return step(compute.TaskResizeFinish)
}

// ConfirmResize keeps a resized server's new flavor and drops its old
// disk: it returns to the state it was resized from (ACTIVE or SHUTOFF).
func (s *Service) ConfirmResize(ctx context.Context, c Caller, id string) error {
	return s.act(ctx, c, id, "os_compute_api:servers:confirm_resize", "confirmResize", compute.TaskResizeConfirm,
		func(sv *compute.Server) bool { return sv.VMState == compute.VMResized },
		s.confirmMove,
		func(sv *compute.Server) { sv.VMState = endResize(sv) })
}

// RevertResize gives a resized server its old flavor and disk back
// (REVERT_RESIZE meanwhile), in the state it was resized from.
func (s *Service) RevertResize(ctx context.Context, c Caller, id string) error {
	const rule = "os_compute_api:servers:revert_resize"
	sv, err := s.authorizedServer(ctx, c, id, rule)
	if err != nil {
		return err
	}
	if sv.VMState == compute.VMResized {
		if err := s.checkQuotaDelta(ctx, sv.ProjectID, sv.OldVCPUs-sv.VCPUs, sv.OldRAM-sv.RAM); err != nil {
			return err
		}
	}
	return s.act(ctx, c, id, rule, "revertResize", compute.TaskResizeReverting,
		func(sv *compute.Server) bool { return sv.VMState == compute.VMResized },
		s.revertMove,
		func(sv *compute.Server) {
			sv.FlavorID, sv.RAM, sv.VCPUs, sv.Disk, sv.Flavor = sv.OldFlavorID, sv.OldRAM, sv.OldVCPUs, sv.OldDisk, sv.OldFlavor
			sv.VMState = endResize(sv)
		})
}

// endResize forgets a server's old flavor and returns the vm_state its
// resize started from.
func endResize(sv *compute.Server) string {
	vm := sv.OldVMState
	if vm == "" {
		vm = compute.VMActive
	}
	sv.OldFlavorID, sv.OldRAM, sv.OldVCPUs, sv.OldDisk, sv.OldFlavor, sv.OldVMState = "", 0, 0, 0, compute.FlavorCopy{}, ""
	return vm
}
