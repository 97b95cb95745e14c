package keystone

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
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
// write operations on top of a Repository.
type Service struct {
	repo   Repository
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	gen    atomic.Uint64 // bumped by every identity write; stale cache entries are ignored
	cacheM sync.Mutex
	cache  map[string]cachedToken
	logins loginGuard
}

type cachedToken struct {
	tok     *Token
	gen     uint64
	expires time.Time
}

// New returns a Service with defaults applied to cfg.
func New(repo Repository, cfg Config, log *slog.Logger) *Service {
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
		cfg.ValidationCacheTTL = 5 * time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	return &Service{repo: repo, cfg: cfg, log: log, now: time.Now, cache: map[string]cachedToken{}}
}

// Repository gives read access to identity data (tests, trusted callers).
func (s *Service) Repository() Repository { return s.repo }

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

// Catalog returns the service catalog as tokens carry it.
func (s *Service) Catalog() []CatalogEntry {
	out := make([]CatalogEntry, 0, len(s.cfg.Services))
	for _, svc := range s.cfg.Services {
		e := CatalogEntry{ID: stableID("service", svc.Type), Type: svc.Type, Name: svc.Name}
		for _, iface := range []string{"public", "internal", "admin"} {
			url, ok := svc.URLs[iface]
			if !ok {
				continue
			}
			e.Endpoints = append(e.Endpoints, CatalogEndpoint{
				ID: stableID("endpoint", svc.Type, iface), Interface: iface,
				Region: s.cfg.Region, RegionID: s.cfg.Region, URL: url,
			})
		}
		out = append(out, e)
	}
	return out
}

// CatalogEntry is one service of a token's catalog.
type CatalogEntry struct {
	ID        string            `json:"id"`
	Type      string            `json:"type"`
	Name      string            `json:"name"`
	Endpoints []CatalogEndpoint `json:"endpoints"`
}

// CatalogEndpoint is one endpoint of a catalog entry.
type CatalogEndpoint struct {
	ID        string `json:"id"`
	Interface string `json:"interface"`
	Region    string `json:"region"`
	RegionID  string `json:"region_id"`
	URL       string `json:"url"`
}

// RunJanitor deletes expired tokens every interval until ctx ends.
func (s *Service) RunJanitor(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := s.repo.DeleteExpiredTokens(ctx, s.now())
			if err != nil {
				s.log.Warn("expired token cleanup failed", "err", err)
			} else if n > 0 {
				s.log.Info("expired tokens removed", "count", n)
			}
		}
	}
}
