package service

import (
	"context"
	"errors"

	"imagestack/compute"
)

// Live migration moves a running (or paused) server to another host
// without stopping it: the source host's hypervisor, a LiveMigrator,
// hands the VM (and its disk overlay, by block migration) to the
// destination's. While it runs the server is MIGRATING and its migration
// is listed under GET /servers/{id}/migrations.

// LiveMigrateRequest is a parsed os-migrateLive action.
type LiveMigrateRequest struct {
	Host string // "": the scheduler picks one
	// Block is block_migration: nil for "auto" (here always a block
	// migration: disks are local to their host).
	Block *bool
	Force bool // 2.30 to 2.67: Host taken unchecked
}

// LiveMigrate starts moving an active or paused server to another host:
// 400 for an unknown host, 409 for a busy server or another state.
func (s *Service) LiveMigrate(ctx context.Context, c Caller, id string, req LiveMigrateRequest) error {
	sv, err := s.authorizedServer(ctx, c, id, "os_compute_api:os-migrate-server:migrate_live")
	if err != nil {
		return err
	}
	if req.Host != "" {
		if _, err := s.computeService(ctx, req.Host); err != nil {
			return compute.Errorf(compute.ErrBadRequest, "Compute host %s could not be found.", compute.Clip(req.Host))
		}
	}
	if s.Hypervisor == nil {
		return compute.Errorf(compute.ErrUnavailable, "No hypervisor is available on this host.")
	}
	sv, err = s.updateIf(ctx, id, func(sv *compute.Server) error {
		if sv.TaskState != compute.TaskNone || (sv.VMState != compute.VMActive && sv.VMState != compute.VMPaused) {
			return stateConflict("os-migrateLive", sv)
		}
		sv.TaskState = compute.TaskMigrating
		return nil
	})
	if err != nil {
		return err
	}
	ev := s.record(ctx, c, id, "live-migration")
	m := s.startMigration(ctx, sv, compute.MigrationLive, compute.MigrationQueued, "")
	p := compute.MoveRequest{Server: sv, RAM: sv.RAM, VCPUs: sv.VCPUs, Disk: sv.Disk, Host: req.Host, Force: req.Force, Exclude: []string{sv.Host}}
	block := req.Block == nil || *req.Block
	s.background(ctx, id, func(ctx context.Context) { s.liveMigrateTo(ctx, c, ev, m, p, block) })
	return nil
}

// liveMigrateTo places the server and has its source hypervisor move it.
// Whatever fails, the server runs on where it was, its task cleared: the
// migration is in error when it never started, failed when it broke.
func (s *Service) liveMigrateTo(ctx context.Context, c Caller, ev *ActionEvent, m *compute.Migration, p compute.MoveRequest, block bool) {
	id, src := p.Server.ID, p.Server.Host
	dest, ok := s.placeMove(ctx, ev, m, p)
	if !ok {
		return
	}
	s.setMigration(ctx, m, compute.MigrationPreparing, &dest)
	status, err := compute.MigrationError, s.liveMigrateVM(ctx, c, m, p.Server, dest, block)
	if m != nil && m.Status == compute.MigrationRunning {
		status = compute.MigrationFailed
	}
	if err != nil {
		s.releaseMove(ctx, id, dest.Host)
		s.setMigration(ctx, m, status, nil)
		s.endTask(ctx, id, err)
		ev.Finish(ctx, err)
		return
	}
	if _, err := s.settle(ctx, id, unlessGone(func(sv *compute.Server) {
		sv.Host, sv.Node, sv.TaskState = dest.Host, dest.Node, compute.TaskNone
	})); err != nil && !errors.Is(err, errGone) {
		s.log.Error("could not record a live-migrated server", "server", id, "err", err)
	}
	s.releaseMove(ctx, id, src)
	s.setMigration(ctx, m, compute.MigrationCompleted, nil)
}

// liveMigrateVM has the source's hypervisor move the VM to dest.
func (s *Service) liveMigrateVM(ctx context.Context, c Caller, m *compute.Migration, sv *compute.Server, dest compute.Destination, block bool) error {
	from, _, err := s.movers(ctx, sv.Host, dest.Host)
	if err != nil {
		return err
	}
	lm, ok := from.(compute.LiveMigrator)
	if !ok {
		return errors.New("the hypervisor cannot live-migrate servers")
	}
	spec, _, err := s.spawnSpec(ctx, c, sv.ID, sv.ImageID, "", false)
	if err != nil {
		return err
	}
	s.setMigration(ctx, m, compute.MigrationRunning, nil)
	return lm.LiveMigrate(ctx, spec, dest, block)
}
