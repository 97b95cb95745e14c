// Command imagestack runs the identity, image and compute APIs in one process.
// It only wires things together: configuration, database, policy, services.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"imagestack/common/cluster"
	"imagestack/common/config"
	"imagestack/common/cors"
	"imagestack/common/db"
	"imagestack/common/reqid"
	"imagestack/compute"
	computeapi "imagestack/compute/api"
	computeservice "imagestack/compute/service"
	"imagestack/glance"
	glanceapi "imagestack/glance/api"
	glanceservice "imagestack/glance/service"
	"imagestack/network"
	networkapi "imagestack/network/api"
	networkservice "imagestack/network/service"
	"imagestack/policy"
	"imagestack/policy/keystone"
)

func main() {
	configPath := flag.String("config", "", "configuration file (YAML); default etc/imagestack.yaml when it exists")
	flag.Parse()
	oneMoreProc()
	if *configPath == "" {
		if _, err := os.Stat("etc/imagestack.yaml"); err == nil {
			*configPath = "etc/imagestack.yaml"
		}
	}
	var err error
	if flag.Arg(0) == "manage" {
		err = manage(*configPath, flag.Args()[1:])
	} else {
		err = run(*configPath)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "imagestack:", err)
		os.Exit(1)
	}
}

// oneMoreProc runs Go code on one more thread than the CPUs available (Go's
// default), unless GOMAXPROCS is set. An upload hashes on two CPU-bound
// goroutines (md5 and sha512); with one spare P, the goroutines that read
// the socket and write the disk run as soon as they are woken instead of
// waiting up to 10 ms for a hasher to be preempted. Measured on 2 CPUs:
// 1 GiB uploads about 10 % faster, with the same CPU time.
func oneMoreProc() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1)
	}
}

// policyDefaults are the families' default rules, in the order the sample
// policy file lists them.
var policyDefaults = [][]policy.Rule{glance.PolicyDefaults, compute.PolicyDefaults, network.PolicyDefaults, keystone.Defaults}

func newLogger(cfg config.Config) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.Log.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewJSONHandler(os.Stderr, opts)
	if cfg.Log.Format == "text" {
		h = slog.NewTextHandler(os.Stderr, opts)
	}
	// Lines logged with a request's context name its request ids.
	return slog.New(reqid.Handler(h))
}

// run serves this process's roles until a signal or a listener's failure.
func run(configPath string) error {
	cfg, err := config.Load(configPath)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runRoles(ctx, cfg, newLogger(cfg))
}

// runRoles serves cfg's roles until ctx ends or a listener fails: the APIs
// in the api role, the console proxy and this host's VMs in the compute
// role. The deferred stops end compute, then imports, then release the
// ports.
func runRoles(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	// Bind every port before touching state, so a port already in use (say,
	// another instance) fails start-up before clouds.yaml is rewritten.
	listeners, err := listenAll(listenAddrs(cfg))
	if err != nil {
		return err
	}
	defer closeAll(listeners)
	member := newMember(cfg, listeners)
	log.Info("starting", "member", member.Name, "roles", member.Roles, "host", member.Host)
	if err := os.MkdirAll(cfg.StateDir, 0o750); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	enforcer, err := startPolicy(ctx, cfg, log)
	if err != nil {
		return err
	}
	gdb, err := db.Open(ctx, cfg.Database.DSN)
	if err != nil {
		return err
	}
	identity, err := startIdentityMode(ctx, cfg, gdb, enforcer, log)
	if err != nil {
		return err
	}
	imageService, waitImports, err := startImages(ctx, cfg, gdb, enforcer, imageLimits(cfg, identity.limits), member, log)
	defer waitImports()
	if err != nil {
		return err
	}
	networkService, err := startNetwork(ctx, cfg, gdb, enforcer, identity.owner, log)
	if err != nil {
		return err
	}
	computeDeps := computeservice.Deps{Images: localImages{imageService}, Projects: identity.projects, Networks: networkService.ForCompute(),
		UnifiedLimits: computeLimits(cfg, identity.limits), Member: member, Timing: timing(cfg), OnDecision: countDecision}
	proxy, stopConsoles, err := startConsoles(cfg, &computeDeps, log)
	defer stopConsoles()
	if err != nil {
		return err
	}
	computeService, stopCompute, err := startCompute(ctx, cfg, gdb, enforcer, computeDeps, imageService.DefaultBlobStore(), log)
	defer stopCompute()
	if err != nil {
		return err
	}
	handlers := map[string]http.Handler{}
	if member.Has(cluster.RoleAPI) {
		handlers = apiHandlers(cfg, log, identity, imageService, computeService, networkService)
		withCORS(cfg.CORS, handlers)
	}
	consoleHandler(handlers, proxy, computeService)
	observe(handlers, newHealth(gdb, log), gdb, log)
	return serveAll(ctx, log, listeners, handlers)
}

// apiHandlers are the HTTP APIs of the services, by listener name (no
// identity API in external identity mode).
func apiHandlers(cfg config.Config, log *slog.Logger, identity identityParts, images *glanceservice.Service,
	compute *computeservice.Service, network *networkservice.Service) map[string]http.Handler {
	identityURL, tokens := identity.challengeURI, identity.tokens
	return map[string]http.Handler{
		"identity": identity.handler,
		"image":    glanceapi.New(images, tokens, cfg.Image.PublicURL, identityURL, log).Handler(),
		"compute":  computeapi.New(compute, tokens, cfg.Compute.PublicURL, cfg.Image.PublicURL, identityURL, log).Handler(),
		"network":  networkapi.New(network, tokens, cfg.Network.PublicURL, identityURL, log).Handler(),
	}
}

// withCORS wraps each API's handler (not the console's) in the CORS layer,
// outside everything else: browsers send preflights without a token, so they
// are answered before authentication.
func withCORS(c cors.Config, handlers map[string]http.Handler) {
	for _, name := range []string{"identity", "image", "compute", "network"} {
		if h, ok := handlers[name]; ok {
			handlers[name] = c.Wrap(h)
		}
	}
}

// startPolicy loads the policy file over the families' defaults and
// follows its changes while ctx lasts.
func startPolicy(ctx context.Context, cfg config.Config, log *slog.Logger) (*policy.Enforcer, error) {
	enforcer, err := policy.NewEnforcer(cfg.Policy.File, policyDefaults...)
	if err != nil {
		return nil, err
	}
	if cfg.Policy.File != "" {
		go enforcer.Watch(ctx, cfg.Policy.ReloadInterval.Std(), log)
	}
	return enforcer, nil
}
