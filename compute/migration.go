package compute

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNoValidHost is Nova's NoValidHost: no host can take a server.
var ErrNoValidHost = errors.New("No valid host was found. There are not enough hosts available.")

// Migration types (Nova's migration_type).
const (
	MigrationCold       = "migration"
	MigrationResize     = "resize"
	MigrationEvacuation = "evacuation"
	MigrationLive       = "live-migration"
)

// Migration statuses, Nova's. A cold migration or resize goes pre-migrating,
// migrating, post-migrating, finished (VERIFY_RESIZE), then confirming and
// confirmed or reverting and reverted; an evacuation accepted, pre-migrating,
// done (completed once the source host has destroyed its leftover VM); a
// live migration queued, preparing, running, completed. error: it never
// started (no host); failed: it broke on the way.
const (
	MigrationAccepted      = "accepted"
	MigrationPreMigrating  = "pre-migrating"
	MigrationMigrating     = "migrating"
	MigrationPostMigrating = "post-migrating"
	MigrationFinished      = "finished"
	MigrationConfirming    = "confirming"
	MigrationConfirmed     = "confirmed"
	MigrationReverting     = "reverting"
	MigrationReverted      = "reverted"
	MigrationDone          = "done"
	MigrationCompleted     = "completed"
	MigrationQueued        = "queued"
	MigrationPreparing     = "preparing"
	MigrationRunning       = "running"
	MigrationError         = "error"
	MigrationFailed        = "failed"
)

// LiveMigrationInProgress reports whether a live migration with status is
// still under way (what GET /servers/{id}/migrations lists).
func LiveMigrationInProgress(status string) bool {
	switch status {
	case MigrationQueued, MigrationPreparing, MigrationRunning, MigrationPostMigrating:
		return true
	}
	return false
}

// Migration is one move of a server between hosts (Nova's migrations
// table). ID is Nova's integer id, for display and the per-server URLs
// only: it comes from the engine's auto-increment, which a Galera cluster
// does not hand out in time order, so nothing sorts or pages by it alone;
// UUID names the migration everywhere else (2.59).
type Migration struct {
	ID       int64
	UUID     string
	ServerID string
	Type     string
	Status   string
	// SourceCompute and SourceNode are where the server was, DestCompute
	// and DestNode where it goes ("" until chosen); DestHost is the
	// destination's address as Nova shows it (its host name here).
	SourceCompute, SourceNode       string
	DestCompute, DestNode, DestHost string
	OldFlavorID, NewFlavorID        string // "" for evacuations and live migrations
	ProjectID, UserID               string // the server's owner (2.80)
	CreatedAt, UpdatedAt            time.Time
}

// MigrationFilter narrows a migration listing; "" and nil match anything.
type MigrationFilter struct {
	// Host matches the source or the destination compute host.
	Host, SourceCompute    string
	Status, Type, ServerID string
	ProjectID, UserID      string
	ChangesSince           *time.Time // updated at or after
	ChangesBefore          *time.Time // updated at or before
	Limit                  int        // 0: all
	Marker                 string     // uuid of the last migration of the page before
}

// MigrationRepository keeps migrations. Errors wrap ErrNotFound where said.
type MigrationRepository interface {
	// CreateMigration stores m (UUID set by the caller) and sets its ID.
	CreateMigration(ctx context.Context, m *Migration) error
	// UpdateMigration stores m's status, destination and UpdatedAt, by
	// UUID; an unknown one is ErrNotFound.
	UpdateMigration(ctx context.Context, m Migration) error
	// ListMigrations returns the migrations matching f, newest first
	// (created_at, then id, descending): the Limit first after Marker. An
	// unknown marker is ErrNotFound.
	ListMigrations(ctx context.Context, f MigrationFilter) ([]Migration, error)
}

// MoveRequest asks Destinations for a host for a server being moved.
type MoveRequest struct {
	Server *Server
	// RAM, VCPUs and Disk are what the server needs there (its new
	// flavor's for a resize).
	RAM, VCPUs, Disk int
	// Host, when set, is the host asked for: it is checked (exists, up,
	// room, filters) unless Force (Nova's force, microversions 2.29 to
	// 2.67), which claims on it whatever it has.
	Host  string
	Force bool
	// Exclude are hosts never chosen (the server's own, for a move).
	Exclude []string
}

// Destination is where a server is moved to.
type Destination struct {
	Host, Node string
}

// Destinations places servers being moved (the scheduler's side of
// evacuate, migrate and resize).
type Destinations interface {
	// Claim picks a host for p (p.Host if set, else the best host not in
	// p.Exclude that fits) and claims p's resources on it for the server,
	// so that no concurrent placement takes them. No fitting host is an
	// error wrapping ErrNoValidHost; an unknown p.Host one wrapping
	// ErrNotFound.
	Claim(ctx context.Context, p MoveRequest) (Destination, error)
	// Release drops the claim the server holds on host: a move that failed
	// or was reverted (the destination), or a confirmed one (the source).
	// No claim is no error.
	Release(ctx context.Context, serverID, host string) error
}

// HostStates tells whether compute hosts are alive (heartbeats).
type HostStates interface {
	// HostUp reports whether host's compute service is up: it heartbeat
	// within the service down time and is not forced down. Unknown hosts
	// are down.
	HostUp(ctx context.Context, host string) bool
}

// HostHypervisors reaches the hypervisor of a named host, where a call
// must go to one host whatever the server's record says (the source of a
// move, a host cleaning up after an evacuation).
type HostHypervisors interface {
	// OnHost returns host's hypervisor; an unknown host is ErrNotFound.
	OnHost(ctx context.Context, host string) (Hypervisor, error)
}

// DiskMover is a hypervisor whose servers' disks can be carried to another
// host (cold migration and resize to another host). The overlay moves as a
// stream; its base comes from the destination's own image cache.
type DiskMover interface {
	// ExportDisk writes the server's disk overlay to w as qcow2 data
	// without its base (the overlay's own clusters only). The VM must be
	// powered off (ErrConflict otherwise); it and its disk stay.
	ExportDisk(ctx context.Context, serverID string, w io.Writer) error
	// ImportDisk makes the overlay read from r the server's disk on this
	// host, over spec.BaseImage, grown to spec.RootGB, then defines the VM
	// of spec and boots it (PowerRunning once it returns), as Spawn does
	// with a fresh disk. A server with a VM here already is ErrConflict;
	// on error nothing of the server is left here.
	ImportDisk(ctx context.Context, spec SpawnSpec, r io.Reader) error
}

// LiveMigrator is a hypervisor that moves running VMs to another host
// without stopping them (os-migrateLive).
type LiveMigrator interface {
	// LiveMigrate moves the server's running VM to the hypervisor of dest,
	// copying its disk overlay along when block (the base is already in
	// dest's cache at spec.BaseImage): the guest runs on there, and nothing
	// of it is left here once it returns. On error the VM runs on here.
	LiveMigrate(ctx context.Context, spec SpawnSpec, dest Destination, block bool) error
}
