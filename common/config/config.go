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
	"strings"
	"time"

	"gopkg.in/yaml.v3"
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

// StoreConfig is one of several image stores (Glance's enabled_backends).
type StoreConfig struct {
	// ID names the store in the API (X-Image-Meta-Store, "stores").
	ID          string `yaml:"id"`
	Type        string `yaml:"type"` // file or s3
	Description string `yaml:"description"`
	// FilesystemDir holds a file store's blobs (default $STATE_DIR/stores/<id>).
	FilesystemDir string   `yaml:"filesystem_dir"`
	S3            S3Config `yaml:"s3"`
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
		// FilesystemDir holds image blobs (default $STATE_DIR/images).
		FilesystemDir string `yaml:"filesystem_dir"`
		// Store is where image data goes: "file" (default) or "s3".
		Store string   `yaml:"store"`
		S3    S3Config `yaml:"s3"`
		// Stores, when set, configures several stores at once and replaces
		// store, filesystem_dir and s3 above. DefaultStore (default: the
		// first) receives data when a request names no store.
		Stores       []StoreConfig `yaml:"stores"`
		DefaultStore string        `yaml:"default_store"`
		// WebDownload limits what the web-download import may fetch.
		WebDownload struct {
			// AllowedNetworks are CIDRs exempt from the public-address rule.
			AllowedNetworks []string `yaml:"allowed_networks"`
			MaxRedirects    int      `yaml:"max_redirects"`
			// IdleTimeout ends a download whose server sends nothing.
			IdleTimeout Duration `yaml:"idle_timeout"`
		} `yaml:"web_download"`
	} `yaml:"image"`
	Compute struct {
		Listener   `yaml:",inline"`
		LibvirtURI string `yaml:"libvirt_uri"`
		VirtType   string `yaml:"virt_type"`
	} `yaml:"compute"`
	Policy struct {
		File           string   `yaml:"file"`
		ReloadInterval Duration `yaml:"reload_interval"`
	} `yaml:"policy"`
	Log struct {
		Format string `yaml:"format"` // json or text
		Level  string `yaml:"level"`  // debug, info, warn, error
	} `yaml:"log"`
}

// Default returns the configuration used when no file sets anything.
func Default() Config {
	var c Config
	c.StateDir = "./var"
	c.Identity.Listen = "127.0.0.1:5000"
	c.Identity.Region = "RegionOne"
	c.Identity.TokenExpiration = Duration(time.Hour)
	c.Identity.LockoutDuration = Duration(30 * time.Minute)
	c.Image.Listen = "127.0.0.1:9292"
	c.Image.SizeCap = 1 << 40
	c.Image.MaxConcurrentUploads = 32
	c.Image.UploadIdleTimeout = Duration(time.Minute)
	c.Image.RequireFormatMatch = true
	c.Image.WebDownload.IdleTimeout = Duration(time.Minute)
	c.Compute.Listen = "127.0.0.1:8774"
	c.Compute.LibvirtURI = "qemu:///system"
	c.Compute.VirtType = "kvm"
	c.Policy.ReloadInterval = Duration(2 * time.Second)
	c.Log.Format = "json"
	c.Log.Level = "info"
	return c
}

// Load reads path (if not empty) over the defaults, applies environment
// overrides (STATE_DIR, IMAGESTACK_DATABASE_DSN) and fills derived values.
// Unknown keys are errors, so a typo never silently falls back to a default.
func Load(path string) (Config, error) {
	c := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, fmt.Errorf("config %s: %w", path, err)
		}
		if c.Policy.File != "" && !filepath.IsAbs(c.Policy.File) {
			// A relative policy path is relative to the config file.
			c.Policy.File = filepath.Join(filepath.Dir(path), c.Policy.File)
		}
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
	if c.Image.FilesystemDir == "" {
		c.Image.FilesystemDir = filepath.Join(c.StateDir, "images")
	}
	switch c.Image.Store {
	case "":
		c.Image.Store = "file"
	case "file":
	case "s3":
		if c.Image.S3.Endpoint == "" || c.Image.S3.Bucket == "" {
			return c, errors.New("config: image.store s3 needs image.s3.endpoint and image.s3.bucket")
		}
	default:
		return c, fmt.Errorf("config: image.store must be file or s3, not %q", c.Image.Store)
	}
	if err := c.checkStores(); err != nil {
		return c, err
	}
	if c.Image.SizeCap <= 0 {
		return c, errors.New("config: image.size_cap must be positive")
	}
	if c.Image.MaxConcurrentUploads <= 0 || c.Image.UploadIdleTimeout <= 0 || c.Image.WebDownload.IdleTimeout <= 0 {
		return c, errors.New("config: image.max_concurrent_uploads, image.upload_idle_timeout and image.web_download.idle_timeout must be positive")
	}
	for _, l := range []*Listener{&c.Identity.Listener, &c.Image.Listener, &c.Compute.Listener} {
		if l.PublicURL == "" {
			l.PublicURL = "http://" + l.Listen
		}
		l.PublicURL = strings.TrimRight(l.PublicURL, "/")
	}
	switch c.Compute.VirtType {
	case "kvm", "qemu":
	default:
		return c, fmt.Errorf("config: compute.virt_type must be kvm or qemu, not %q", c.Compute.VirtType)
	}
	if c.Identity.TokenExpiration <= 0 {
		return c, errors.New("config: identity.token_expiration must be positive")
	}
	if c.Identity.LockoutFailureAttempts < 0 || c.Identity.LockoutDuration < 0 {
		return c, errors.New("config: identity.lockout_failure_attempts and identity.lockout_duration must not be negative")
	}
	return c, nil
}

var storeIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$`)

// checkStores validates image.stores and fills in its defaults.
func (c *Config) checkStores() error {
	if len(c.Image.Stores) == 0 {
		if c.Image.DefaultStore != "" {
			return errors.New("config: image.default_store needs image.stores")
		}
		return nil
	}
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
