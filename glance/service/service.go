// Package service is the image service: it applies Glance's rules
// (visibility, policy, status machine, property rules) and keeps database
// rows and blobs in step, so that the HTTP handlers stay thin.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"imagestack/common/cluster"
	"imagestack/glance"
	"imagestack/glance/cache"
	"imagestack/glance/webfetch"
	"imagestack/policy"
	"imagestack/storage"
)

// Authorizer is the policy engine as the service needs it.
type Authorizer interface {
	// Enforce reports whether creds may perform rule on target.
	Enforce(rule string, target policy.Target, creds policy.Credentials) bool
}

// Caller is who is asking.
type Caller struct {
	Creds   policy.Credentials
	IsAdmin bool // derived from the policy's context_is_admin
}

// Project is the caller's project id.
func (c Caller) Project() string { return c.Creds.ProjectID }

// Config holds the operator's limits.
type Config struct {
	// SizeCap is the largest image accepted, in bytes (Glance's image_size_cap).
	SizeCap int64
	// MaxConcurrentUploads bounds the uploads and stages in progress at once
	// (default DefaultMaxConcurrentUploads); more are refused with 503.
	MaxConcurrentUploads int
	// UploadIdleTimeout ends an upload or stage whose client sent nothing
	// for that long (default DefaultUploadIdleTimeout); the image goes back
	// to queued.
	UploadIdleTimeout time.Duration
	// AllowFormatMismatch accepts data in a recognised disk format other
	// than the image's disk_format (Glance's require_image_format_match
	// turned off). Unsafe data is refused either way.
	AllowFormatMismatch bool
	// TaskTimeToLive is how long a task is kept once it has ended (Glance's
	// task_time_to_live; default DefaultTaskTimeToLive): then it no longer
	// lists or shows, and the cleanup (RunTaskCleanup) deletes it.
	TaskTimeToLive time.Duration
	// ShowMultipleLocations shows image locations to callers that
	// get_image_location allows, and lets PATCH add, replace and remove
	// them (Glance's show_multiple_locations); ShowDirectURL shows the
	// first one as direct_url (show_image_direct_url).
	ShowMultipleLocations, ShowDirectURL bool
	// LocationReadTimeout bounds reading a location's data when it is
	// added (default DefaultLocationReadTimeout).
	LocationReadTimeout time.Duration
	// LeaseTTL is how long work in flight stays this member's without a
	// renewal (cluster.lease_ttl; default DefaultLeaseTTL): how long work
	// of a member that died waits before another recovers it.
	LeaseTTL time.Duration
}

// DefaultTaskTimeToLive is Glance's task_time_to_live (48 hours).
const DefaultTaskTimeToLive = 48 * time.Hour

// DefaultUploadIdleTimeout is how long an upload may send nothing.
const DefaultUploadIdleTimeout = 60 * time.Second

// UploadIdleTimeout is the configured Config.UploadIdleTimeout.
func (s *Service) UploadIdleTimeout() time.Duration { return s.cfg.UploadIdleTimeout }

// Defaults: Glance's image_size_cap (1 TiB), and uploads at once.
const (
	DefaultSizeCap              = 1 << 40
	DefaultMaxConcurrentUploads = 32
)

// Glance's per-image quotas (image_property_quota, image_tag_quota,
// image_member_quota): going past them is 413.
const (
	maxProperties = 128
	maxTags       = 128
	maxMembers    = 128
)

// Every image is shown whole in each list page that holds it, so its extra
// properties are bounded in size too: one value at most
// glance.MaxPropertyValue, all of them together at most maxPropertyBytes.
const maxPropertyBytes = 256 << 10

// checkQuotas refuses an image with too many (or too large) properties or tags.
func checkQuotas(im *glance.Image) error {
	total := 0
	for k, v := range im.Properties {
		total += len(k) + len(v)
	}
	if total > maxPropertyBytes {
		return glance.Errorf(glance.ErrTooLarge, "Attempted: %d, Maximum: %d: the image's extra properties take too many bytes.", total, maxPropertyBytes)
	}
	if len(im.Properties) > maxProperties {
		return glance.Errorf(glance.ErrTooLarge, "Attempted: %d, Maximum: %d: the image has too many properties.", len(im.Properties), maxProperties)
	}
	if len(im.Tags) > maxTags {
		return glance.Errorf(glance.ErrTooLarge, "Attempted: %d, Maximum: %d: the image has too many tags.", len(im.Tags), maxTags)
	}
	return nil
}

// Service implements the image operations.
type Service struct {
	importState
	leaseState
	taskRepo glance.TaskRepository
	repo     glance.Repository
	metadefs glance.MetadefRepository
	stores   stores
	authz    Authorizer
	cfg      Config
	uploads  chan struct{} // upload slots (uploadSlot)
	cache    *cache.Cache  // nil: downloads read the stores directly
	quotas   quotas        // unified limits (off without Deps.Limits)
	log      *slog.Logger
	now      func() time.Time
}

// Deps are what the image service works with. Repository, Policy and one
// of Store or Stores are required.
type Deps struct {
	// Repository persists images, members and locations.
	Repository glance.Repository
	// Metadefs persists metadata definitions; nil takes Repository when
	// it implements glance.MetadefRepository too (the database does).
	Metadefs glance.MetadefRepository
	// Store is the one store of a single-store service (Glance without
	// enabled_backends): clients never see a store name, and the store's
	// id is SingleStoreID. Set either Store or Stores.
	Store storage.Store
	// Stores are the stores of a multi-store service, in configuration
	// order (/v2/info/stores lists them so): an image may have a copy in
	// each, and requests name them (X-Image-Meta-Store, import "stores").
	Stores []Backend
	// DefaultStore is the id, among Stores, of the store receiving data
	// when a request names none.
	DefaultStore string
	// Staging holds glance-direct data between stage and import. Nil
	// turns the import API (stage, import, tasks) off.
	Staging storage.Store
	// Tasks persists import tasks; required with Staging.
	Tasks glance.TaskRepository
	// Fetcher downloads web-download imports (only used with Staging).
	Fetcher *webfetch.Fetcher
	// ImportPlugins are Glance's import plugins (only used with Staging).
	ImportPlugins ImportPlugins
	// Policy decides who may do what.
	Policy Authorizer
	// Cache, when set, is the read-through cache downloads of active
	// images go through (Glance's image cache, /v2/cache).
	Cache *cache.Cache
	// Limits, when set, turns on Glance's unified limits (use_keystone_limits);
	// the Repository must then count usage (glance.UsageRepository).
	Limits glance.Limits
	// Log receives what the service logs (nil: slog.Default()).
	Log *slog.Logger
	// Member is the member of the deployment this service runs as: it
	// owns the work this service runs by lease. Zero: a member of its own
	// unique name, which recovers only work whose lease expired.
	Member cluster.Member
	// Leases keeps the leases on work in flight; nil takes Repository
	// when it implements glance.LeaseRepository too (the database does).
	Leases glance.LeaseRepository
	// OnLeaseRecovered, when set, is called with the lease kind each time
	// this member recovers work whose owner stopped (a metric).
	OnLeaseRecovered func(kind string)
}

// New returns an image service built from d, with cfg's limits (zero
// values take the defaults). It fails on incomplete or inconsistent
// dependencies: a missing repository, policy or store, both Store and
// Stores, invalid or duplicate store ids, a default store that is not
// configured, or staging without a task repository.
func New(d Deps, cfg Config) (*Service, error) {
	if d.Repository == nil || d.Policy == nil {
		return nil, errors.New("image service: a repository and a policy are required")
	}
	if d.Staging != nil && d.Tasks == nil {
		return nil, errors.New("image service: staging needs a task repository")
	}
	set, err := storeSet(d)
	if err != nil {
		return nil, err
	}
	if cfg.SizeCap <= 0 {
		cfg.SizeCap = DefaultSizeCap
	}
	if cfg.MaxConcurrentUploads <= 0 {
		cfg.MaxConcurrentUploads = DefaultMaxConcurrentUploads
	}
	if cfg.UploadIdleTimeout <= 0 {
		cfg.UploadIdleTimeout = DefaultUploadIdleTimeout
	}
	if cfg.TaskTimeToLive <= 0 {
		cfg.TaskTimeToLive = DefaultTaskTimeToLive
	}
	if cfg.LocationReadTimeout <= 0 {
		cfg.LocationReadTimeout = DefaultLocationReadTimeout
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	log := d.Log
	if log == nil {
		log = slog.Default()
	}
	s := &Service{repo: d.Repository, stores: set, authz: d.Policy, cfg: cfg, log: log, now: time.Now,
		uploads: make(chan struct{}, cfg.MaxConcurrentUploads)}
	s.staging, s.taskRepo, s.fetcher = d.Staging, d.Tasks, d.Fetcher
	s.plugins = d.ImportPlugins
	if err := s.plugins.prepare(); err != nil {
		return nil, fmt.Errorf("image service: %w", err)
	}
	s.cache = d.Cache
	if err := s.setupLeases(d, cfg); err != nil {
		return nil, err
	}
	if d.Limits != nil {
		usage, ok := d.Repository.(glance.UsageRepository)
		if !ok {
			return nil, errors.New("image service: limits need a repository that counts usage")
		}
		s.quotas.limits, s.quotas.usage = d.Limits, usage
	}
	s.metadefs = d.Metadefs
	if md, ok := d.Repository.(glance.MetadefRepository); ok && s.metadefs == nil {
		s.metadefs = md
	}
	if s.metadefs == nil {
		return nil, errors.New("image service: a metadata definitions repository is required")
	}
	return s, nil
}

// NewCaller builds a Caller, deciding admin-ness with the policy.
func (s *Service) NewCaller(creds policy.Credentials) Caller {
	return Caller{Creds: creds, IsAdmin: s.authz.Enforce("context_is_admin", policy.Target{}, creds)}
}

// now truncated to the second, the precision Glance shows.
func (s *Service) stamp() time.Time { return s.now().UTC().Truncate(time.Second) }

// loaded is an image the caller may see, with what policy checks on it
// need, so that the caller's membership is looked up once per request.
type loaded struct {
	*glance.Image
	member bool // the caller's project is a member of this shared image
}

// targetFor is Glance's policy target for an image: project_id is the owner,
// member_id the caller's project when the caller is a member.
func targetFor(c Caller, im *glance.Image, member bool) policy.Target {
	t := policy.Target{"project_id": im.OwnerID(), "owner": im.OwnerID(), "visibility": im.Visibility, "id": im.ID}
	if member {
		t["member_id"] = c.Project()
	}
	return t
}

// target is the loaded image's policy target.
func (l *loaded) target(c Caller) policy.Target { return targetFor(c, l.Image, l.member) }

// isMember reports whether the caller's project is a member of a shared
// image it does not own (any membership status).
func (s *Service) isMember(ctx context.Context, c Caller, im *glance.Image) (bool, error) {
	if im.Visibility != glance.VisibilityShared || c.Project() == "" || c.Project() == im.OwnerID() {
		return false, nil
	}
	_, err := s.repo.GetMember(ctx, im.ID, c.Project())
	if errors.Is(err, glance.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// visible is Glance's is_image_visible: may the caller know the image exists?
func visible(c Caller, im *glance.Image, member bool) bool {
	switch {
	case c.IsAdmin, im.Owner == nil, im.Visibility == glance.VisibilityPublic, im.Visibility == glance.VisibilityCommunity:
		return true
	case c.Project() == "":
		return false
	case c.Project() == im.OwnerID():
		return true
	}
	return member
}

// load returns an image the caller may see and, by policy, get; anything
// else is ErrNotFound, so that existence never leaks.
func (s *Service) load(ctx context.Context, c Caller, id string) (*loaded, error) {
	im, err := s.repo.Get(ctx, id)
	if errors.Is(err, glance.ErrNotFound) {
		return nil, glance.Errorf(glance.ErrNotFound, "No image found with ID %s", id)
	}
	if err != nil {
		return nil, err
	}
	member, err := s.isMember(ctx, c, im)
	if err != nil {
		return nil, err
	}
	l := &loaded{Image: im, member: member}
	if !visible(c, im, member) || !s.authz.Enforce("get_image", l.target(c), c.Creds) {
		return nil, glance.Errorf(glance.ErrNotFound, "No image found with ID %s", id)
	}
	return l, nil
}

// authorize checks rule on a policy target; denial is 403.
func (s *Service) authorize(c Caller, rule string, t policy.Target, what string) error {
	if s.authz.Enforce(rule, t, c.Creds) {
		return nil
	}
	return glance.Errorf(glance.ErrForbidden, "You are not authorized to %s.", what)
}
