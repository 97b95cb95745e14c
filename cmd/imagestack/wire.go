package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"gorm.io/gorm"

	"imagestack/common/cluster"
	"imagestack/common/config"
	"imagestack/compute"
	"imagestack/compute/configdrive"
	computedb "imagestack/compute/db"
	"imagestack/compute/hostrpc"
	"imagestack/compute/imagecache"
	computelibvirt "imagestack/compute/libvirt"
	computeservice "imagestack/compute/service"
	"imagestack/glance"
	glancecache "imagestack/glance/cache"
	glancedb "imagestack/glance/db"
	glanceservice "imagestack/glance/service"
	"imagestack/glance/webfetch"
	"imagestack/policy/keystone"
	keystonedb "imagestack/policy/keystone/db"
	"imagestack/storage"
	"imagestack/storage/filesystem"

	// Image store backends, opened by the type the configuration names
	// (filesystem, imported above for the staging area, registers "file").
	_ "imagestack/storage/s3"
)

// startIdentity opens the identity store and service, bootstraps an empty
// identity database and writes clouds.yaml.
func startIdentity(ctx context.Context, cfg config.Config, gdb *gorm.DB, authz keystone.Authorizer, log *slog.Logger) (
	*keystone.Service, keystone.Repository, error) {
	store, err := keystonedb.New(gdb)
	if err != nil {
		return nil, nil, err
	}
	identity := keystone.New(store, authz, keystone.Config{
		TokenTTL: cfg.Identity.TokenExpiration.Std(),
		Region:   cfg.Identity.Region,
		// Keystone's [security_compliance] lockout (0 attempts = off).
		LockoutFailureAttempts: cfg.Identity.LockoutFailureAttempts,
		LockoutDuration:        cfg.Identity.LockoutDuration.Std(),
		Services: []keystone.CatalogService{
			{Type: "identity", Name: "keystone", URLs: sameURL(cfg.Identity.PublicURL + "/v3")},
			{Type: "image", Name: "glance", URLs: sameURL(cfg.Image.PublicURL)},
			{Type: "compute", Name: "nova", URLs: sameURL(cfg.Compute.PublicURL + "/v2.1")},
			// Neutron publishes its root; clients add /v2.0.
			{Type: "network", Name: "neutron", URLs: sameURL(cfg.Network.PublicURL)},
		},
	}, log)
	go identity.RunJanitor(ctx, 10*time.Minute)

	passwords, err := bootstrapPasswords(cfg)
	if err != nil {
		return nil, nil, err
	}
	// Only an empty identity database is bootstrapped: later starts keep what
	// the operator deleted deleted (`imagestack manage bootstrap` restores it).
	if done, err := identity.BootstrapFirstStart(ctx, keystone.DefaultAccounts, passwords); err != nil {
		return nil, nil, err
	} else if done {
		log.Info("identity bootstrapped: default domain, roles, admin and demo accounts created")
	}
	return identity, store, writeClouds(cfg, passwords)
}

func sameURL(u string) map[string]string {
	return map[string]string{"public": u, "internal": u, "admin": u}
}

// startImages builds the image service on the configured stores, with
// imports, running as member me: it recovers the work in flight that an
// earlier run of me left, and any whose owner's lease expired, then keeps
// renewing me's leases and recovering expired ones. wait, never nil, waits
// for the imports in progress.
func startImages(ctx context.Context, cfg config.Config, gdb *gorm.DB, authz glanceservice.Authorizer, limits glance.Limits,
	me cluster.Member, log *slog.Logger) (svc *glanceservice.Service, wait func(), err error) {
	wait = func() {}
	deps, err := imageDeps(ctx, cfg, gdb)
	if err != nil {
		return nil, wait, err
	}
	deps.Policy, deps.Log, deps.Limits, deps.Member = authz, log, limits, me
	if err := loadMetadefsOnFirstStart(ctx, cfg, deps.Metadefs, log); err != nil {
		return nil, wait, fmt.Errorf("load metadata definitions: %w", err)
	}
	if cc := cfg.Image.Cache; cc.Enabled {
		if deps.Cache, err = glancecache.New(cc.Dir, cc.MaxSize, log); err != nil {
			return nil, wait, err
		}
	}
	svc, err = glanceservice.New(deps, glanceservice.Config{SizeCap: cfg.Image.SizeCap,
		MaxConcurrentUploads: cfg.Image.MaxConcurrentUploads, UploadIdleTimeout: cfg.Image.UploadIdleTimeout.Std(),
		AllowFormatMismatch: !cfg.Image.RequireFormatMatch, TaskTimeToLive: cfg.Image.TaskTimeToLive.Std(),
		ShowMultipleLocations: cfg.Image.ShowMultipleLocations, ShowDirectURL: cfg.Image.ShowImageDirectURL,
		LocationReadTimeout: cfg.Image.LocationReadTimeout.Std(), LeaseTTL: cfg.Cluster.LeaseTTL.Std()})
	if err != nil {
		return nil, wait, err
	}
	wait = svc.WaitImports
	if n, err := svc.RecoverInterrupted(ctx); err != nil {
		return nil, wait, fmt.Errorf("recover interrupted uploads: %w", err)
	} else if n > 0 {
		log.Warn("returned images interrupted mid-upload to queued (work in flight of a stopped member recovered)", "count", n, "member", me.ID)
	}
	go svc.RunLeases(ctx)
	go svc.RunTaskCleanup(ctx)
	if err := svc.StartCache(ctx); err != nil {
		return nil, wait, fmt.Errorf("image cache: %w", err)
	}
	return svc, wait, nil
}

// imageDeps opens what the image service runs on: its repository, the
// configured stores (one, or several with image.stores), the staging area
// and the web-download fetcher.
func imageDeps(ctx context.Context, cfg config.Config, gdb *gorm.DB) (glanceservice.Deps, error) {
	images, err := glancedb.New(gdb)
	if err != nil {
		return glanceservice.Deps{}, err
	}
	d := glanceservice.Deps{Repository: images, Tasks: images, Metadefs: images}
	backends, err := openStores(ctx, cfg.Image.Stores)
	if err != nil {
		return d, err
	}
	if cfg.Image.MultiStore {
		d.Stores, d.DefaultStore = backends, cfg.Image.DefaultStore
	} else {
		d.Store = backends[0].Store
	}
	if d.Staging, err = filesystem.New(filepath.Join(cfg.StateDir, "staging")); err != nil {
		return d, err
	}
	allowed, err := glanceservice.AllowedNetworksFromStrings(cfg.Image.WebDownload.AllowedNetworks)
	if err != nil {
		return d, err
	}
	d.Fetcher = webfetch.New(webfetch.Policy{AllowedNetworks: allowed, MaxRedirects: cfg.Image.WebDownload.MaxRedirects,
		IdleTimeout: cfg.Image.WebDownload.IdleTimeout.Std()})
	d.ImportPlugins = importPlugins(cfg)
	return d, nil
}

// importPlugins are image.import_plugins and their settings, with their
// work files in the staging area.
func importPlugins(cfg config.Config) glanceservice.ImportPlugins {
	conv, inj := cfg.Image.ImageConversion, cfg.Image.InjectMetadataProperties
	return glanceservice.ImportPlugins{Enabled: cfg.Image.ImportPlugins, OutputFormat: conv.OutputFormat,
		CPUTimeLimit: conv.CPUTimeLimit.Std(), AddressSpaceLimit: conv.AddressSpaceLimit, Timeout: conv.Timeout.Std(),
		Inject: inj.Inject, IgnoreUserRoles: inj.IgnoreUserRoles, WorkDir: filepath.Join(cfg.StateDir, "staging", "work")}
}

// openStores opens image.stores (never empty once loaded: a single store is
// its one entry), each by its type, with what /v2/info/stores/detail shows.
func openStores(ctx context.Context, stores []config.StoreConfig) ([]glanceservice.Backend, error) {
	var out []glanceservice.Backend
	for _, sc := range stores {
		st, err := storage.Open(ctx, sc.Type, sc.Params())
		if err != nil {
			return nil, fmt.Errorf("image store %s: %w", sc.ID, err)
		}
		out = append(out, glanceservice.Backend{Store: st, StoreInfo: glanceservice.StoreInfo{ID: sc.ID, Type: sc.Type,
			Description: sc.Description, Properties: storage.Describe(st)}})
	}
	return out, nil
}

// startCompute builds the compute service and starts its work by role:
// the compute role brings this host's libvirt (servers cannot be created
// while it is out of reach), image cache and lazy-base endpoint and syncs
// this host's servers; the api role recovers tasks whose member is gone,
// offloads shelved servers, reclaims soft-deleted ones and makes the
// default flavors. deps brings the other families (images, projects).
// stop, never nil, ends the service, then the renewal of its leases and
// the host's libvirt connection and endpoint.
func startCompute(ctx context.Context, cfg config.Config, gdb *gorm.DB, authz computeservice.Authorizer, deps computeservice.Deps,
	blobs storage.Store, log *slog.Logger) (svc *computeservice.Service, stop func(), err error) {
	stop = func() {}
	computeRepo, err := computedb.New(gdb)
	if err != nil {
		return nil, stop, err
	}
	repoDeps(cfg, computeRepo, &deps)
	started := func(*computeservice.Service) {}
	if slices.Contains(cfg.Roles, cluster.RoleCompute) {
		if stop, err = startHostWithAgent(ctx, cfg, gdb, &deps, blobs, log); err != nil {
			return nil, stop, err
		}
	} else if started, err = useRemoteHosts(gdb, blobs, &deps, log); err != nil {
		return nil, stop, err
	}
	svc = computeservice.New(deps, authz, log)
	started(svc)
	if slices.Contains(cfg.Roles, cluster.RoleAPI) { // calls whose host died mid-call end failed
		go hostrpc.RunRecovery(ctx, gdb, cluster.RenewEvery(cfg.Cluster.LeaseTTL.Std()), log)
	}
	// Leases are renewed until the work under them has ended.
	renewing, stopRenewing := context.WithCancel(context.WithoutCancel(ctx))
	go svc.RenewTaskLeases(renewing)
	closeHost := stop
	stop = func() { svc.Shutdown(); stopRenewing(); closeHost() }
	return svc, stop, startComputeWork(ctx, cfg, svc, log)
}

// repoDeps gives the compute service its repository and settings.
func repoDeps(cfg config.Config, repo *computedb.Repo, deps *computeservice.Deps) {
	deps.Flavors, deps.Servers, deps.KeyPairs, deps.Actions = repo, repo, repo, repo
	deps.HostServices, deps.QuotaStore, deps.Groups, deps.TaskLeases = repo, repo, repo, repo
	deps.Aggregates, deps.DefaultZone = repo, cfg.Compute.DefaultAvailabilityZone
	deps.Migrations = repo
	deps.Nodes, deps.Host, deps.HostZones = repo, cfg.Compute.Host, computeservice.AggregateZones{Aggregates: repo}
	sc := cfg.Compute.Scheduler
	deps.Scheduler = computeservice.SchedulerConfig{CPUAllocationRatio: sc.CPUAllocationRatio, RAMAllocationRatio: sc.RAMAllocationRatio,
		DiskAllocationRatio: sc.DiskAllocationRatio, RAMWeightMultiplier: sc.RAMWeightMultiplier, HostSubsetSize: sc.HostSubsetSize}
	deps.SnapshotDir = filepath.Join(cfg.StateDir, "compute", "snapshots")
	deps.ConfigDriveDir, deps.ForceConfigDrive = filepath.Join(cfg.StateDir, "compute", "config-drives"), cfg.Compute.ForceConfigDrive
	deps.ShelvedOffloadTime = cfg.Compute.ShelvedOffloadTime
	deps.ReclaimInterval = time.Duration(cfg.Compute.ReclaimInstanceInterval) * time.Second
	deps.BuildConfigDrive = func(ctx context.Context, dst string, sv *compute.Server, adminPass string) error {
		return configdrive.Build(ctx, dst, configdrive.ForServer(sv, computeservice.ZoneName, cfg.Compute.DHCPDomain, adminPass))
	}
}

// startHost opens what the compute role runs on this host: the image
// cache, the lazy-base endpoint (compute.lazy_base) and libvirt. stop,
// never nil, closes libvirt and the endpoint.
func startHost(cfg config.Config, deps *computeservice.Deps, log *slog.Logger) (stop func(), err error) {
	stop = func() {}
	cache, err := imagecache.New(filepath.Join(cfg.StateDir, "compute", "base"), log)
	if err != nil {
		return stop, err
	}
	deps.Cache = cache
	stopEviction := boundCache(cfg, cache, deps)
	stop = stopEviction
	if cfg.Compute.LazyBase {
		cache.FillRate = int64(cfg.Compute.LazyBaseFillRate) << 20
		// Its address and cookie are kept with the cache: domains started
		// before a restart read their bases through it again.
		endpoint, err := cache.Serve(filepath.Join(cfg.StateDir, "compute", "base-endpoint.json"))
		if err != nil {
			return stop, fmt.Errorf("lazy base endpoint: %w", err)
		}
		deps.LazyBases = endpoint
		stop = func() { endpoint.Close(); stopEviction() }
	}
	hv, err := computelibvirt.New(computelibvirt.Config{URI: cfg.Compute.LibvirtURI, VirtType: cfg.Compute.VirtType,
		Dir: filepath.Join(cfg.StateDir, "compute", "instances")})
	if err != nil {
		log.Warn("libvirt is not reachable: servers cannot be created", "uri", cfg.Compute.LibvirtURI, "err", err)
		return stop, nil
	}
	log.Info("libvirt connected", "uri", cfg.Compute.LibvirtURI, "virt_type", hv.VirtType())
	deps.Hypervisor = hv
	closeEndpoint := stop
	return func() { hv.Close(); closeEndpoint() }, nil
}

// boundCache bounds the host's image cache (compute.image_cache): the
// servers' records say which bases this host's servers use, across
// restarts; unused ones are evicted past max_size every clean_interval
// until the returned stop.
func boundCache(cfg config.Config, cache *imagecache.Cache, deps *computeservice.Deps) (stop func()) {
	ic, servers, host := cfg.Compute.ImageCache, deps.Servers, computeservice.HostOf(deps.Member)
	cache.MaxSize, cache.MinIdle = ic.MaxSize, ic.MinimumAge.Std()
	cache.InUse = func(ctx context.Context) (map[string]bool, error) {
		return computeservice.BasesInUseOn(ctx, servers, host)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if every := ic.CleanInterval.Std(); every > 0 {
		go cache.RunEviction(ctx, every)
	}
	return cancel
}

// startComputeWork starts the compute service's work of this process's
// roles (both: what a single process always did).
func startComputeWork(ctx context.Context, cfg config.Config, svc *computeservice.Service, log *slog.Logger) error {
	api, host := slices.Contains(cfg.Roles, cluster.RoleAPI), slices.Contains(cfg.Roles, cluster.RoleCompute)
	if api {
		if _, err := svc.RecoverTasks(ctx, true); err != nil {
			return fmt.Errorf("recover interrupted server tasks: %w", err)
		}
		go svc.RunTaskRecovery(ctx)
	}
	if host {
		if err := cleanEvacuated(ctx, cfg, svc, svc.Hypervisor, log); err != nil {
			return err
		}
		if err := svc.SyncHost(ctx); err != nil {
			return fmt.Errorf("reconcile servers with libvirt: %w", err)
		}
		if err := startHeartbeat(ctx, cfg, svc); err != nil {
			return err
		}
		go svc.WatchEvents(ctx)
	}
	if !api {
		return nil
	}
	go svc.PollShelved(ctx, shelvedPollInterval(cfg.Compute.ShelvedOffloadTime))
	go svc.RunReclaimer(ctx)
	if err := svc.EnsureDefaultFlavors(ctx, compute.DefaultFlavors); err != nil {
		return fmt.Errorf("default flavors: %w", err)
	}
	return nil
}

// startHeartbeat registers this process's host as a compute node, before
// the API takes its first boot, and keeps it alive while ctx lasts, when
// this process has the compute role and a hypervisor.
func startHeartbeat(ctx context.Context, cfg config.Config, svc *computeservice.Service) error {
	member := svc.Member
	if !member.Has(cluster.RoleCompute) || svc.Hypervisor == nil {
		return nil
	}
	if _, err := svc.RegisterNode(ctx, member.Host); err != nil {
		return fmt.Errorf("register compute host %s: %w", member.Host, err)
	}
	go svc.RunHeartbeat(ctx, member, timing(cfg))
	return nil
}

// shelvedPollInterval is how often shelved servers are checked for
// offloading: a tenth of shelved_offload_time, from a second to a minute
// (Nova checks hourly by default, shelved_poll_interval).
func shelvedPollInterval(offloadSeconds int) time.Duration {
	return min(max(time.Duration(offloadSeconds)*time.Second/10, time.Second), time.Minute)
}

// cleanEvacuated destroys the VMs this host still has of servers
// evacuated away while it was down, before any guest starts again.
func cleanEvacuated(ctx context.Context, cfg config.Config, svc *computeservice.Service, local compute.Hypervisor, log *slog.Logger) error {
	if local == nil {
		return nil
	}
	host := cfg.Compute.Host
	if host == "" {
		host, _ = os.Hostname()
	}
	n, err := svc.CleanEvacuated(ctx, host, local)
	if err != nil {
		return fmt.Errorf("destroy the VMs of servers evacuated from this host: %w", err)
	}
	if n > 0 {
		log.Info("destroyed the VMs of servers evacuated from this host while it was down", "count", n)
	}
	return nil
}
