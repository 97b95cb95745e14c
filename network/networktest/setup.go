package networktest

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"gorm.io/gorm"

	"imagestack/common/db/dbtest"
	"imagestack/network"
	"imagestack/network/api"
	netdb "imagestack/network/db"
	"imagestack/network/service"
	"imagestack/policy"
	"imagestack/policy/keystone/keystonetest"
	"imagestack/policy/policytest"
)

// The callers every setup has. With WithAPI the tokens "member", "reader",
// "other" and "admin" stand for them.
var (
	MemberCreds = keystonetest.Credentials("A", "member", "reader")
	ReaderCreds = keystonetest.Credentials("A", "reader")
	OtherCreds  = keystonetest.Credentials("B", "member", "reader")
	AdminCreds  = keystonetest.Credentials("Z", "admin", "member", "reader")
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
	enf := policytest.NewEnforcer(t, network.PolicyDefaults, cfg.policyYAML)
	s.Service = service.New(service.Deps{Repo: repo, Dataplane: s.Dataplane, Log: log, Quotas: cfg.quotas,
		Policy: policytest.DefinedRules(t, enf, network.PolicyDefaults, "Neutron")})
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
