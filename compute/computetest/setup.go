package computetest

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"imagestack/common/cluster"
	"imagestack/common/db/dbtest"
	"imagestack/compute"
	"imagestack/compute/api"
	"imagestack/compute/console"
	computedb "imagestack/compute/db"
	"imagestack/compute/imagecache"
	"imagestack/compute/service"
	"imagestack/policy/keystone/keystonetest"
	"imagestack/policy/policytest"
)

// The callers every setup has: a member of project A and an admin of
// project Z. With WithAPI the tokens "member" and "admin" stand for them.
var (
	MemberCreds = keystonetest.Credentials("A", "member", "reader")
	AdminCreds  = keystonetest.Credentials("Z", "admin", "member", "reader")
)

// Setup is a compute service over a real repository (a fresh SQLite
// database unless WithDB), the fake hypervisor and image service, Nova's
// default flavors and policy, and, with WithAPI, the compute API serving it.
type Setup struct {
	Service    *service.Service
	Hypervisor *Hypervisor // nil WithoutHypervisor
	Images     *Images
	Repo       *computedb.Repo
	Cache      *imagecache.Cache
	// Member and Admin are the callers of MemberCreds and AdminCreds.
	Member, Admin service.Caller
	// Server serves the compute API (WithAPI only); its URL is the API's
	// public root, so links point back at it.
	Server *httptest.Server
	Log    *slog.Logger
	// Drives records the config drives built (WithConfigDrives only).
	Drives *Drives
	// Consoles is the console proxy and ConsoleServer serves its pages and
	// websockets (WithConsoles only).
	Consoles      *console.Proxy
	ConsoleServer *httptest.Server
	// StopRenewing stops the renewal of the service's leases on server
	// tasks, as the death of its process would (they expire after the
	// lease TTL).
	StopRenewing context.CancelFunc
	// Hosts are the fake compute hosts (WithHosts only).
	Hosts *Hosts
}

// Drives records config drive builds.
type Drives struct {
	mu    sync.Mutex
	built map[string]DriveBuild
}

// DriveBuild is one config drive build: the server as given and the
// password.
type DriveBuild struct {
	Path      string
	Server    compute.Server
	AdminPass string
}

func (d *Drives) build(_ context.Context, dst string, sv *compute.Server, adminPass string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.built == nil {
		d.built = map[string]DriveBuild{}
	}
	d.built[sv.ID] = DriveBuild{Path: dst, Server: *sv, AdminPass: adminPass}
	return os.WriteFile(dst, []byte("config-2"), 0o600)
}

// Last returns the last config drive built for a server.
func (d *Drives) Last(id string) (DriveBuild, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	b, ok := d.built[id]
	return b, ok
}

// Option changes what NewSetup builds.
type Option func(*config)

type config struct {
	gdb          *gorm.DB
	quotas       service.Quotas
	limits       compute.Limits
	policyYAML   string
	projects     compute.Projects
	noHypervisor bool
	wrapServers  func(compute.ServerRepository) compute.ServerRepository
	api          bool
	log          *slog.Logger
	networks     *Networks
	drives       bool
	forceDrive   bool
	consoles     *console.Config
	offloadTime  int
	reclaim      time.Duration
	lazy         service.LazyBases
	member       string
	leaseTTL     time.Duration
	hosts        []string
	timing       cluster.Timing
	scheduler    service.SchedulerConfig
	noHost       bool
	onDecision   func(service.Decision)
}

// WithDB runs the service over gdb instead of a fresh SQLite database.
func WithDB(gdb *gorm.DB) Option { return func(c *config) { c.gdb = gdb } }

// WithQuotas sets the project quotas (default: Nova's).
func WithQuotas(q service.Quotas) Option { return func(c *config) { c.quotas = q } }

// WithUnifiedLimits reads quotas from unified limits (Nova's UnifiedLimitsDriver).
func WithUnifiedLimits(l compute.Limits) Option { return func(c *config) { c.limits = l } }

// WithPolicy overrides Nova's default rules with a policy file's YAML.
func WithPolicy(yaml string) Option { return func(c *config) { c.policyYAML = yaml } }

// WithProjects makes flavor access check project ids against p.
func WithProjects(p compute.Projects) Option { return func(c *config) { c.projects = p } }

// WithLog gives the service l instead of a logger that discards.
func WithLog(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithNetworks gives servers NICs from n.
func WithNetworks(n *Networks) Option { return func(c *config) { c.networks = n } }

// WithConfigDrives makes the service build config drives (recorded in
// Setup.Drives; every server gets one when force is true).
func WithConfigDrives(force bool) Option {
	return func(c *config) { c.drives, c.forceDrive = true, force }
}

// WithoutHypervisor builds a host without a hypervisor, as when libvirt is
// unreachable at start-up.
func WithoutHypervisor() Option { return func(c *config) { c.noHypervisor = true } }

// WithServers puts wrap's repository between the service and the servers
// table (to inject failures).
func WithServers(wrap func(compute.ServerRepository) compute.ServerRepository) Option {
	return func(c *config) { c.wrapServers = wrap }
}

// WithConsoles gives the service a console proxy made of cfg (its public
// URL: ConsoleServer's) and serves it in Setup.ConsoleServer.
func WithConsoles(cfg console.Config) Option { return func(c *config) { c.consoles = &cfg } }

// WithShelvedOffloadTime sets compute.shelved_offload_time (default 0:
// shelved servers are offloaded at once).
func WithShelvedOffloadTime(seconds int) Option { return func(c *config) { c.offloadTime = seconds } }

// WithReclaimInterval soft-deletes servers, reclaimed after d (Nova's
// reclaim_instance_interval).
func WithReclaimInterval(d time.Duration) Option { return func(c *config) { c.reclaim = d } }

// WithLazyBases lets servers boot from bases still arriving, through l.
func WithLazyBases(l service.LazyBases) Option { return func(c *config) { c.lazy = l } }

// WithMember names the member the service is in the deployment (default
// "computetest": setups on one database are runs of one member, a later
// one a restart of an earlier one).
func WithMember(name string) Option { return func(c *config) { c.member = name } }

// WithLeaseTTL sets the lease TTL of server tasks (default 30 s).
func WithLeaseTTL(d time.Duration) Option { return func(c *config) { c.leaseTTL = d } }

// WithHosts runs the service over a deployment of fake compute hosts of
// those names (Setup.Hosts; Setup.Hypervisor is the first host's), each
// with its nova-compute service registered.
func WithHosts(names ...string) Option { return func(c *config) { c.hosts = names } }

// WithTiming sets when a silent compute host is down.
func WithTiming(t cluster.Timing) Option { return func(c *config) { c.timing = t } }

// WithScheduler tunes placement.
func WithScheduler(sc service.SchedulerConfig) Option { return func(c *config) { c.scheduler = sc } }

// WithDecisions makes the scheduler report each placement to fn.
func WithDecisions(fn func(service.Decision)) Option { return func(c *config) { c.onDecision = fn } }

// WithoutHost registers no compute host for the fake hypervisor (tests
// register their own with RegisterHost).
func WithoutHost() Option { return func(c *config) { c.noHost = true } }

// WithAPI serves the compute API over the service in Setup.Server.
func WithAPI() Option { return func(c *config) { c.api = true } }

// NewSetup builds a compute service for a test; background work ends
// before the test's other cleanups run.
func NewSetup(t testing.TB, opts ...Option) *Setup {
	t.Helper()
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.gdb == nil {
		cfg.gdb = dbtest.OpenSQLite(t)
	}
	s := &Setup{Images: &Images{}, Log: cfg.log}
	if s.Log == nil {
		s.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	repo, err := computedb.New(cfg.gdb)
	if err != nil {
		t.Fatal(err)
	}
	s.Repo = repo
	cache, err := imagecache.New(t.TempDir(), s.Log)
	if err != nil {
		t.Fatal(err)
	}
	deps := service.Deps{Flavors: repo, Servers: repo, KeyPairs: repo, Actions: repo, Migrations: repo, HostServices: repo, QuotaStore: repo, Groups: repo, Images: s.Images, Cache: cache,
		Projects: cfg.projects, Quotas: cfg.quotas, UnifiedLimits: cfg.limits, SnapshotDir: t.TempDir(), ShelvedOffloadTime: cfg.offloadTime,
		ReclaimInterval: cfg.reclaim, LazyBases: cfg.lazy, Aggregates: repo, Nodes: repo, Timing: cfg.timing, Scheduler: cfg.scheduler,
		OnDecision: cfg.onDecision}
	s.Cache = cache
	if cfg.networks != nil {
		deps.Networks = cfg.networks
	}
	setMember(&deps, cfg, repo)
	if cfg.drives {
		s.Drives = &Drives{}
		deps.BuildConfigDrive, deps.ConfigDriveDir, deps.ForceConfigDrive = s.Drives.build, t.TempDir(), cfg.forceDrive
	}
	switch {
	case len(cfg.hosts) > 0:
		s.withHosts(t, &deps, cfg.hosts)
	case !cfg.noHypervisor:
		s.Hypervisor = NewHypervisor()
		deps.Hypervisor = s.Hypervisor
		t.Cleanup(s.Hypervisor.CloseConsoles)
	}
	if cfg.consoles != nil {
		deps.Consoles = s.serveConsoles(t, *cfg.consoles, deps.Hypervisor)
	}
	if cfg.wrapServers != nil {
		deps.Servers = cfg.wrapServers(deps.Servers)
	}
	s.Service = service.New(deps, DefinedRules(t, policytest.NewEnforcer(t, compute.PolicyDefaults, cfg.policyYAML)), s.Log)
	t.Cleanup(s.Service.Wait)
	renewing, stop := context.WithCancel(context.Background())
	s.StopRenewing = stop
	go s.Service.RenewTaskLeases(renewing)
	t.Cleanup(stop)
	if err := s.Service.EnsureDefaultFlavors(context.Background(), compute.DefaultFlavors); err != nil {
		t.Fatal(err)
	}
	s.Member, s.Admin = s.Service.NewCaller(MemberCreds), s.Service.NewCaller(AdminCreds)
	if !cfg.noHypervisor && !cfg.noHost {
		host, _ := os.Hostname()
		RegisterHost(t, repo, Host{Name: host})
	}
	if cfg.api {
		s.serveAPI(t)
	}
	return s
}

// setMember makes the service a member of a deployment with leases on
// server tasks.
func setMember(deps *service.Deps, cfg config, leases compute.TaskLeaseRepository) {
	name := cfg.member
	if name == "" {
		name = "computetest"
	}
	// The member runs on the machine, the host the fake hypervisor is
	// registered as (service.New makes Deps.Host and Member.Host one).
	deps.Member, deps.TaskLeases = cluster.NewMember(name, "", nil), leases
	if deps.Timing == (cluster.Timing{}) { // WithTiming's, else the defaults
		deps.Timing = cluster.DefaultTiming
	}
	if cfg.leaseTTL > 0 {
		deps.Timing.LeaseTTL = cfg.leaseTTL
	}
}

// withHosts wires a Hosts deployment into deps and registers its hosts.
func (s *Setup) withHosts(t testing.TB, deps *service.Deps, names []string) {
	s.Hosts = NewHosts(s.Repo, names...)
	s.Hypervisor = s.Hosts.Host(names[0])
	deps.Hypervisor, deps.Destinations, deps.HostStates, deps.HostHypervisors = s.Hosts.Router(), s.Hosts, s.Hosts, s.Hosts
	for _, n := range names {
		t.Cleanup(s.Hosts.Host(n).CloseConsoles)
		if _, err := s.Repo.EnsureHostService(context.Background(), n, compute.BinaryCompute, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
}

// PlaceOn records that a server runs on host (the scheduler's part), whose
// fake hypervisor must hold its VM: the first host's, for a server booted
// by the router before it had a host.
func (s *Setup) PlaceOn(t testing.TB, id, host string) {
	t.Helper()
	sv := s.Get(t, id)
	sv.Host, sv.Node = host, host+".node"
	if err := s.Repo.UpdateServer(context.Background(), sv); err != nil {
		t.Fatal(err)
	}
}

func (s *Setup) serveAPI(t testing.TB) {
	// keystonetest's tokens are of user "u-<project>", as the credentials.
	toks := keystonetest.Tokens{"member": keystonetest.Token(MemberCreds.ProjectID, MemberCreds.Roles...),
		"admin": keystonetest.Token(AdminCreds.ProjectID, AdminCreds.Roles...)}
	s.Server = httptest.NewServer(nil)
	s.Server.Config.Handler = api.New(s.Service, toks, s.Server.URL, "http://image", "http://identity", s.Log).Handler()
	t.Cleanup(s.Server.Close)
}

// serveConsoles starts the console proxy's server.
func (s *Setup) serveConsoles(t testing.TB, cfg console.Config, hv compute.Hypervisor) *console.Proxy {
	s.ConsoleServer = httptest.NewServer(nil)
	t.Cleanup(s.ConsoleServer.Close)
	if cfg.PublicURL == "" {
		cfg.PublicURL = s.ConsoleServer.URL
	}
	p, err := console.New(cfg, s.Log)
	if err != nil {
		t.Fatal(err)
	}
	s.Consoles = p
	s.ConsoleServer.Config.Handler = p.Handler(hv)
	t.Cleanup(p.Close)
	return p
}

// Boot creates one m1.nano server of the image "img" for c and waits for
// its boot to end.
func (s *Setup) Boot(t testing.TB, c service.Caller) *compute.Server {
	t.Helper()
	res, err := s.Service.Create(context.Background(), c, service.CreateRequest{Name: "vm", ImageRef: "img", FlavorRef: "42", MinCount: 1, MaxCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	s.Service.Wait()
	return s.Get(t, res.Servers[0].ID)
}

// Get reads a server as stored, deleted ones included.
func (s *Setup) Get(t testing.TB, id string) *compute.Server {
	t.Helper()
	sv, err := s.Repo.GetServer(context.Background(), id)
	if err != nil {
		t.Fatalf("server %s: %v", id, err)
	}
	return sv
}

// WaitTask waits until a server's task_state is task.
func (s *Setup) WaitTask(t testing.TB, id, task string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		sv := s.Get(t, id)
		if sv.TaskState == task {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("task_state %q never reached (now %+v)", task, sv)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
