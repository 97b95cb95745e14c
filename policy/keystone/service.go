package keystone

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"imagestack/common/cluster"
)

// Config is the identity service's behaviour that operators set.
type Config struct {
	// TokenTTL is how long an issued token stays valid (default one hour).
	TokenTTL time.Duration
	// Region names the region of every catalog endpoint (default RegionOne).
	Region string
	// Services are the catalog entries, one per service type.
	Services []CatalogService
	// PasswordIterations is the PBKDF2 work factor for new password hashes.
	PasswordIterations int
	// ValidationCacheTTL bounds how long a validated token is served from
	// memory; writes through this service invalidate the cache at once, the
	// TTL only matters for changes made by another server process.
	ValidationCacheTTL time.Duration
	// LockoutFailureAttempts is how many consecutive failed password logins
	// lock a user out (0 = never), Keystone's [security_compliance]
	// lockout_failure_attempts.
	LockoutFailureAttempts int
	// LockoutDuration is how long a lockout lasts after the last failure;
	// 0 locks until the user is enabled again (Keystone's lockout_duration).
	LockoutDuration time.Duration
}

// CatalogService is one service in the token catalog.
type CatalogService struct {
	Type, Name string
	// URLs per interface ("public", "internal", "admin").
	URLs map[string]string
}

// Service implements authentication, token validation and the identity
// operations on top of a Repository. It owns identity policy: every
// operation a caller asks for takes the caller's credentials and enforces
// its identity: rule (authz.go), so the HTTP layer only decodes and renders.
type Service struct {
	repo   Repository
	authz  Authorizer
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	gen    atomic.Uint64 // bumped by every identity write; stale cache entries are ignored
	cacheM sync.Mutex
	cache  map[string]cachedToken
	logins loginGuard
}

// DefaultValidationCacheTTL is Config.ValidationCacheTTL when unset: the
// bound on how long another replica sharing the database keeps accepting
// a revoked token, or a token's roles, user or project as they were before
// a change made through this one.
const DefaultValidationCacheTTL = 5 * time.Second

type cachedToken struct {
	tok     *Token
	gen     uint64
	expires time.Time
}

// New returns a Service with defaults applied to cfg. authz decides what
// callers may do; without one (nil) only the trusted operations work:
// authentication, token validation and bootstrap.
func New(repo Repository, authz Authorizer, cfg Config, log *slog.Logger) *Service {
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = time.Hour
	}
	if cfg.Region == "" {
		cfg.Region = "RegionOne"
	}
	if cfg.PasswordIterations <= 0 {
		cfg.PasswordIterations = DefaultPasswordIterations
	}
	if cfg.ValidationCacheTTL == 0 {
		cfg.ValidationCacheTTL = DefaultValidationCacheTTL
	}
	if log == nil {
		log = slog.Default()
	}
	return &Service{repo: repo, authz: authz, cfg: cfg, log: log, now: time.Now, cache: map[string]cachedToken{}}
}

// Config returns the effective configuration.
func (s *Service) Config() Config { return s.cfg }

// SetClock replaces the time source (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// InvalidateCache drops every cached token validation (also done by every
// identity write through this service).
func (s *Service) InvalidateCache() { s.changed() }

// changed invalidates every cached validation after an identity write.
func (s *Service) changed() {
	s.gen.Add(1)
	s.cacheM.Lock()
	clear(s.cache)
	s.cacheM.Unlock()
}

// newID returns a Keystone-style id: 32 lowercase hex digits.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// RunJanitor deletes expired tokens every interval until ctx ends.
func (s *Service) RunJanitor(ctx context.Context, interval time.Duration) {
	cluster.Every(ctx, interval, func(ctx context.Context) {
		n, err := s.repo.DeleteExpiredTokens(ctx, s.now())
		if err != nil {
			s.log.Warn("expired token cleanup failed", "err", err)
		} else if n > 0 {
			s.log.Info("expired tokens removed", "count", n)
		}
	})
}
