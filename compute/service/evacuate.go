package service

import (
	"context"
	"errors"
	"fmt"

	"imagestack/compute"
)

// Evacuation is Nova's answer to a dead host: a server whose host's
// compute service is down is rebuilt on another host from its image,
// keeping its id, addresses and metadata. The host it left may come back
// with the old VM still defined: CleanEvacuated, called by that host
// before it starts any guest, destroys it there.

// EvacuateRequest is a parsed evacuate action.
type EvacuateRequest struct {
	Host      string // "": the scheduler picks one
	AdminPass string // "": a generated one
	// Force (2.29 to 2.67) puts the server on Host without checking it.
	Force bool
}

// Evacuate rebuilds a server of a host that is down on another host and
// returns the guest's new password. 404 for an unknown Host, 400 for the
// server's own host or a source host that is still up, 409 for a server
// busy or in a state Nova does not evacuate. The rest (placement, rebuild)
// runs in the background; the migration record tells how it went.
func (s *Service) Evacuate(ctx context.Context, c Caller, id string, req EvacuateRequest) (string, error) {
	const rule = "os_compute_api:os-evacuate"
	sv, err := s.authorizedServer(ctx, c, id, rule)
	if err != nil {
		return "", err
	}
	if req.Host != "" {
		if _, err := s.computeService(ctx, req.Host); err != nil {
			return "", err
		}
	}
	if sv.Host == req.Host {
		return "", compute.Errorf(compute.ErrBadRequest, "The target host can't be the same one.")
	}
	if err := s.canEvacuate(ctx, sv); err != nil {
		return "", err
	}
	pass := req.AdminPass
	if pass == "" {
		pass = randomHex(6)
	}
	sv, err = s.updateIf(ctx, id, func(sv *compute.Server) error {
		if !evacuable(sv) {
			return stateConflict("evacuate", sv)
		}
		sv.TaskState = compute.TaskRebuilding
		return nil
	})
	if err != nil {
		return "", err
	}
	ev := s.record(ctx, c, id, "evacuate")
	m := s.startMigration(ctx, sv, compute.MigrationEvacuation, compute.MigrationAccepted, "")
	if m != nil && req.Host != "" {
		s.setMigration(ctx, m, compute.MigrationAccepted, &compute.Destination{Host: req.Host})
	}
	p := compute.MoveRequest{Server: sv, RAM: sv.RAM, VCPUs: sv.VCPUs, Disk: sv.Disk, Host: req.Host, Force: req.Force, Exclude: []string{sv.Host}}
	s.background(ctx, id, func(ctx context.Context) { s.evacuateTo(ctx, c, ev, m, p, pass) })
	return pass, nil
}

// evacuable: Nova evacuates active, stopped and failed servers with no
// task running.
func evacuable(sv *compute.Server) bool {
	return sv.TaskState == compute.TaskNone &&
		(sv.VMState == compute.VMActive || sv.VMState == compute.VMStopped || sv.VMState == compute.VMError)
}

// canEvacuate refuses what Nova refuses before anything changes: a busy
// server or one in another state (409), a server placed on no host (409),
// a source host whose compute service is still up (400).
func (s *Service) canEvacuate(ctx context.Context, sv *compute.Server) error {
	if !evacuable(sv) {
		return stateConflict("evacuate", sv)
	}
	if s.Hypervisor == nil {
		return compute.Errorf(compute.ErrUnavailable, "No hypervisor is available on this host.")
	}
	if sv.Host == "" {
		return compute.Errorf(compute.ErrConflict, "Cannot 'evacuate' instance %s: it is on no host.", sv.ID)
	}
	if s.hostUp(ctx, sv.Host) {
		return compute.Errorf(compute.ErrBadRequest, "Compute service of %s is still in use.", sv.Host)
	}
	return nil
}

// evacuateTo places the server, points it at its new host (so that the
// hypervisor calls go there) and rebuilds it there from its image; a
// server stopped before is stopped again afterwards. No host: the server
// stays as it was (task cleared) and the migration ends in error.
func (s *Service) evacuateTo(ctx context.Context, c Caller, ev *ActionEvent, m *compute.Migration, p compute.MoveRequest, pass string) {
	id, wasStopped := p.Server.ID, p.Server.VMState == compute.VMStopped
	dest, ok := s.placeMove(ctx, ev, m, p)
	if !ok {
		return
	}
	s.setMigration(ctx, m, compute.MigrationPreMigrating, &dest)
	sv, err := s.progress(ctx, id, func(sv *compute.Server) { sv.Host, sv.Node, sv.VMState = dest.Host, dest.Node, compute.VMActive })
	if err != nil {
		s.releaseMove(ctx, id, dest.Host)
		s.setMigration(ctx, m, compute.MigrationFailed, nil)
		return
	}
	s.provision(ctx, c, id, sv.ImageID, pass, s.Hypervisor.Rebuild)
	if wasStopped {
		s.stopAgain(ctx, id)
	}
	if cur, err := s.Servers.GetServer(ctx, id); err == nil && cur.VMState == compute.VMError {
		s.setMigration(ctx, m, compute.MigrationFailed, nil)
		return
	}
	s.setMigration(ctx, m, compute.MigrationDone, nil)
}

// placeMove claims a destination for a move; when there is none the
// server stays as it was (task cleared, the cause noted), the migration
// ends in error and the action's event fails.
func (s *Service) placeMove(ctx context.Context, ev *ActionEvent, m *compute.Migration, p compute.MoveRequest) (compute.Destination, bool) {
	dest, err := s.claimMove(ctx, p)
	if err != nil {
		s.setMigration(ctx, m, compute.MigrationError, nil)
		s.endTask(ctx, p.Server.ID, err)
		ev.Finish(ctx, err)
	}
	return dest, err == nil
}

// claimMove asks Destinations for a host; without them (one host) there is
// no other host to go to.
func (s *Service) claimMove(ctx context.Context, p compute.MoveRequest) (compute.Destination, error) {
	if s.Destinations == nil {
		return compute.Destination{}, compute.ErrNoValidHost
	}
	d, err := s.Destinations.Claim(ctx, p)
	if err == nil && d.Node == "" {
		d.Node = d.Host
	}
	return d, err
}

// releaseMove gives back a claim, logging a failure (the scheduler's
// accounting heals when the server is deleted or moved again).
func (s *Service) releaseMove(ctx context.Context, serverID, host string) {
	if s.Destinations == nil || host == "" {
		return
	}
	if err := s.Destinations.Release(ctx, serverID, host); err != nil {
		s.log.Error("could not release a server's claim on a host", "server", serverID, "host", host, "err", err)
	}
}

// endTask clears a server's task after a move that could not start,
// leaving its state as it was and noting why.
func (s *Service) endTask(ctx context.Context, id string, cause error) {
	s.log.Warn("server move not started", "server", id, "err", cause)
	if _, err := s.settle(ctx, id, unlessGone(func(sv *compute.Server) {
		sv.TaskState, sv.Fault = compute.TaskNone, faultMessage(cause)
	})); err != nil && !errors.Is(err, errGone) {
		s.log.Error("could not record the end of a server's move", "server", id, "err", err)
	}
}

// stopAgain powers off a server rebuilt ACTIVE that was stopped before.
func (s *Service) stopAgain(ctx context.Context, id string) {
	sv, err := s.Servers.GetServer(ctx, id)
	if err != nil || sv.VMState != compute.VMActive {
		return
	}
	if err := s.Hypervisor.Stop(ctx, id); err != nil {
		s.failServer(ctx, id, err)
		return
	}
	if _, err := s.settle(ctx, id, unlessGone(func(sv *compute.Server) {
		sv.VMState, sv.PowerState = compute.VMStopped, compute.PowerShutdown
	})); err != nil && !errors.Is(err, errGone) {
		s.log.Error("could not record the stopped server", "server", id, "err", err)
	}
}

// CleanEvacuated destroys, on host, the VMs of servers evacuated away from
// it while it was down (Nova's _destroy_evacuated_instances): the compute
// host calls it at start-up, with its own hypervisor, before it starts any
// guest. Each such migration ends completed and the server's claim on host
// is released. It returns how many VMs it destroyed.
func (s *Service) CleanEvacuated(ctx context.Context, host string, local compute.Hypervisor) (int, error) {
	if s.Migrations == nil {
		return 0, nil
	}
	all, err := s.Migrations.ListMigrations(ctx, compute.MigrationFilter{SourceCompute: host, Type: compute.MigrationEvacuation})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range all {
		if m.Status != compute.MigrationAccepted && m.Status != compute.MigrationPreMigrating && m.Status != compute.MigrationDone {
			continue
		}
		sv, err := s.Servers.GetServer(ctx, m.ServerID)
		if err != nil && !errors.Is(err, compute.ErrNotFound) {
			return n, err
		}
		if err == nil && sv.Host == host {
			continue // not moved (yet): the server is still this host's
		}
		if err := local.Destroy(ctx, m.ServerID); err != nil {
			return n, fmt.Errorf("destroy evacuated server %s: %w", m.ServerID, err)
		}
		n++
		s.setMigration(ctx, &m, compute.MigrationCompleted, nil)
		s.releaseMove(ctx, m.ServerID, host)
	}
	return n, nil
}
