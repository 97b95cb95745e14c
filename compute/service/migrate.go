package service

import (
	"context"
	"errors"
	"fmt"
	"io"

	"imagestack/compute"
)

// Cold migration, and resize when the deployment has other hosts, move a
// server to another host: its VM is powered off, its disk overlay is
// streamed from the source's hypervisor into the destination's (the base
// comes from the destination's own cache), and the VM boots there
// (VERIFY_RESIZE). The source keeps its VM and disk, powered off, until
// the user confirms (they go) or reverts (the destination's go and the
// server runs on the source again).

// Migrate moves an active or stopped server to another host, host (2.56)
// or one the scheduler picks: 404 for an unknown host, 400 for its own.
func (s *Service) Migrate(ctx context.Context, c Caller, id, host string) error {
	const rule = "os_compute_api:os-migrate-server:migrate"
	sv, err := s.authorizedServer(ctx, c, id, rule)
	if err != nil {
		return err
	}
	if host != "" {
		if _, err := s.computeService(ctx, host); err != nil {
			return compute.Errorf(compute.ErrNotFound, "Compute host %s could not be found.", compute.Clip(host))
		}
		if host == sv.Host {
			return compute.Errorf(compute.ErrBadRequest, "Cannot migrate to the same host")
		}
	}
	f := compute.Flavor{ID: sv.FlavorID, RAM: sv.RAM, VCPUs: sv.VCPUs, Disk: sv.Disk, Name: sv.Flavor.Name,
		Swap: sv.Flavor.Swap, Ephemeral: sv.Flavor.Ephemeral}
	return s.startMove(ctx, c, sv, move{typ: compute.MigrationCold, action: "migrate", flavor: f, specs: sv.Flavor.ExtraSpecs, host: host})
}

// move is a cold migration or a resize to another host.
type move struct {
	typ, action string
	flavor      compute.Flavor
	specs       map[string]string
	host        string // asked for; "": the scheduler's choice
}

// startMove marks the server (resize_prep), records the action and the
// migration, and moves it in the background.
func (s *Service) startMove(ctx context.Context, c Caller, sv *compute.Server, mv move) error {
	if s.Hypervisor == nil {
		return compute.Errorf(compute.ErrUnavailable, "No hypervisor is available on this host.")
	}
	from := sv.FlavorID
	sv, err := s.updateIf(ctx, sv.ID, func(cur *compute.Server) error {
		if cur.TaskState != compute.TaskNone || !resizable(cur) || cur.FlavorID != from {
			return stateConflict(mv.action, cur)
		}
		cur.TaskState = compute.TaskResizePrep
		return nil
	})
	if err != nil {
		return err
	}
	ev := s.record(ctx, c, sv.ID, mv.action)
	m := s.startMigration(ctx, sv, mv.typ, compute.MigrationPreMigrating, mv.flavor.ID)
	p := compute.MoveRequest{Server: sv, RAM: mv.flavor.RAM, VCPUs: mv.flavor.VCPUs, Disk: mv.flavor.Disk, Host: mv.host, Exclude: []string{sv.Host}}
	s.background(ctx, sv.ID, func(ctx context.Context) { s.moveTo(ctx, c, ev, m, p, mv) })
	return nil
}

// moveTo places the server and carries it there; it ends VERIFY_RESIZE
// on the destination with the move's flavor. No host: the server is left
// as it was (task cleared), the migration in error. A failed copy puts
// the server in ERROR (on its source) and the migration in failed.
func (s *Service) moveTo(ctx context.Context, c Caller, ev *ActionEvent, m *compute.Migration, p compute.MoveRequest, mv move) {
	id, src := p.Server.ID, p.Server.Host
	dest, ok := s.placeMove(ctx, ev, m, p)
	if !ok {
		return
	}
	s.setMigration(ctx, m, compute.MigrationMigrating, &dest)
	sv, err := s.progress(ctx, id, func(sv *compute.Server) { sv.TaskState = compute.TaskResizeMigrating })
	if err == nil {
		err = s.carry(ctx, c, sv, src, dest.Host, mv.flavor)
	}
	if err != nil {
		s.releaseMove(ctx, id, dest.Host)
		s.setMigration(ctx, m, compute.MigrationFailed, nil)
		if !errors.Is(err, errGone) {
			s.failServer(ctx, id, err)
		}
		return
	}
	s.setMigration(ctx, m, compute.MigrationPostMigrating, nil)
	if _, err := s.settle(ctx, id, unlessGone(func(sv *compute.Server) {
		sv.Host, sv.Node, sv.TaskState = dest.Host, dest.Node, compute.TaskNone
		sv.OldFlavorID, sv.OldRAM, sv.OldVCPUs, sv.OldDisk, sv.OldFlavor = sv.FlavorID, sv.RAM, sv.VCPUs, sv.Disk, sv.Flavor
		sv.OldVMState, sv.VMState = sv.VMState, compute.VMResized
		sv.SetFlavor(mv.flavor, mv.specs)
	})); err != nil {
		s.log.Error("could not record a moved server", "server", id, "err", err)
		return
	}
	s.setMigration(ctx, m, compute.MigrationFinished, nil)
}

// movers returns the hypervisors of two hosts that can carry disks.
func (s *Service) movers(ctx context.Context, src, dest string) (compute.Hypervisor, compute.Hypervisor, error) {
	if s.HostHypervisors == nil {
		return nil, nil, errors.New("this deployment cannot reach its hosts' hypervisors one by one")
	}
	from, err := s.HostHypervisors.OnHost(ctx, src)
	if err != nil {
		return nil, nil, err
	}
	to, err := s.HostHypervisors.OnHost(ctx, dest)
	return from, to, err
}

// carry powers the server's VM off on src, streams its disk overlay into
// dest's hypervisor, which boots it there with flavor f's sizes (and
// powers it off again for a server that was stopped). On failure the
// source VM runs again as it did and nothing is left on dest.
func (s *Service) carry(ctx context.Context, c Caller, sv *compute.Server, src, dest string, f compute.Flavor) error {
	from, to, err := s.movers(ctx, src, dest)
	if err != nil {
		return err
	}
	exp, ok1 := from.(compute.DiskMover)
	imp, ok2 := to.(compute.DiskMover)
	if !ok1 || !ok2 {
		return errors.New("the hypervisor cannot move disks between hosts")
	}
	spec, _, err := s.spawnSpec(ctx, c, sv.ID, sv.ImageID, "", false)
	if err != nil {
		return err
	}
	spec.MemoryMiB, spec.VCPUs, spec.RootGB = f.RAM, f.VCPUs, f.Disk
	running := sv.VMState == compute.VMActive
	if err := from.Stop(ctx, sv.ID); err != nil {
		return fmt.Errorf("power off on %s: %w", src, err)
	}
	err = streamDisk(ctx, exp, imp, spec)
	if err == nil && !running {
		if err = to.Stop(ctx, sv.ID); err != nil {
			_ = to.Destroy(ctx, sv.ID)
		}
	}
	if err != nil && running {
		if serr := from.Start(ctx, sv.ID); serr != nil {
			s.log.Error("could not start a server again on its source after a failed move", "server", sv.ID, "err", serr)
		}
	}
	return err
}

// streamDisk pipes the overlay export of one hypervisor into the import
// of the other: the disk is never whole in memory or on a third disk.
func streamDisk(ctx context.Context, exp, imp compute.DiskMover, spec compute.SpawnSpec) error {
	pr, pw := io.Pipe()
	exported := make(chan error, 1)
	go func() {
		err := exp.ExportDisk(ctx, spec.ServerID, pw)
		pw.CloseWithError(err)
		exported <- err
	}()
	err := imp.ImportDisk(ctx, spec, pr)
	pr.CloseWithError(errors.New("the import ended"))
	if xerr := <-exported; xerr != nil {
		return fmt.Errorf("export of the disk: %w", xerr)
	}
	if err != nil {
		return fmt.Errorf("import of the disk: %w", err)
	}
	return nil
}

// confirmMove drops what a move to another host left on its source (its
// VM and disk) and the server's claim there; a resize in place drops the
// copy its hypervisor kept. The migration ends confirmed.
func (s *Service) confirmMove(ctx context.Context, sv *compute.Server) error {
	m := s.openMigration(ctx, sv.ID, compute.MigrationFinished, compute.MigrationCold, compute.MigrationResize)
	if m == nil || m.SourceCompute == m.DestCompute {
		if err := s.Hypervisor.ConfirmResize(ctx, sv.ID); err != nil {
			return err
		}
		s.keepClaim(ctx, sv, sv.VCPUs, sv.RAM, sv.Disk)
		s.setMigration(ctx, m, compute.MigrationConfirmed, nil)
		return nil
	}
	return s.dropMoveSource(ctx, sv.ID)
}

// revertMove brings a moved server back to its source: the destination's
// VM and disk go, the server's record points at the source again, whose
// VM (old flavor, old disk) runs again unless the server was stopped. A
// resize in place gives its hypervisor the old size back. The migration
// ends reverted.
func (s *Service) revertMove(ctx context.Context, sv *compute.Server) error {
	m := s.openMigration(ctx, sv.ID, compute.MigrationFinished, compute.MigrationCold, compute.MigrationResize)
	if m == nil || m.SourceCompute == m.DestCompute {
		if err := s.Hypervisor.RevertResize(ctx, sv.ID, compute.ResizeSpec{MemoryMiB: sv.OldRAM, VCPUs: sv.OldVCPUs, RootGB: sv.OldDisk}); err != nil {
			return err
		}
		s.keepClaim(ctx, sv, sv.OldVCPUs, sv.OldRAM, sv.OldDisk)
		s.setMigration(ctx, m, compute.MigrationReverted, nil)
		return nil
	}
	from, to, err := s.movers(ctx, m.SourceCompute, m.DestCompute)
	if err == nil {
		err = to.Destroy(ctx, sv.ID)
	}
	if err == nil {
		_, err = s.progress(ctx, sv.ID, func(cur *compute.Server) { cur.Host, cur.Node = m.SourceCompute, m.SourceNode })
	}
	if err == nil && sv.OldVMState != compute.VMStopped {
		err = from.Start(ctx, sv.ID)
	}
	if err != nil {
		return err
	}
	s.releaseMove(ctx, sv.ID, m.DestCompute)
	s.setMigration(ctx, m, compute.MigrationReverted, nil)
	return nil
}

// dropMoveSource confirms, for a server being deleted, a move to another
// host not yet confirmed: the source's VM and disk go too (Nova confirms
// a resize on delete).
func (s *Service) dropMoveSource(ctx context.Context, id string) error {
	m := s.openMigration(ctx, id, compute.MigrationFinished, compute.MigrationCold, compute.MigrationResize)
	if m == nil || m.SourceCompute == m.DestCompute {
		return nil
	}
	from, _, err := s.movers(ctx, m.SourceCompute, m.DestCompute)
	if err == nil {
		err = from.Destroy(ctx, id)
	}
	if err != nil {
		return fmt.Errorf("the server's VM left on %s: %w", m.SourceCompute, err)
	}
	s.releaseMove(ctx, id, m.SourceCompute)
	s.setMigration(ctx, m, compute.MigrationConfirmed, nil)
	return nil
}
