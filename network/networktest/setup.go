package networktest

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"gorm.io/gorm"

	"imagestack/common/db/dbtest"
	"imagestack/network"
	"imagestack/network/api"
	netdb "imagestack/network/db"
	"imagestack/network/service"
	"imagestack/policy"
	"imagestack/policy/keystone/keystonetest"
)

// The callers every setup has. With WithAPI the tokens "member", "reader",
// "other" and "admin" stand for them.
var (
	MemberCreds = policy.Credentials{UserID: "u-A", ProjectID: "A", Roles: []string{"member", "reader"}}
	ReaderCreds = policy.Credentials{UserID: "u-A", ProjectID: "A", Roles: []string{"reader"}}
	OtherCreds  = policy.Credentials{UserID: "u-B", ProjectID: "B", Roles: []string{"member", "reader"}}
	AdminCreds  = policy.Credentials{UserID: "u-Z", ProjectID: "Z", Roles: []string{"admin", "member", "reader"}}
)

// Setup is a network service over a real repository (a fresh SQLite
// database unless WithDB), the in-memory dataplane and Neutron's default
// policy, and, with WithAPI, the network API serving it.
type Setup struct {
	Service   *service.Service
	Repo      *netdb.Repo
	Dataplane *Recorder
	// Server serves the network API (WithAPI only); its URL is the API's
	// public root.
	Server *httptest.Server
}

// Option changes what NewSetup builds.
type Option func(*config)

type config struct {
	gdb        *gorm.DB
	policyYAML string
	quotas     map[string]int
	api        bool
}

// WithDB runs the service over gdb instead of a fresh SQLite database.
func WithDB(gdb *gorm.DB) Option { return func(c *config) { c.gdb = gdb } }

// WithPolicy overrides Neutron's default rules with a policy file's YAML.
func WithPolicy(yaml string) Option { return func(c *config) { c.policyYAML = yaml } }

// WithQuotas sets the default limits (default: Neutron's).
func WithQuotas(q map[string]int) Option { return func(c *config) { c.quotas = q } }

// WithAPI serves the network API over the service in Setup.Server.
func WithAPI() Option { return func(c *config) { c.api = true } }

// NewSetup builds a network service for a test.
func NewSetup(t testing.TB, opts ...Option) *Setup {
	t.Helper()
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.gdb == nil {
		cfg.gdb = dbtest.OpenSQLite(t)
	}
	repo, err := netdb.New(cfg.gdb)
	if err != nil {
		t.Fatal(err)
	}
	s := &Setup{Repo: repo, Dataplane: NewRecorder()}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s.Service = service.New(service.Deps{Repo: repo, Dataplane: s.Dataplane, Policy: definedRules{t, enforcer(t, cfg.policyYAML)},
		Log: log, Quotas: cfg.quotas})
	if cfg.api {
		toks := keystonetest.Tokens{}
		for name, c := range map[string]policy.Credentials{"member": MemberCreds, "reader": ReaderCreds, "other": OtherCreds, "admin": AdminCreds} {
			toks[name] = keystonetest.Token(c.ProjectID, c.Roles...)
		}
		s.Server = httptest.NewServer(nil)
		s.Server.Config.Handler = api.New(s.Service, toks, s.Server.URL, "http://identity", log).Handler()
		t.Cleanup(s.Server.Close)
	}
	return s
}

// enforcer is Neutron's policy, with yaml's rules over the defaults.
func enforcer(t testing.TB, yaml string) *policy.Enforcer {
	t.Helper()
	path := ""
	if yaml != "" {
		path = filepath.Join(t.TempDir(), "policy.yaml")
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	enf, err := policy.NewEnforcer(path, network.PolicyDefaults)
	if err != nil {
		t.Fatal(err)
	}
	return enf
}

// definedRules fails the test when the service asks for a rule Neutron's
// defaults do not define.
type definedRules struct {
	t testing.TB
	e *policy.Enforcer
}

// Enforce implements service.Authorizer.
func (d definedRules) Enforce(rule string, target policy.Target, creds policy.Credentials) bool {
	if _, ok := d.e.Rules()[rule]; !ok {
		d.t.Errorf("the network service asked for rule %q, which Neutron's defaults do not define", rule)
	}
	return d.e.Enforce(rule, target, creds)
}

// DefaultNetwork makes the shared network "private" with subnet
// 10.0.0.0/24 (owned by the admin's project), as a first start does.
func (s *Setup) DefaultNetwork(t testing.TB) service.NetworkDetail {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Service.EnsureDefaultNetwork(ctx, service.DefaultNetwork{Name: "private", SubnetName: "private-subnet",
		CIDR: "10.0.0.0/24", ProjectID: AdminCreds.ProjectID}); err != nil {
		t.Fatal(err)
	}
	nets, err := s.Service.ListNetworks(ctx, AdminCreds)
	if err != nil || len(nets) == 0 {
		t.Fatalf("default network: %v %v", nets, err)
	}
	return nets[0]
}
