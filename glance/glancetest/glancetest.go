// Package glancetest builds the image family for tests from options, as
// keppel's test.NewSetup does: a repository (SQLite by default, MariaDB
// with WithMariaDB), a filesystem store in a temporary directory (or
// several stores), Glance's default policy, the image service and, with
// WithAPI, the image API behind an httptest server. The hand-written
// setups of glance/service and glance/api tests all come from here.
package glancetest

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"imagestack/common/db/dbtest"
	"imagestack/glance"
	"imagestack/glance/cache"
	glancedb "imagestack/glance/db"
	"imagestack/glance/service"
	"imagestack/glance/webfetch"
	"imagestack/policy"
	"imagestack/storage"
	"imagestack/storage/filesystem"
)

// Setup is one image service (and API) over fresh engines.
type Setup struct {
	// Repo is the image repository (also the task repository).
	Repo *glancedb.Repo
	// FS is the filesystem store under StoreDir, the single store unless
	// WithStores replaced it; the service may see it through WithStore's
	// wrapper.
	FS       *filesystem.Store
	StoreDir string
	// Staging is the glance-direct staging store (nil without WithImport).
	Staging    *filesystem.Store
	StagingDir string
	// Policy is Glance's default policy.
	Policy *policy.Enforcer
	// Deps and Config are what Service was built from (see Rebuild).
	Deps    service.Deps
	Config  service.Config
	Service *service.Service
	// Server serves the image API (nil without WithAPI).
	Server *httptest.Server
	// Cache is the image cache (nil without WithCache).
	Cache *cache.Cache
}

// Option changes what NewSetup builds.
type Option func(*options)

type options struct {
	mariadb   bool
	cfg       service.Config
	wrap      func(*filesystem.Store) storage.Store
	stores    []service.Backend
	defStore  string
	staging   bool
	fetcher   *webfetch.Fetcher
	apiTokens TokenValidator
	plugins   *service.ImportPlugins
	cacheSize int64
}

// WithCache puts a read-through image cache of maxSize bytes, in a
// temporary directory, in front of the stores (Setup.Cache), with its
// queue worker running until the test ends.
func WithCache(maxSize int64) Option { return func(o *options) { o.cacheSize = maxSize } }

// WithMariaDB puts the repository on the test MariaDB (TEST_MYSQL_DSN)
// instead of SQLite.
func WithMariaDB() Option { return func(o *options) { o.mariadb = true } }

// WithConfig sets the service's limits.
func WithConfig(cfg service.Config) Option { return func(o *options) { o.cfg = cfg } }

// WithStore gives the service wrap(FS) as its single store (a store that
// injects faults, say).
func WithStore(wrap func(fs *filesystem.Store) storage.Store) Option {
	return func(o *options) { o.wrap = wrap }
}

// WithStores makes a multi-store service over backends, defaultID
// receiving data when a request names no store.
func WithStores(defaultID string, backends ...service.Backend) Option {
	return func(o *options) { o.stores, o.defStore = backends, defaultID }
}

// WithImport turns the import API on: staging in a temporary directory,
// tasks in the repository, and an unrestricted web-download fetcher.
func WithImport() Option { return func(o *options) { o.staging = true } }

// WithFetcher sets the web-download fetcher (WithImport's default is
// webfetch.New(webfetch.Policy{})).
func WithFetcher(f *webfetch.Fetcher) Option { return func(o *options) { o.fetcher = f } }

// WithImportPlugins turns the import API on (as WithImport) with the
// import plugins p, their work directory (when p names none) in a
// temporary directory.
func WithImportPlugins(p service.ImportPlugins) Option {
	return func(o *options) { o.staging, o.plugins = true, &p }
}

// WithAPI serves the image API, authenticating tokens with tokens.
func WithAPI(tokens TokenValidator) Option { return func(o *options) { o.apiTokens = tokens } }

// NewSetup builds the family; every engine is removed when tb ends.
func NewSetup(tb testing.TB, opts ...Option) *Setup {
	tb.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	gdb := dbtest.OpenSQLite
	if o.mariadb {
		gdb = dbtest.OpenMySQL
	}
	repo, err := glancedb.New(gdb(tb))
	if err != nil {
		tb.Fatal(err)
	}
	s := &Setup{Repo: repo, StoreDir: tb.TempDir(), Config: o.cfg}
	s.FS = newFS(tb, s.StoreDir)
	if s.Policy, err = policy.NewEnforcer("", glance.PolicyDefaults); err != nil {
		tb.Fatal(err)
	}
	s.Deps = service.Deps{Repository: repo, Policy: s.Policy, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	switch {
	case len(o.stores) > 0:
		s.Deps.Stores, s.Deps.DefaultStore = o.stores, o.defStore
	case o.wrap != nil:
		s.Deps.Store = o.wrap(s.FS)
	default:
		s.Deps.Store = s.FS
	}
	if o.staging {
		s.StagingDir = tb.TempDir()
		s.Staging = newFS(tb, s.StagingDir)
		s.Deps.Staging, s.Deps.Tasks, s.Deps.Fetcher = s.Staging, repo, o.fetcher
		if s.Deps.Fetcher == nil {
			s.Deps.Fetcher = webfetch.New(webfetch.Policy{})
		}
		if o.plugins != nil {
			s.Deps.ImportPlugins = *o.plugins
			if s.Deps.ImportPlugins.WorkDir == "" {
				s.Deps.ImportPlugins.WorkDir = tb.TempDir()
			}
		}
	}
	if o.cacheSize > 0 {
		s.withCache(tb, o.cacheSize)
	}
	s.Service = s.Rebuild(tb, nil)
	if s.Cache != nil {
		ctx, cancel := context.WithCancel(context.Background())
		tb.Cleanup(cancel)
		if err := s.Service.StartCache(ctx); err != nil {
			tb.Fatal(err)
		}
	}
	if o.apiTokens != nil {
		s.serveAPI(tb, o.apiTokens)
	}
	return s
}

func (s *Setup) withCache(tb testing.TB, maxSize int64) {
	tb.Helper()
	c, err := cache.New(tb.TempDir(), maxSize, s.Deps.Log)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	s.Cache, s.Deps.Cache = c, c
}

// Rebuild returns a new service over the same engines, with change applied
// to a copy of Deps and Config first (nil: none): a second service with
// other limits, or other stores, sharing the repository and staging.
func (s *Setup) Rebuild(tb testing.TB, change func(*service.Deps, *service.Config)) *service.Service {
	tb.Helper()
	d, cfg := s.Deps, s.Config
	if change != nil {
		change(&d, &cfg)
	}
	svc, err := service.New(d, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return svc
}

// NewFS returns a filesystem store in a fresh temporary directory, and the
// directory.
func NewFS(tb testing.TB) (*filesystem.Store, string) {
	tb.Helper()
	dir := tb.TempDir()
	return newFS(tb, dir), dir
}

func newFS(tb testing.TB, dir string) *filesystem.Store {
	tb.Helper()
	fs, err := filesystem.New(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return fs
}
