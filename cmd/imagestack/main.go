// Command imagestack runs the identity, image and compute APIs in one process.
// It only wires things together: configuration, database, policy, services.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"imagestack/common/config"
	"imagestack/common/db"
	computeapi "imagestack/compute/api"
	glanceapi "imagestack/glance/api"
	"imagestack/policy"
	"imagestack/policy/keystone"
	identityapi "imagestack/policy/keystone/api"
	"imagestack/policy/keystone/sqlstore"
)

func main() {
	configPath := flag.String("config", "", "configuration file (YAML); default etc/imagestack.yaml when it exists")
	flag.Parse()
	if *configPath == "" {
		if _, err := os.Stat("etc/imagestack.yaml"); err == nil {
			*configPath = "etc/imagestack.yaml"
		}
	}
	if err := run(*configPath); err != nil {
		fmt.Fprintln(os.Stderr, "imagestack:", err)
		os.Exit(1)
	}
}

func newLogger(cfg config.Config) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.Log.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}

func run(configPath string) error {
	cfg, err := config.Load(configPath)
	if err != nil {
		return err
	}
	log := newLogger(cfg)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := os.MkdirAll(cfg.StateDir, 0o750); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	enforcer, err := policy.NewEnforcer(cfg.Policy.File, policy.GlanceDefaults, policy.NovaDefaults, keystone.Defaults)
	if err != nil {
		return err
	}
	if cfg.Policy.File != "" {
		go enforcer.Watch(ctx, cfg.Policy.ReloadInterval.Std(), log)
	}

	gdb, err := db.Open(ctx, cfg.Database.DSN)
	if err != nil {
		return err
	}
	store, err := sqlstore.New(gdb)
	if err != nil {
		return err
	}
	identity := keystone.NewService(store, keystone.Config{
		TokenTTL: cfg.Identity.TokenExpiration.Std(),
		Region:   cfg.Identity.Region,
		Services: []keystone.CatalogService{
			{Type: "identity", Name: "keystone", URLs: sameURL(cfg.Identity.PublicURL + "/v3")},
			{Type: "image", Name: "glance", URLs: sameURL(cfg.Image.PublicURL)},
			{Type: "compute", Name: "nova", URLs: sameURL(cfg.Compute.PublicURL + "/v2.1")},
		},
	}, log)
	go identity.RunJanitor(ctx, 10*time.Minute)

	names := make([]string, len(keystone.DefaultAccounts))
	for i, a := range keystone.DefaultAccounts {
		names[i] = a.Name
	}
	passwords, err := keystone.LoadOrCreatePasswords(filepath.Join(cfg.StateDir, "bootstrap-passwords.json"), names)
	if err != nil {
		return fmt.Errorf("bootstrap passwords: %w", err)
	}
	if err := identity.Bootstrap(ctx, keystone.DefaultAccounts, passwords); err != nil {
		return err
	}
	clouds := filepath.Join(cfg.StateDir, "clouds.yaml")
	if err := keystone.WriteCloudsYAML(clouds, cfg.Identity.PublicURL+"/v3", cfg.Identity.Region, keystone.DefaultAccounts, passwords); err != nil {
		return fmt.Errorf("write clouds.yaml: %w", err)
	}
	abs, _ := filepath.Abs(clouds)
	fmt.Printf("clouds.yaml written to %s\n  try: OS_CLIENT_CONFIG_FILE=%s OS_CLOUD=demo openstack image list\n", abs, abs)

	identityURL := cfg.Identity.PublicURL
	servers := []*server{
		{name: "identity", addr: cfg.Identity.Listen, handler: identityapi.New(identity, enforcer, cfg.Identity.PublicURL, log).Handler()},
		{name: "image", addr: cfg.Image.Listen, handler: glanceapi.New(identity, enforcer, cfg.Image.PublicURL, identityURL, log).Handler()},
		{name: "compute", addr: cfg.Compute.Listen, handler: computeapi.New(identity, enforcer, cfg.Compute.PublicURL, identityURL, log).Handler()},
	}
	return serveAll(ctx, log, servers)
}

func sameURL(u string) map[string]string {
	return map[string]string{"public": u, "internal": u, "admin": u}
}

type server struct {
	name, addr string
	handler    http.Handler
}

// serveAll binds every listener first (so a port conflict fails start-up
// before anything is served), then serves until ctx ends.
func serveAll(ctx context.Context, log *slog.Logger, servers []*server) error {
	var lns []net.Listener
	for _, s := range servers {
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return fmt.Errorf("%s API: %w", s.name, err)
		}
		lns = append(lns, ln)
	}
	errc := make(chan error, len(servers))
	var https []*http.Server
	for i, s := range servers {
		hs := &http.Server{Handler: s.handler, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		https = append(https, hs)
		log.Info("listening", "api", s.name, "addr", lns[i].Addr().String())
		go func(ln net.Listener) { errc <- hs.Serve(ln) }(lns[i])
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, hs := range https {
		_ = hs.Shutdown(shutdown)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}
