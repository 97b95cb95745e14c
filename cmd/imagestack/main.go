// Command imagestack runs the identity, image and compute APIs in one process.
// It only wires things together: configuration, database, policy, services.
package main

import (
	"cmp"
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
	"runtime"
	"syscall"
	"time"

	"imagestack/common/config"
	"imagestack/common/db"
	"imagestack/compute"
	computeapi "imagestack/compute/api"
	computedb "imagestack/compute/db"
	"imagestack/compute/imagecache"
	computelibvirt "imagestack/compute/libvirt"
	computeservice "imagestack/compute/service"
	glanceapi "imagestack/glance/api"
	glancedb "imagestack/glance/db"
	glanceservice "imagestack/glance/service"
	"imagestack/glance/webfetch"
	"imagestack/policy"
	"imagestack/policy/keystone"
	identityapi "imagestack/policy/keystone/api"
	"imagestack/policy/keystone/sqlstore"
	"imagestack/storage"
	"imagestack/storage/filesystem"
	s3store "imagestack/storage/s3"
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

	// Bind every port before touching state, so a port already in use (say,
	// another instance) fails start-up before clouds.yaml is rewritten.
	listeners, err := listenAll(map[string]string{"identity": cfg.Identity.Listen, "image": cfg.Image.Listen, "compute": cfg.Compute.Listen})
	if err != nil {
		return err
	}
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
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
		// Keystone's [security_compliance] lockout (0 attempts = off).
		LockoutFailureAttempts: cfg.Identity.LockoutFailureAttempts,
		LockoutDuration:        cfg.Identity.LockoutDuration.Std(),
		Services: []keystone.CatalogService{
			{Type: "identity", Name: "keystone", URLs: sameURL(cfg.Identity.PublicURL + "/v3")},
			{Type: "image", Name: "glance", URLs: sameURL(cfg.Image.PublicURL)},
			{Type: "compute", Name: "nova", URLs: sameURL(cfg.Compute.PublicURL + "/v2.1")},
		},
	}, log)
	go identity.RunJanitor(ctx, 10*time.Minute)

	passwords, err := bootstrapPasswords(cfg)
	if err != nil {
		return err
	}
	// Only an empty identity database is bootstrapped: later starts keep what
	// the operator deleted deleted (`imagestack manage bootstrap` restores it).
	if done, err := identity.BootstrapFirstStart(ctx, keystone.DefaultAccounts, passwords); err != nil {
		return err
	} else if done {
		log.Info("identity bootstrapped: default domain, roles, admin and demo accounts created")
	}
	if err := writeClouds(cfg, passwords); err != nil {
		return err
	}

	images, err := glancedb.New(gdb)
	if err != nil {
		return err
	}
	imageDeps := glanceservice.Deps{Repository: images, Tasks: images, Policy: enforcer, Log: log}
	if len(cfg.Image.Stores) > 0 {
		if imageDeps.Stores, err = openStores(ctx, cfg); err != nil {
			return err
		}
		imageDeps.DefaultStore = cfg.Image.DefaultStore
	} else if imageDeps.Store, err = openStore(ctx, cfg); err != nil {
		return err
	}
	if imageDeps.Staging, err = filesystem.New(filepath.Join(cfg.StateDir, "staging")); err != nil {
		return err
	}
	allowed, err := glanceservice.AllowedNetworksFromStrings(cfg.Image.WebDownload.AllowedNetworks)
	if err != nil {
		return err
	}
	imageDeps.Fetcher = webfetch.New(webfetch.Policy{AllowedNetworks: allowed, MaxRedirects: cfg.Image.WebDownload.MaxRedirects,
		IdleTimeout: cfg.Image.WebDownload.IdleTimeout.Std()})
	imageService, err := glanceservice.New(imageDeps, glanceservice.Config{SizeCap: cfg.Image.SizeCap,
		MaxConcurrentUploads: cfg.Image.MaxConcurrentUploads, UploadIdleTimeout: cfg.Image.UploadIdleTimeout.Std(),
		AllowFormatMismatch: !cfg.Image.RequireFormatMatch})
	if err != nil {
		return err
	}
	defer imageService.WaitImports()
	if n, err := imageService.RecoverInterrupted(ctx); err != nil {
		return fmt.Errorf("recover interrupted uploads: %w", err)
	} else if n > 0 {
		log.Warn("returned images interrupted mid-upload to queued", "count", n)
	}

	computeRepo, err := computedb.New(gdb)
	if err != nil {
		return err
	}
	cache, err := imagecache.New(filepath.Join(cfg.StateDir, "compute", "base"), log)
	if err != nil {
		return err
	}
	deps := computeservice.Deps{Flavors: computeRepo, Servers: computeRepo, KeyPairs: computeRepo, Images: localImages{imageService}, Cache: cache,
		Projects: keystoneProjects{store}, SnapshotDir: filepath.Join(cfg.StateDir, "compute", "snapshots")}
	if hv, err := computelibvirt.New(computelibvirt.Config{URI: cfg.Compute.LibvirtURI, VirtType: cfg.Compute.VirtType,
		Dir: filepath.Join(cfg.StateDir, "compute", "instances")}); err != nil {
		log.Warn("libvirt is not reachable: servers cannot be created", "uri", cfg.Compute.LibvirtURI, "err", err)
	} else {
		deps.Hypervisor = hv
		defer hv.Close()
	}
	computeService := computeservice.New(deps, enforcer, log)
	defer computeService.Shutdown()
	if err := computeService.Reconcile(ctx); err != nil {
		return fmt.Errorf("reconcile servers with libvirt: %w", err)
	}
	go computeService.WatchEvents(ctx)
	if err := computeService.EnsureDefaultFlavors(ctx, compute.DefaultFlavors); err != nil {
		return fmt.Errorf("default flavors: %w", err)
	}

	identityURL := cfg.Identity.PublicURL
	handlers := map[string]http.Handler{
		"identity": identityapi.New(identity, enforcer, cfg.Identity.PublicURL, log).Handler(),
		"image":    glanceapi.New(imageService, identity, cfg.Image.PublicURL, identityURL, log).Handler(),
		"compute":  computeapi.New(computeService, identity, cfg.Compute.PublicURL, cfg.Image.PublicURL, identityURL, log).Handler(),
	}
	return serveAll(ctx, log, listeners, handlers)
}

func sameURL(u string) map[string]string {
	return map[string]string{"public": u, "internal": u, "admin": u}
}

// listenAll binds every API's address; on any failure it releases the others.
func listenAll(addrs map[string]string) (map[string]net.Listener, error) {
	lns := map[string]net.Listener{}
	for name, addr := range addrs {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, fmt.Errorf("%s API: %w", name, err)
		}
		lns[name] = ln
	}
	return lns, nil
}

// serveAll serves each API on its listener until ctx ends or one fails.
func serveAll(ctx context.Context, log *slog.Logger, lns map[string]net.Listener, handlers map[string]http.Handler) error {
	errc := make(chan error, len(lns))
	var servers []*http.Server
	for name, ln := range lns {
		hs := &http.Server{Handler: handlers[name], ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		servers = append(servers, hs)
		log.Info("listening", "api", name, "addr", ln.Addr().String())
		go func(ln net.Listener) { errc <- hs.Serve(ln) }(ln)
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, hs := range servers {
		_ = hs.Shutdown(shutdown)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// openStore opens the configured single image data store.
func openStore(ctx context.Context, cfg config.Config) (storage.Store, error) {
	if cfg.Image.Store == "s3" {
		return openS3(ctx, cfg.Image.S3)
	}
	return filesystem.New(cfg.Image.FilesystemDir)
}

func openS3(ctx context.Context, c config.S3Config) (*s3store.Store, error) {
	return s3store.New(ctx, s3store.Config{Endpoint: c.Endpoint, Bucket: c.Bucket, AccessKey: c.AccessKey, SecretKey: c.SecretKey,
		Region: c.Region, UseTLS: c.UseTLS, CreateBucket: c.CreateBucket, PartSize: c.PartSize, Concurrency: c.Concurrency, MaxRetries: c.MaxRetries,
		Timeout: c.Timeout.Std()})
}

// openStores opens image.stores, with what /v2/info/stores/detail shows.
func openStores(ctx context.Context, cfg config.Config) ([]glanceservice.Backend, error) {
	var out []glanceservice.Backend
	for _, sc := range cfg.Image.Stores {
		b := glanceservice.Backend{StoreInfo: glanceservice.StoreInfo{ID: sc.ID, Type: sc.Type, Description: sc.Description}}
		var err error
		switch sc.Type {
		case "s3":
			b.Store, err = openS3(ctx, sc.S3)
			b.Properties = map[string]any{"bucket": sc.S3.Bucket, "endpoint": sc.S3.Endpoint,
				"s3_store_large_object_chunk_size": cmp.Or(sc.S3.PartSize, 8<<20) >> 20, "s3_store_thread_pools": cmp.Or(sc.S3.Concurrency, 4)}
		default:
			b.Store, err = filesystem.New(sc.FilesystemDir)
			b.Properties = map[string]any{"data_dir": sc.FilesystemDir, "chunk_size": 1 << 20, "thin_provisioning": false}
		}
		if err != nil {
			return nil, fmt.Errorf("image store %s: %w", sc.ID, err)
		}
		out = append(out, b)
	}
	return out, nil
}
