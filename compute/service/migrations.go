package service

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"imagestack/compute"
)

// Migrations are the records of servers' moves between hosts (Nova's
// os-migrations): evacuations, cold migrations, resizes and live
// migrations, each created when the move is asked for and brought to its
// end status by the work that follows.

// ListMigrations lists migrations matching f, newest first (admins by
// Nova's default policy). An unknown marker is 400, as in Nova.
func (s *Service) ListMigrations(ctx context.Context, c Caller, f compute.MigrationFilter) ([]compute.Migration, error) {
	if err := s.authorize(c, "os_compute_api:os-migrations:index", nil); err != nil {
		return nil, err
	}
	if s.Migrations == nil {
		return nil, nil
	}
	out, err := s.Migrations.ListMigrations(ctx, f)
	if errors.Is(err, compute.ErrNotFound) {
		return nil, compute.Errorf(compute.ErrBadRequest, "Marker %s could not be found.", compute.Clip(f.Marker))
	}
	return out, err
}

// ServerMigrations lists a server's live migrations in progress (GET
// /servers/{id}/migrations, 2.23).
func (s *Service) ServerMigrations(ctx context.Context, c Caller, id string) ([]compute.Migration, error) {
	if _, err := s.migrationServer(ctx, c, id, "index"); err != nil {
		return nil, err
	}
	return s.liveInProgress(ctx, id)
}

// ServerMigration shows one of a server's live migrations in progress by
// its integer id; any other is 404 with Nova's messages.
func (s *Service) ServerMigration(ctx context.Context, c Caller, id string, migrationID int64) (compute.Migration, error) {
	if _, err := s.migrationServer(ctx, c, id, "show"); err != nil {
		return compute.Migration{}, err
	}
	var all []compute.Migration
	if s.Migrations != nil {
		var err error
		if all, err = s.Migrations.ListMigrations(ctx, compute.MigrationFilter{ServerID: id}); err != nil {
			return compute.Migration{}, err
		}
	}
	for _, m := range all {
		switch {
		case m.ID != migrationID:
		case m.Type != compute.MigrationLive:
			return m, compute.Errorf(compute.ErrNotFound, "Migration %d for server %s is not live-migration.", migrationID, id)
		case !compute.LiveMigrationInProgress(m.Status):
			return m, compute.Errorf(compute.ErrNotFound, "Live migration %d for server %s is not in progress.", migrationID, id)
		default:
			return m, nil
		}
	}
	return compute.Migration{}, compute.Errorf(compute.ErrNotFound, "In-progress live migration %d is not found for server %s.", migrationID, id)
}

// migrationServer checks servers:migrations:<op> and that the server is
// there for the caller (404 otherwise), as Nova checks both first.
func (s *Service) migrationServer(ctx context.Context, c Caller, id, op string) (*compute.Server, error) {
	if err := s.authorize(c, "os_compute_api:servers:migrations:"+op, nil); err != nil {
		return nil, err
	}
	return s.Get(ctx, c, id)
}

func (s *Service) liveInProgress(ctx context.Context, id string) ([]compute.Migration, error) {
	if s.Migrations == nil {
		return nil, nil
	}
	all, err := s.Migrations.ListMigrations(ctx, compute.MigrationFilter{ServerID: id, Type: compute.MigrationLive})
	out := all[:0]
	for _, m := range all {
		if compute.LiveMigrationInProgress(m.Status) {
			out = append(out, m)
		}
	}
	return out, err
}

// startMigration records the start of a move of sv (status, type, and
// the flavors of a resize); nil when migrations are not kept. Failing to
// record is logged: the move itself goes on.
func (s *Service) startMigration(ctx context.Context, sv *compute.Server, typ, status, newFlavor string) *compute.Migration {
	if s.Migrations == nil {
		return nil
	}
	now := s.now().UTC()
	host, node := sv.Host, sv.Node
	if host == "" { // placed before hosts were recorded: this one
		host, node = s.host(), s.host()
	}
	m := &compute.Migration{UUID: uuid.NewString(), ServerID: sv.ID, Type: typ, Status: status,
		SourceCompute: host, SourceNode: node, ProjectID: sv.ProjectID, UserID: sv.UserID, CreatedAt: now, UpdatedAt: now}
	if typ == compute.MigrationResize || typ == compute.MigrationCold {
		m.OldFlavorID, m.NewFlavorID = sv.FlavorID, newFlavor
	}
	if err := s.Migrations.CreateMigration(ctx, m); err != nil {
		s.log.Error("could not record a migration", "server", sv.ID, "type", typ, "err", err)
		return nil
	}
	return m
}

// setMigration changes a migration's status (and destination, when dest
// is set) and stores it; a nil migration is nothing to do.
func (s *Service) setMigration(ctx context.Context, m *compute.Migration, status string, dest *compute.Destination) {
	if m == nil {
		return
	}
	m.Status, m.UpdatedAt = status, s.now().UTC()
	if dest != nil {
		m.DestCompute, m.DestNode, m.DestHost = dest.Host, dest.Node, dest.Host
	}
	if err := s.Migrations.UpdateMigration(ctx, *m); err != nil {
		s.log.Error("could not record a migration's progress", "server", m.ServerID, "migration", m.UUID, "status", status, "err", err)
	}
}

// openMigration is the server's newest migration of one of types in
// status, or nil.
func (s *Service) openMigration(ctx context.Context, serverID, status string, types ...string) *compute.Migration {
	if s.Migrations == nil {
		return nil
	}
	all, err := s.Migrations.ListMigrations(ctx, compute.MigrationFilter{ServerID: serverID, Status: status})
	if err != nil {
		s.log.Error("could not read a server's migrations", "server", serverID, "err", err)
		return nil
	}
	for _, m := range all {
		for _, t := range types {
			if m.Type == t {
				return &m
			}
		}
	}
	return nil
}

// hostUp reports whether host's compute service is up: not forced down
// (os-services) and, when the deployment tracks heartbeats, alive;
// without heartbeats, a registered host is up.
func (s *Service) hostUp(ctx context.Context, host string) bool {
	svc, err := s.computeService(ctx, host)
	switch {
	case err == nil && svc.ForcedDown:
		return false
	case err != nil && !errors.Is(err, compute.ErrNotFound):
		return true // unknown state: never take a host for dead on a read error
	case s.HostStates != nil:
		return s.HostStates.HostUp(ctx, host)
	}
	return err == nil
}

// computeService returns host's nova-compute service, or Nova's 404
// "Compute host %s not found.".
func (s *Service) computeService(ctx context.Context, host string) (ComputeService, error) {
	return s.findService(ctx, func(sv ComputeService) bool { return sv.Binary == compute.BinaryCompute && sv.Host == host },
		"Compute host "+compute.Clip(host)+" not found.")
}
