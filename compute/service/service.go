// Package service is the compute service: flavors and servers with Nova's
// rules (policy, validation, states), between the compute API and the
// repository, image service and hypervisor.
package service

import (
	"cmp"
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"imagestack/common/cluster"
	"imagestack/compute"
	"imagestack/policy"
)

// Authorizer is the policy engine as the service needs it.
type Authorizer interface {
	// Enforce reports whether creds may perform rule on target.
	Enforce(rule string, target policy.Target, creds policy.Credentials) bool
}

// Caller is who is asking.
type Caller struct {
	Creds   policy.Credentials
	IsAdmin bool
	// RequestID is the API request's id (req-<uuid>), recorded with the
	// server actions it asks for; "" gets a new one.
	RequestID string
}

// Quotas are per-project limits (Nova's defaults unless configured).
type Quotas struct {
	Instances, Cores, RAM int
}

// DefaultQuotas are Nova's default quotas.
var DefaultQuotas = Quotas{Instances: 10, Cores: 20, RAM: 51200}

// ImageCache is the per-host base image cache.
type ImageCache interface {
	// Get returns the local path of an image, downloading it once.
	Get(ctx context.Context, imageID, checksum string, download func(ctx context.Context, w io.Writer) error) (string, error)
}

// LazyBases starts servers before their base image has arrived (the
// image cache's loopback endpoint).
type LazyBases interface {
	// Begin returns where the image's verified base is or will be. When
	// this call starts the base's fill, it also returns how the VM reads
	// the base meanwhile and the arriving base; a base another call is
	// filling is waited for (a second server boots from verified data
	// only). size (> 0) is the image's size and src reads n bytes of its
	// data from off.
	Begin(ctx context.Context, imageID, checksum string, size int64,
		src func(ctx context.Context, off, n int64, w io.Writer) error) (string, *compute.LazyBase, compute.ArrivingBase, error)
	// Have reports whether the image's verified base is on this host.
	Have(imageID string) bool
}

// Deps are the service's collaborators; cmd wires them.
type Deps struct {
	Flavors    compute.FlavorRepository
	Servers    compute.ServerRepository
	KeyPairs   compute.KeyPairRepository
	Images     compute.Images
	Hypervisor compute.Hypervisor // nil: servers cannot be created (no libvirt)
	Cache      ImageCache
	// LazyBases, when set, lets a server boot while its base image is
	// still arriving (compute.lazy_base); nil: the whole image is
	// downloaded into Cache first.
	LazyBases LazyBases
	Projects  compute.Projects // nil: flavor access takes project ids as given
	Consoles  compute.Consoles // nil: no remote consoles (os-getVNCConsole: 400)
	Quotas    Quotas           // configured defaults of instances, cores, RAM
	// QuotaStore keeps the limits set by os-quota-sets and
	// os-quota-class-sets; Groups keeps server groups.
	QuotaStore compute.QuotaRepository
	// UnifiedLimits, when set, is Nova's UnifiedLimitsDriver: the limits in force
	// come from Keystone's unified limits instead of QuotaStore, and
	// os-quota-sets and os-quota-class-sets updates change nothing.
	UnifiedLimits compute.Limits
	Groups        compute.ServerGroupRepository
	// SnapshotDir holds server snapshots between copy and upload.
	SnapshotDir string
	// Networks gives servers their NICs; nil: servers get none.
	Networks compute.Networks
	// Actions keeps what was asked of each server; nil: nothing is
	// recorded and os-instance-actions lists none.
	Actions compute.ActionRepository
	// BuildConfigDrive writes a server's config drive (ISO 9660, label
	// config-2) to dst, with adminPass as the guest's password; nil: no
	// server gets one. ConfigDriveDir holds them; ForceConfigDrive gives
	// every server one (Nova's force_config_drive), not only those that ask.
	BuildConfigDrive func(ctx context.Context, dst string, sv *compute.Server, adminPass string) error
	ConfigDriveDir   string
	ForceConfigDrive bool
	// ReclaimInterval is Nova's reclaim_instance_interval: above 0 a
	// deleted server is soft-deleted (SOFT_DELETED, VM off, restorable)
	// and reclaimed this long afterwards; 0 deletes at once.
	ReclaimInterval time.Duration
	// HostServices keeps the state admins give services in os-services;
	// nil: the services are listed enabled and changes are not kept.
	HostServices compute.HostServiceRepository
	// ShelvedOffloadTime is how long, in seconds, a shelved server keeps
	// its VM before it is offloaded (Nova's shelved_offload_time): 0 at
	// once, below 0 never (but by shelveOffload).
	ShelvedOffloadTime int
	// Precacher fetches images into the caches of compute hosts for
	// os-aggregates' images action; nil: LocalPrecacher (this host only).
	Precacher compute.ImagePrecacher
	// Aggregates keeps host aggregates; nil: os-aggregates lists none
	// and every host is in DefaultZone.
	Aggregates compute.AggregateRepository
	// DefaultZone is the zone of hosts in no aggregate with one (Nova's
	// default_availability_zone); "": ZoneName.
	DefaultZone string
	// Member is this process in the deployment (its id names the leases
	// it holds; its roles and host say whose VMs it reads) and Timing the
	// deployment's lease timing (cluster.DefaultTiming's when zero).
	Member cluster.Member
	Timing cluster.Timing
	// TaskLeases keeps the leases on servers' background tasks; nil: no
	// leases, every task is this process's and Reconcile recovers them
	// all at start-up.
	TaskLeases compute.TaskLeaseRepository
	// Migrations keeps the moves of servers between hosts (os-migrations);
	// nil: moves are not recorded and none are listed.
	Migrations compute.MigrationRepository
	// Destinations places servers being evacuated, migrated or resized;
	// HostStates says whether a host is up; HostHypervisors reaches one
	// named host's hypervisor (the source of a move). Without Destinations
	// (one host) evacuate and migrate find no valid host and a resize
	// happens in place; without HostStates every registered host is up.
	Destinations    compute.Destinations
	HostStates      compute.HostStates
	HostHypervisors compute.HostHypervisors
	// Nodes keeps the compute hosts (their capacity and heartbeats) and
	// what servers take of them; nil: no host, every boot NoValidHost.
	Nodes compute.NodeRepository
	// HostZones tells hosts' availability zones; nil: those of
	// Aggregates (AggregateZones), or none without them.
	HostZones HostZones
	// Host is this process's compute host ("": Member.Host, else the
	// machine's host name): the services it registers, the servers its
	// image cache keeps bases for and the tasks it recovers are this
	// host's. New makes Member.Host the same.
	Host string
	// Scheduler tunes placement (compute.scheduler).
	Scheduler SchedulerConfig
	// OnDecision, when set, hears of every placement the scheduler makes
	// or fails (for metrics and benchmarks); it must not block.
	OnDecision func(Decision)
}

// Service implements compute operations.
type Service struct {
	Deps
	flavors compute.FlavorRepository
	authz   Authorizer
	log     *slog.Logger
	now     func() time.Time
	tasks   sync.WaitGroup // background boots and actions
	locks   sync.Map       // server id -> *sync.Mutex: one operation at a time per server
	rows    sync.Map       // server id -> *sync.Mutex: one read-modify-write at a time per server
	quit    chan struct{}  // closed by Shutdown: background retries give up
	placing sync.Mutex     // one placement at a time in a process (placeOne)
	stopped sync.Once
	// registered is set once this process registered its host's services.
	registered atomic.Bool
	pending    sync.Map // server id -> *ActionEvent: the running event of its last action
	leases     *taskLeases
}

// New returns a compute service.
func New(deps Deps, authz Authorizer, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	if deps.Quotas == (Quotas{}) {
		deps.Quotas = DefaultQuotas
	}
	// One name for this host: compute.host, the member's, or the machine's.
	deps.Host = HostOf(cluster.Member{Host: cmp.Or(deps.Host, deps.Member.Host)})
	deps.Member.Host = deps.Host
	if deps.HostZones == nil && deps.Aggregates != nil {
		deps.HostZones = AggregateZones{Aggregates: deps.Aggregates}
	}
	s := &Service{Deps: deps, flavors: deps.Flavors, authz: authz, log: log, now: time.Now, quit: make(chan struct{})}
	s.leases = newTaskLeases(deps, time.Now)
	if s.Nodes != nil && s.Destinations == nil {
		s.Destinations = moveDestinations{s}
	}
	if s.Nodes != nil && s.HostStates == nil {
		s.HostStates = s
	}
	return s
}

// Wait blocks until background work (boots, actions) has finished; tests and
// shutdown use it.
func (s *Service) Wait() { s.tasks.Wait() }

// Shutdown ends the retries of background work waiting for the database (what
// they could not record is left to Reconcile at the next start), then waits
// for background work to finish; shutdown uses it.
func (s *Service) Shutdown() {
	s.stopped.Do(func() { close(s.quit) })
	s.tasks.Wait()
}

// NewCaller builds a Caller, deciding admin-ness with the policy.
func (s *Service) NewCaller(creds policy.Credentials) Caller {
	return Caller{Creds: creds, IsAdmin: s.authz.Enforce("context_is_admin", policy.Target{}, creds)}
}

// authorize checks a Nova rule against the caller's own project (Nova's
// target for project-level APIs); denial is 403.
func (s *Service) authorize(c Caller, rule string, target policy.Target) error {
	if target == nil {
		target = policy.Target{"project_id": c.Creds.ProjectID, "user_id": c.Creds.UserID}
	}
	if s.authz.Enforce(rule, target, c.Creds) {
		return nil
	}
	return compute.Errorf(compute.ErrForbidden, "Policy doesn't allow %s to be performed.", rule)
}

// EnsureDefaultFlavors creates the default flavors when none exists yet.
func (s *Service) EnsureDefaultFlavors(ctx context.Context, defaults []compute.Flavor) error {
	n, err := s.flavors.CountFlavors(ctx)
	if err != nil || n > 0 {
		return err
	}
	for _, f := range defaults {
		f.RxTxFactor, f.IsPublic, f.CreatedAt = 1.0, true, s.now().UTC()
		if err := s.flavors.CreateFlavor(ctx, f); err != nil {
			return err
		}
	}
	return nil
}
