// Package config loads the server configuration: a YAML file (sample in
// etc/imagestack.yaml) with defaults for everything, and the STATE_DIR
// environment override that `make run` documents.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"imagestack/common/cors"
	"imagestack/storage"
)

// Duration is a time.Duration written as "1h", "90s" in YAML.
type Duration time.Duration

// UnmarshalYAML parses Go duration syntax.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (e.g. 1h, 30s)", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes Go duration syntax, which UnmarshalYAML (and a
// time.Duration field of a backend's settings) reads back.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Std returns the value as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// Listener is one API's bind address and the URL clients reach it at.
type Listener struct {
	Listen    string `yaml:"listen"`
	PublicURL string `yaml:"public_url"`
}

// S3Config locates an S3-compatible bucket for image data.
type S3Config struct {
	Endpoint     string `yaml:"endpoint"` // host:port
	Bucket       string `yaml:"bucket"`
	AccessKey    string `yaml:"access_key"`
	SecretKey    string `yaml:"secret_key"`
	Region       string `yaml:"region"`
	UseTLS       bool   `yaml:"use_tls"`
	CreateBucket bool   `yaml:"create_bucket"`
	PartSize     uint64 `yaml:"part_size"`   // bytes per multipart part (default 8 MiB)
	Concurrency  uint   `yaml:"concurrency"` // parts in flight (default 4)
	MaxRetries   int    `yaml:"max_retries"` // attempts per S3 request (default 3)
	// Timeout bounds each wait on the store: connecting, a response, each
	// read or write of a body (default 30s).
	Timeout Duration `yaml:"timeout"`
}

// ImageCacheConfig is the image cache: off unless Enabled; Dir defaults to
// $STATE_DIR/image-cache, MaxSize (bytes) to 10 GiB as Glance's.
type ImageCacheConfig struct {
	Enabled bool   `yaml:"enabled"`
	Dir     string `yaml:"dir"`
	MaxSize int64  `yaml:"max_size"`
}

// ComputeImageCacheConfig bounds a compute host's cache of base images:
// past MaxSize bytes (default 50 GiB; 0: no bound) the least recently used
// bases no server on the host uses, and unused for MinimumAge (default 10
// minutes), are evicted when a base arrives and every CleanInterval
// (default 10 minutes; Nova's image_cache.manager_interval is 40).
type ComputeImageCacheConfig struct {
	MaxSize       int64    `yaml:"max_size"`
	CleanInterval Duration `yaml:"clean_interval"`
	MinimumAge    Duration `yaml:"minimum_age"`
}

// StoreConfig is one of several image stores (Glance's enabled_backends).
type StoreConfig struct {
	// ID names the store in the API (X-Image-Meta-Store, "stores").
	ID          string `yaml:"id"`
	Type        string `yaml:"type"` // file or s3: a storage backend type
	Description string `yaml:"description"`
	// FilesystemDir holds a file store's blobs (default $STATE_DIR/stores/<id>).
	FilesystemDir string   `yaml:"filesystem_dir"`
	S3            S3Config `yaml:"s3"`
}

// SchedulerConfig is the compute scheduler's (Nova's [filter_scheduler]
// and the allocation ratios of nova-compute).
type SchedulerConfig struct {
	// Allocation ratios this compute host registers with: it takes servers
	// up to its capacity x ratio (Nova's defaults 4.0, 1.0, 1.0).
	CPUAllocationRatio  float64 `yaml:"cpu_allocation_ratio"`
	RAMAllocationRatio  float64 `yaml:"ram_allocation_ratio"`
	DiskAllocationRatio float64 `yaml:"disk_allocation_ratio"`
	// RAMWeightMultiplier weighs hosts by free RAM: positive (default 1.0)
	// spreads servers and batches over the emptiest hosts, negative packs
	// them onto the fullest that still fit.
	RAMWeightMultiplier float64 `yaml:"ram_weight_multiplier"`
	// HostSubsetSize is how many of the best hosts a placement picks from
	// at random (default 1: the best); more makes API replicas placing at
	// once race less for the same host.
	HostSubsetSize int `yaml:"host_subset_size"`
}

// ConsoleConfig is the remote console proxy's (Nova's nova-novncproxy with
// [vnc] and [consoleauth]). An empty listen turns consoles off.
type ConsoleConfig struct {
	// Listener: the proxy's address, and the root URL browsers reach it at
	// (default http://<listen>; may have a path behind a reverse proxy).
	Listener `yaml:",inline"`
	// NoVNCDir holds the noVNC pages (Debian's novnc package).
	NoVNCDir string `yaml:"novnc_dir"`
	// TokenTTL is how long a console URL opens the console ([consoleauth]
	// token_ttl).
	TokenTTL Duration `yaml:"token_ttl"`
	// EnforceSessionTimeout closes open consoles when their token expires
	// ([consoleauth] enforce_session_timeout).
	EnforceSessionTimeout bool `yaml:"enforce_session_timeout"`
}

// ExternalConfig names an existing Keystone and this service's account in
// it, as keystonemiddleware's [keystone_authtoken] does.
type ExternalConfig struct {
	// AuthURL is the Keystone v3 endpoint (with or without /v3).
	AuthURL string `yaml:"auth_url"`
	// WWWAuthenticateURI is what 401 answers name in WWW-Authenticate
	// (default: AuthURL).
	WWWAuthenticateURI string `yaml:"www_authenticate_uri"`
	// The service account (password authentication, project scope).
	Username          string `yaml:"username"`
	Password          string `yaml:"password"`
	ProjectName       string `yaml:"project_name"`
	UserDomainName    string `yaml:"user_domain_name"`
	ProjectDomainName string `yaml:"project_domain_name"`
	// Region is the region of this cloud's endpoints in that Keystone's
	// catalog (register-endpoints; default identity.region).
	Region string `yaml:"region"`
	// CacheTTL bounds how long a validated token is believed without asking
	// Keystone again, hence how long a revoked token keeps working
	// (token_cache_time; 0s: no cache). NegativeCacheTTL is how long an
	// invalid token is remembered as such; CacheSize bounds the entries.
	CacheTTL         Duration `yaml:"cache_ttl"`
	NegativeCacheTTL Duration `yaml:"negative_cache_ttl"`
	CacheSize        int      `yaml:"cache_size"`
	// Timeout bounds each request to Keystone (http_connect_timeout).
	Timeout Duration `yaml:"timeout"`
	// X-Service-Token: roles that make a token a service token, and
	// whether a service token without one is refused.
	ServiceTokenRoles         []string `yaml:"service_token_roles"`
	ServiceTokenRolesRequired bool     `yaml:"service_token_roles_required"`
	// Unified limits (image.use_keystone_limits, compute.quota_driver
	// unified) are read from that Keystone and believed for
	// LimitsCacheTTL (0s: asked on every check), with a system-scoped
	// token of the account above when LimitsSystemScope (oslo.limit's
	// system_scope = all; it needs a role on the system, e.g. reader).
	LimitsCacheTTL    Duration `yaml:"limits_cache_ttl"`
	LimitsSystemScope bool     `yaml:"limits_system_scope"`
}

// Config is the whole server configuration.
type Config struct {
	StateDir string `yaml:"state_dir"`
	Database struct {
		// DSN is sqlite:<path> or mysql://user:pass@tcp(host:port)/db.
		DSN string `yaml:"dsn"`
	} `yaml:"database"`
	Identity struct {
		Listener        `yaml:",inline"`
		Region          string   `yaml:"region"`
		TokenExpiration Duration `yaml:"token_expiration"`
		// LockoutFailureAttempts consecutive failed password logins lock a
		// user out for LockoutDuration after the last one (0 attempts = off,
		// 0 duration = until re-enabled): Keystone's [security_compliance].
		LockoutFailureAttempts int      `yaml:"lockout_failure_attempts"`
		LockoutDuration        Duration `yaml:"lockout_duration"`
		// Mode is "embedded" (the identity API of this process, the
		// default) or "external": tokens are checked against the existing
		// Keystone that External names, and the identity API does not start.
		Mode     string         `yaml:"mode"`
		External ExternalConfig `yaml:"external"`
	} `yaml:"identity"`
	Image struct {
		Listener `yaml:",inline"`
		// SizeCap is the largest image accepted, in bytes (Glance's image_size_cap).
		SizeCap int64 `yaml:"size_cap"`
		// MaxConcurrentUploads bounds uploads and stages in progress at once
		// (more get 503); UploadIdleTimeout ends one whose client sends nothing.
		MaxConcurrentUploads int      `yaml:"max_concurrent_uploads"`
		UploadIdleTimeout    Duration `yaml:"upload_idle_timeout"`
		// RequireFormatMatch refuses data whose recognised format differs
		// from the image's disk_format (Glance's require_image_format_match).
		RequireFormatMatch bool `yaml:"require_format_match"`
		// UseKeystoneLimits enforces the unified limits of the image service
		// (image_size_total, image_stage_total, image_count_total,
		// image_count_uploading) kept by the identity service: Glance's
		// use_keystone_limits. A resource without a registered limit is unlimited.
		UseKeystoneLimits bool `yaml:"use_keystone_limits"`
		// MetadefsDir holds Glance's standard metadata definition files
		// (default /etc/glance/metadefs, where Debian's glance-common puts
		// them): loaded on the first start when the directory exists, and
		// by `imagestack manage load-metadefs`. "" loads nothing.
		MetadefsDir string `yaml:"metadefs_dir"`
		// FilesystemDir holds image blobs (default $STATE_DIR/images).
		FilesystemDir string `yaml:"filesystem_dir"`
		// Store is where image data goes: "file" (default) or "s3".
		Store string   `yaml:"store"`
		S3    S3Config `yaml:"s3"`
		// Stores, when set, configures several stores at once and replaces
		// store, filesystem_dir and s3 above. DefaultStore (default: the
		// first) receives data when a request names no store.
		// After Load, Stores is never empty: without image.stores it holds
		// the single store above, with id SingleStoreID, and MultiStore is
		// false (the API then shows no stores, as Glance without
		// enabled_backends).
		Stores       []StoreConfig `yaml:"stores"`
		DefaultStore string        `yaml:"default_store"`
		MultiStore   bool          `yaml:"-"`
		// ShowMultipleLocations (Glance's show_multiple_locations) shows
		// image locations to callers get_image_location allows and lets
		// PATCH add, replace and remove them; ShowImageDirectURL shows the
		// first as direct_url. LocationReadTimeout bounds reading a
		// location's data when one is added (default 10 minutes).
		ShowMultipleLocations bool     `yaml:"show_multiple_locations"`
		ShowImageDirectURL    bool     `yaml:"show_image_direct_url"`
		LocationReadTimeout   Duration `yaml:"location_read_timeout"`
		// WebDownload limits what the web-download import may fetch.
		WebDownload struct {
			// AllowedNetworks are CIDRs exempt from the public-address rule.
			AllowedNetworks []string `yaml:"allowed_networks"`
			MaxRedirects    int      `yaml:"max_redirects"`
			// IdleTimeout ends a download whose server sends nothing.
			IdleTimeout Duration `yaml:"idle_timeout"`
		} `yaml:"web_download"`
		// ImportPlugins are Glance's import plugins ([image_import_opts]
		// image_import_plugins), in order, with their settings (see
		// import_plugins.go); the image service validates them.
		ImportPlugins            []string              `yaml:"import_plugins"`
		ImageConversion          ImageConversionConfig `yaml:"image_conversion"`
		InjectMetadataProperties InjectMetadataConfig  `yaml:"inject_metadata_properties"`
		// TaskTimeToLive is how long a task is kept after it ends (Glance's
		// task_time_to_live, 48 hours): then it is gone from the tasks API
		// and a periodic cleanup deletes it.
		TaskTimeToLive Duration `yaml:"task_time_to_live"`
		// Cache is the local read-through cache of downloaded image data
		// (Glance's image_cache_dir, image_cache_max_size) and /v2/cache.
		Cache ImageCacheConfig `yaml:"cache"`
	} `yaml:"image"`
	Compute struct {
		Listener `yaml:",inline"`
		// Host is this compute host's name, as os-services and
		// os-hypervisors show it and servers are placed on ("": the
		// machine's host name).
		Host       string `yaml:"host"`
		LibvirtURI string `yaml:"libvirt_uri"`
		VirtType   string `yaml:"virt_type"`
		// ForceConfigDrive gives every server a config drive, not only
		// those created with config_drive true (Nova's force_config_drive).
		ForceConfigDrive bool `yaml:"force_config_drive"`
		// DHCPDomain is appended to hostnames in the config drive's
		// metadata (Nova's [api] dhcp_domain); "" for none.
		DHCPDomain string `yaml:"dhcp_domain"`
		// ShelvedOffloadTime is how many seconds a shelved server keeps its
		// VM before it is offloaded (Nova's shelved_offload_time): 0 (the
		// default) at once, -1 never (but by shelveOffload).
		ShelvedOffloadTime int `yaml:"shelved_offload_time"`
		// ReclaimInstanceInterval is Nova's reclaim_instance_interval in
		// seconds: above 0 a deleted server is soft-deleted (restorable)
		// and reclaimed this long afterwards; 0 deletes at once.
		ReclaimInstanceInterval int `yaml:"reclaim_instance_interval"`
		// Console is the remote console proxy.
		Console ConsoleConfig `yaml:"console"`
		// QuotaDriver is Nova's [quota]driver: "db" (the default: limits set
		// with os-quota-sets) or "unified" (Keystone's unified limits of the
		// compute service, as nova.quota.UnifiedLimitsDriver).
		QuotaDriver string `yaml:"quota_driver"`
		// LazyBase lets a server boot while its base image is still
		// arriving: QEMU reads the base through a loopback endpoint that
		// fetches missing ranges from the image service, while the whole
		// image fills the host cache in the background and is verified
		// (default true); false downloads the whole image first.
		LazyBase bool `yaml:"lazy_base"`
		// LazyBaseFillRate caps the background fill of a lazy base, in
		// MiB/s (0, the default: no cap); what a VM reads is never held.
		LazyBaseFillRate int `yaml:"lazy_base_fill_rate"`
		// ImageCache bounds this host's cache of base images.
		ImageCache ComputeImageCacheConfig `yaml:"image_cache"`
		// DefaultAvailabilityZone is the zone of hosts no aggregate puts
		// in one (Nova's default_availability_zone, "nova").
		DefaultAvailabilityZone string `yaml:"default_availability_zone"`
		// Scheduler tunes where servers go.
		Scheduler SchedulerConfig `yaml:"scheduler"`
	} `yaml:"compute"`
	Network struct {
		Listener `yaml:",inline"`
		// DefaultNetwork is the shared network made at the first start
		// (when there is no network at all), so servers have one.
		DefaultNetwork struct {
			Name           string   `yaml:"name"`
			SubnetName     string   `yaml:"subnet_name"`
			CIDR           string   `yaml:"cidr"`
			DNSNameservers []string `yaml:"dns_nameservers"`
		} `yaml:"default_network"`
		// DnsmasqUser is whom each network's dnsmasq runs as (root, or an
		// unprivileged user that can reach $STATE_DIR/network).
		DnsmasqUser string `yaml:"dnsmasq_user"`
		// Egress gives guests a way out to the host's networks through NAT
		// (off: guests reach only each other and the network namespace).
		Egress bool `yaml:"egress"`
	} `yaml:"network"`
	Policy struct {
		File           string   `yaml:"file"`
		ReloadInterval Duration `yaml:"reload_interval"`
	} `yaml:"policy"`
	Log struct {
		Format string `yaml:"format"` // json or text
		Level  string `yaml:"level"`  // debug, info, warn, error
	} `yaml:"log"`
	// CORS lets browser pages from other origins (Horizon's direct image
	// upload) call every API; off until origins are allowed.
	CORS cors.Config `yaml:"cors"`
	// Roles are what this process runs: "api" (the APIs, stateless) and
	// "compute" (this hypervisor host). The default runs both in one
	// process, as a single-machine deployment does.
	Roles []string `yaml:"roles"`
	// Cluster is how the processes of a deployment of several see each
	// other (see common/cluster).
	Cluster ClusterConfig `yaml:"cluster"`
	// Metrics is the listener of /metrics (Prometheus) and /healthcheck,
	// served by every role.
	Metrics struct {
		// Listen is its address; "" serves no metrics.
		Listen string `yaml:"listen"`
	} `yaml:"metrics"`
}

// ClusterConfig times leases and heartbeats across processes.
type ClusterConfig struct {
	// MemberName names this process in the deployment, stable across its
	// restarts and unique among live processes ("": the host name and
	// this process's API ports).
	MemberName string `yaml:"member_name"`
	// LeaseTTL is how long work in flight (an upload, import, copy or
	// server task) stays its owner's without renewal.
	LeaseTTL Duration `yaml:"lease_ttl"`
	// HeartbeatInterval is how often a compute host reports itself alive.
	HeartbeatInterval Duration `yaml:"heartbeat_interval"`
	// ServiceDownTime is how long after its last heartbeat a host counts
	// as down (Nova's service_down_time).
	ServiceDownTime Duration `yaml:"service_down_time"`
}

// Default returns the configuration used when no file sets anything.
func Default() Config {
	var c Config
	c.StateDir = "./var"
	c.Identity.Listen = "127.0.0.1:5000"
	c.Identity.Region = "RegionOne"
	c.Identity.TokenExpiration = Duration(time.Hour)
	c.Identity.LockoutDuration = Duration(30 * time.Minute)
	c.Identity.Mode = "embedded"
	c.Identity.External = ExternalConfig{UserDomainName: "Default", ProjectDomainName: "Default",
		CacheTTL: Duration(time.Minute), NegativeCacheTTL: Duration(10 * time.Second), CacheSize: 10000,
		Timeout: Duration(10 * time.Second), ServiceTokenRoles: []string{"service"}, ServiceTokenRolesRequired: true,
		LimitsCacheTTL: Duration(10 * time.Second), LimitsSystemScope: true}
	c.Image.Listen = "127.0.0.1:9292"
	c.Image.SizeCap = 1 << 40
	c.Image.MaxConcurrentUploads = 32
	c.Image.UploadIdleTimeout = Duration(time.Minute)
	c.Image.RequireFormatMatch = true
	c.Image.UseKeystoneLimits = true
	c.Image.MetadefsDir = "/etc/glance/metadefs"
	c.Image.WebDownload.IdleTimeout = Duration(time.Minute)
	c.Image.ImageConversion = ImageConversionConfig{OutputFormat: "raw", CPUTimeLimit: Duration(5 * time.Minute),
		AddressSpaceLimit: 1 << 30, Timeout: Duration(30 * time.Minute)}
	c.Image.InjectMetadataProperties.IgnoreUserRoles = []string{"admin"}
	c.Image.TaskTimeToLive = Duration(48 * time.Hour)
	c.Image.Cache.MaxSize = 10 << 30
	c.Compute.Listen = "127.0.0.1:8774"
	c.Compute.LibvirtURI = "qemu:///system"
	c.Compute.VirtType = "auto"
	c.Compute.QuotaDriver = QuotaDriverDB
	c.Compute.ForceConfigDrive = true
	c.Compute.LazyBase = true
	c.Compute.DHCPDomain = "novalocal"
	c.Compute.ImageCache = ComputeImageCacheConfig{MaxSize: 50 << 30, CleanInterval: Duration(10 * time.Minute),
		MinimumAge: Duration(10 * time.Minute)}
	c.Compute.DefaultAvailabilityZone = "nova"
	c.Compute.Scheduler = SchedulerConfig{CPUAllocationRatio: 4, RAMAllocationRatio: 1, DiskAllocationRatio: 1, RAMWeightMultiplier: 1, HostSubsetSize: 1}
	c.Network.Listen = "127.0.0.1:9696"
	c.Network.DnsmasqUser = "root"
	c.Network.DefaultNetwork.Name = "private"
	c.Network.DefaultNetwork.SubnetName = "private-subnet"
	c.Network.DefaultNetwork.CIDR = "10.0.0.0/24"
	c.Compute.Console.Listen = "127.0.0.1:6080"
	c.Compute.Console.NoVNCDir = "/usr/share/novnc"
	c.Compute.Console.TokenTTL = Duration(600 * time.Second)
	c.Policy.ReloadInterval = Duration(2 * time.Second)
	c.Log.Format = "json"
	c.Log.Level = "info"
	c.CORS = cors.Defaults()
	c.Roles = []string{"api", "compute"}
	c.Cluster = ClusterConfig{LeaseTTL: Duration(30 * time.Second), HeartbeatInterval: Duration(10 * time.Second),
		ServiceDownTime: Duration(60 * time.Second)}
	c.Metrics.Listen = "127.0.0.1:9180"
	return c
}

// Load reads path (if not empty) over the defaults, applies environment
// overrides (STATE_DIR, IMAGESTACK_DATABASE_DSN) and fills derived values.
// Unknown keys are errors, so a typo never silently falls back to a default.
func Load(path string) (Config, error) {
	c := Default()
	if err := c.read(path); err != nil {
		return c, err
	}
	if v := os.Getenv("STATE_DIR"); v != "" {
		c.StateDir = v
	}
	// Absolute, because paths below it are handed to other programs (qemu-img
	// records a server's base image path in its overlay; libvirt opens disks).
	abs, err := filepath.Abs(c.StateDir)
	if err != nil {
		return c, fmt.Errorf("config: state_dir: %w", err)
	}
	c.StateDir = abs
	if v := os.Getenv("IMAGESTACK_DATABASE_DSN"); v != "" {
		c.Database.DSN = v
	}
	if c.Database.DSN == "" {
		c.Database.DSN = "sqlite:" + filepath.Join(c.StateDir, "imagestack.db")
	}
	for _, check := range []func() error{c.checkSingleStore, c.checkStores, c.checkLimits, c.checkIdentityMode, c.checkRoles} {
		if err := check(); err != nil {
			return c, err
		}
	}
	if err := c.CORS.Check(); err != nil {
		return c, fmt.Errorf("config: cors: %w", err)
	}
	for _, l := range []*Listener{&c.Identity.Listener, &c.Image.Listener, &c.Compute.Listener, &c.Network.Listener} {
		if l.PublicURL == "" {
			l.PublicURL = "http://" + l.Listen
		}
		l.PublicURL = strings.TrimRight(l.PublicURL, "/")
	}
	if cl := &c.Compute.Console.Listener; cl.Listen != "" && cl.PublicURL == "" {
		cl.PublicURL = "http://" + cl.Listen
	}
	return c, nil
}

// read decodes the file at path (if any) over c, rejecting unknown keys.
func (c *Config) read(path string) error {
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config %s: %w", path, err)
	}
	if c.Policy.File != "" && !filepath.IsAbs(c.Policy.File) {
		// A relative policy path is relative to the config file.
		c.Policy.File = filepath.Join(filepath.Dir(path), c.Policy.File)
	}
	return nil
}

// checkSingleStore validates image.store and its settings, which
// image.stores replaces when set.
func (c *Config) checkSingleStore() error {
	if c.Image.FilesystemDir == "" {
		c.Image.FilesystemDir = filepath.Join(c.StateDir, "images")
	}
	switch c.Image.Store {
	case "":
		c.Image.Store = "file"
	case "file":
	case "s3":
		if c.Image.S3.Endpoint == "" || c.Image.S3.Bucket == "" {
			return errors.New("config: image.store s3 needs image.s3.endpoint and image.s3.bucket")
		}
	default:
		return fmt.Errorf("config: image.store must be file or s3, not %q", c.Image.Store)
	}
	return nil
}

// checkLimits validates the numbers and the compute and identity settings.
func (c *Config) checkLimits() error {
	if c.Image.SizeCap <= 0 {
		return errors.New("config: image.size_cap must be positive")
	}
	if c.Image.MaxConcurrentUploads <= 0 || c.Image.UploadIdleTimeout <= 0 || c.Image.WebDownload.IdleTimeout <= 0 {
		return errors.New("config: image.max_concurrent_uploads, image.upload_idle_timeout and image.web_download.idle_timeout must be positive")
	}
	if c.Image.TaskTimeToLive <= 0 {
		return errors.New("config: image.task_time_to_live must be positive")
	}
	if c.Image.Cache.MaxSize <= 0 {
		return errors.New("config: image.cache.max_size must be positive")
	}
	if c.Image.Cache.Dir == "" {
		c.Image.Cache.Dir = filepath.Join(c.StateDir, "image-cache")
	}
	if c.Compute.QuotaDriver != QuotaDriverDB && c.Compute.QuotaDriver != QuotaDriverUnified {
		return fmt.Errorf("config: compute.quota_driver must be %s or %s, not %q", QuotaDriverDB, QuotaDriverUnified, c.Compute.QuotaDriver)
	}
	switch c.Compute.VirtType {
	case "kvm", "qemu", "auto":
	default:
		return fmt.Errorf("config: compute.virt_type must be kvm, qemu or auto, not %q", c.Compute.VirtType)
	}
	if sc := c.Compute.Scheduler; sc.CPUAllocationRatio <= 0 || sc.RAMAllocationRatio <= 0 || sc.DiskAllocationRatio <= 0 {
		return errors.New("config: compute.scheduler allocation ratios must be positive")
	}
	if c.Compute.ReclaimInstanceInterval < 0 {
		return errors.New("config: compute.reclaim_instance_interval must not be negative")
	}
	if c.Compute.Console.TokenTTL <= 0 {
		return errors.New("config: compute.console.token_ttl must be positive")
	}
	if c.Identity.TokenExpiration <= 0 {
		return errors.New("config: identity.token_expiration must be positive")
	}
	if c.Identity.LockoutFailureAttempts < 0 || c.Identity.LockoutDuration < 0 {
		return errors.New("config: identity.lockout_failure_attempts and identity.lockout_duration must not be negative")
	}
	return nil
}

// checkIdentityMode validates identity.mode and, in external mode, the
// settings it needs.
func (c *Config) checkIdentityMode() error {
	e := &c.Identity.External
	if e.Region == "" {
		e.Region = c.Identity.Region
	}
	switch c.Identity.Mode {
	case "embedded":
		return nil
	case "external":
	default:
		return fmt.Errorf("config: identity.mode must be embedded or external, not %q", c.Identity.Mode)
	}
	if e.AuthURL == "" || e.Username == "" || e.Password == "" || e.ProjectName == "" {
		return errors.New("config: identity.mode external needs identity.external.auth_url, username, password and project_name")
	}
	if e.CacheTTL < 0 || e.NegativeCacheTTL < 0 || e.LimitsCacheTTL < 0 || e.CacheSize <= 0 || e.Timeout <= 0 {
		return errors.New("config: identity.external: cache_ttl, negative_cache_ttl and limits_cache_ttl must not be negative, cache_size and timeout must be positive")
	}
	e.AuthURL = strings.TrimRight(e.AuthURL, "/")
	if e.WWWAuthenticateURI == "" {
		e.WWWAuthenticateURI = e.AuthURL
	}
	return nil
}

// checkRoles validates roles (api, compute; at least one, each once) and
// the cluster timings.
func (c *Config) checkRoles() error {
	if len(c.Roles) == 0 {
		return errors.New("config: roles must name at least one of api and compute")
	}
	for i, r := range c.Roles {
		if r != "api" && r != "compute" {
			return fmt.Errorf("config: roles: unknown role %q (api or compute)", r)
		}
		if slices.Contains(c.Roles[:i], r) {
			return fmt.Errorf("config: roles: %q is named twice", r)
		}
	}
	cl := c.Cluster
	if cl.LeaseTTL <= 0 || cl.HeartbeatInterval <= 0 || cl.ServiceDownTime <= 0 {
		return errors.New("config: cluster: lease_ttl, heartbeat_interval and service_down_time must be positive")
	}
	return nil
}

var storeIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$`)

// SingleStoreID is the id of the one store made of image.store (the same
// as glance/service.SingleStoreID, the id its data keeps when the operator
// moves to several stores).
const SingleStoreID = "local"

// checkStores validates image.stores and fills in its defaults. Without
// image.stores, it makes the list of the single store (image.store,
// filesystem_dir, s3) so that the server opens stores one way.
func (c *Config) checkStores() error {
	if len(c.Image.Stores) == 0 {
		if c.Image.DefaultStore != "" {
			return errors.New("config: image.default_store needs image.stores")
		}
		c.Image.Stores = []StoreConfig{{ID: SingleStoreID, Type: c.Image.Store, FilesystemDir: c.Image.FilesystemDir, S3: c.Image.S3}}
		c.Image.DefaultStore = SingleStoreID
		return nil
	}
	c.Image.MultiStore = true
	seen := map[string]bool{}
	for i := range c.Image.Stores {
		st := &c.Image.Stores[i]
		if !storeIDPattern.MatchString(st.ID) || seen[st.ID] {
			return fmt.Errorf("config: image.stores[%d]: id %q must be unique, 1-63 letters, digits, '-' or '_'", i, st.ID)
		}
		seen[st.ID] = true
		switch st.Type {
		case "file":
			if st.FilesystemDir == "" {
				st.FilesystemDir = filepath.Join(c.StateDir, "stores", st.ID)
			}
		case "s3":
			if st.S3.Endpoint == "" || st.S3.Bucket == "" {
				return fmt.Errorf("config: image.stores[%d] (%s): type s3 needs s3.endpoint and s3.bucket", i, st.ID)
			}
		default:
			return fmt.Errorf("config: image.stores[%d] (%s): type must be file or s3, not %q", i, st.ID, st.Type)
		}
	}
	if c.Image.DefaultStore == "" {
		c.Image.DefaultStore = c.Image.Stores[0].ID
	}
	if !seen[c.Image.DefaultStore] {
		return fmt.Errorf("config: image.default_store %q is not one of image.stores", c.Image.DefaultStore)
	}
	return nil
}

// Params returns the store's settings for its backend (storage.Open): the
// keys of its type only, as the configuration file writes them.
func (s StoreConfig) Params() storage.YAML {
	var v any
	switch s.Type {
	case "file":
		v = struct {
			Dir string `yaml:"filesystem_dir"`
		}{s.FilesystemDir}
	case "s3":
		v = s.S3
	default:
		return nil
	}
	data, err := yaml.Marshal(v)
	if err != nil {
		panic(err) // strings, numbers and durations always marshal
	}
	return data
}

// Compute quota drivers (compute.quota_driver).
const (
	QuotaDriverDB      = "db"
	QuotaDriverUnified = "unified"
)
