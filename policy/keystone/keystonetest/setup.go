package keystonetest

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"imagestack/common/db/dbtest"
	"imagestack/policy"
	"imagestack/policy/keystone"
	"imagestack/policy/keystone/api"
	keystonedb "imagestack/policy/keystone/db"
)

// Passwords are the bootstrap passwords of the default accounts in a Setup.
var Passwords = map[string]string{"admin": "adminpw", "demo": "demopw"}

// Admin is a caller with the admin role on the admin project, whom the
// default identity policy lets do everything.
var Admin = policy.Credentials{UserID: "admin-user", ProjectID: "admin-project", ProjectDomainID: keystone.DefaultDomainID,
	Roles: []string{"admin", "member", "reader"}}

// Setup is an identity service on a fresh SQLite database, built by NewSetup.
type Setup struct {
	// Service is the identity service, enforcing the default identity policy.
	Service *keystone.Service
	// Repo is the database behind the service, without any WithRepository
	// wrapper, for looking behind the service's back.
	Repo keystone.Repository
	// Config is the service's configuration as given to keystone.New.
	Config keystone.Config
	// Now is the service's clock: tests move time by setting it.
	Now time.Time
	// URL is the root of the identity API (WithAPI only).
	URL string
	// Ctx is the context of the test.
	Ctx context.Context
}

type options struct {
	config    []func(*keystone.Config)
	wrap      func(keystone.Repository) keystone.Repository
	bootstrap bool
	api       bool
}

// Option changes what NewSetup builds.
type Option func(*options)

// WithConfig changes the service configuration before the service is built.
func WithConfig(change func(*keystone.Config)) Option {
	return func(o *options) { o.config = append(o.config, change) }
}

// WithRepository puts wrap around the database the service uses (to inject
// failures); Setup.Repo stays the database itself.
func WithRepository(wrap func(keystone.Repository) keystone.Repository) Option {
	return func(o *options) { o.wrap = wrap }
}

// WithoutBootstrap leaves the database empty instead of bootstrapping the
// default domain, roles and the admin and demo accounts.
func WithoutBootstrap() Option { return func(o *options) { o.bootstrap = false } }

// WithAPI serves the identity API on a test server whose root is Setup.URL.
func WithAPI() Option { return func(o *options) { o.api = true } }

// NewSetup builds an identity service for a test: SQLite, the default
// policy, a catalog with an identity and an image service, a fake clock at
// 2026-01-02T03:04:05Z, a quick password hash, and (unless WithoutBootstrap)
// the default accounts with Passwords.
func NewSetup(t testing.TB, opts ...Option) *Setup {
	t.Helper()
	o := options{bootstrap: true}
	for _, opt := range opts {
		opt(&o)
	}
	repo, err := keystonedb.New(dbtest.OpenSQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	enforcer, err := policy.NewEnforcer("", keystone.Defaults)
	if err != nil {
		t.Fatal(err)
	}
	s := &Setup{Repo: repo, Config: defaultConfig(), Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Ctx: context.Background()}
	for _, change := range o.config {
		change(&s.Config)
	}
	var used keystone.Repository = repo
	if o.wrap != nil {
		used = o.wrap(repo)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s.Service = keystone.New(used, enforcer, s.Config, log)
	s.Service.SetClock(func() time.Time { return s.Now })
	if o.bootstrap {
		if _, err := s.Service.BootstrapFirstStart(s.Ctx, keystone.DefaultAccounts, Passwords); err != nil {
			t.Fatal(err)
		}
	}
	if o.api {
		srv := httptest.NewServer(nil)
		srv.Config.Handler = api.New(s.Service, srv.URL, log).Handler()
		t.Cleanup(srv.Close)
		s.URL = srv.URL
	}
	return s
}

func defaultConfig() keystone.Config {
	all := func(u string) map[string]string { return map[string]string{"public": u, "internal": u, "admin": u} }
	return keystone.Config{TokenTTL: time.Hour, PasswordIterations: 1000, Services: []keystone.CatalogService{
		{Type: "identity", Name: "keystone", URLs: all("http://id/v3")},
		{Type: "image", Name: "glance", URLs: all("http://img")},
	}}
}
