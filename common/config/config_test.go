package config_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"imagestack/common/config"
	"imagestack/storage/filesystem"
	"imagestack/storage/s3"
)

func write(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsAndDerivedValues(t *testing.T) {
	t.Setenv("STATE_DIR", "")
	t.Setenv("IMAGESTACK_DATABASE_DSN", "")
	c, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	if c.Identity.Listen != "127.0.0.1:5000" || c.Image.Listen != "127.0.0.1:9292" || c.Compute.Listen != "127.0.0.1:8774" {
		t.Fatalf("default ports: %+v", c)
	}
	wd, _ := os.Getwd()
	if c.Identity.PublicURL != "http://127.0.0.1:5000" || c.Database.DSN != "sqlite:"+filepath.Join(wd, "var", "imagestack.db") || c.StateDir != filepath.Join(wd, "var") {
		t.Fatalf("derived: %q %q", c.Identity.PublicURL, c.Database.DSN)
	}
	if c.Identity.TokenExpiration.Std() != time.Hour {
		t.Fatalf("token expiration default %v", c.Identity.TokenExpiration.Std())
	}
	if cc := c.Compute.Console; cc.Listen != "127.0.0.1:6080" || cc.PublicURL != "http://127.0.0.1:6080" ||
		cc.NoVNCDir != "/usr/share/novnc" || cc.TokenTTL.Std() != 600*time.Second {
		t.Fatalf("console defaults (Nova's port 6080 and token_ttl): %+v", cc)
	}
	if c.Identity.LockoutFailureAttempts != 0 || c.Identity.LockoutDuration.Std() != 30*time.Minute {
		t.Fatalf("lockout defaults (off, Keystone's 30 minutes): %d %v", c.Identity.LockoutFailureAttempts, c.Identity.LockoutDuration.Std())
	}
}

func TestFileAndEnvironment(t *testing.T) {
	p := write(t, "state_dir: /srv/x\nidentity:\n  listen: 0.0.0.0:5001\n  public_url: https://id.example.org/\n  token_expiration: 90s\n  lockout_failure_attempts: 5\n  lockout_duration: 0s\npolicy:\n  file: p.yaml\n")
	t.Setenv("STATE_DIR", "/tmp/elsewhere")
	t.Setenv("IMAGESTACK_DATABASE_DSN", "")
	c, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.StateDir != "/tmp/elsewhere" || c.Database.DSN != "sqlite:/tmp/elsewhere/imagestack.db" {
		t.Fatalf("STATE_DIR override: %q %q", c.StateDir, c.Database.DSN)
	}
	if c.Identity.PublicURL != "https://id.example.org" || c.Identity.TokenExpiration.Std() != 90*time.Second ||
		c.Identity.LockoutFailureAttempts != 5 || c.Identity.LockoutDuration != 0 {
		t.Fatalf("identity: %+v", c.Identity)
	}
	if c.Policy.File != filepath.Join(filepath.Dir(p), "p.yaml") {
		t.Fatalf("policy path must be relative to the config file: %q", c.Policy.File)
	}
}

func TestErrors(t *testing.T) {
	cases := map[string]string{
		"identity:\n  listn: x\n":                                        "field listn not found",
		"identity:\n  token_expiration: soon\n":                          "not a duration",
		"compute:\n  virt_type: xen\n":                                   "virt_type must be kvm, qemu or auto",
		"identity:\n  token_expiration: -1s\n":                           "must be positive",
		"identity:\n  lockout_failure_attempts: -1\n":                    "must not be negative",
		"identity:\n  lockout_duration: -5m\n":                           "must not be negative",
		"image:\n  stores: [{id: a, type: file}, {id: a, type: file}]\n": "must be unique",
		"image:\n  stores: [{id: a, type: nfs}]\n":                       "type must be file or s3",
		"image:\n  stores: [{id: a, type: s3}]\n":                        "needs s3.endpoint",
		"image:\n  stores: [{id: a, type: file}]\n  default_store: b\n":  "not one of image.stores",
		"image:\n  default_store: b\n":                                   "needs image.stores",
		"compute:\n  console:\n    token_ttl: 0s\n":                      "token_ttl must be positive",
		"roles: []\n":                 "roles must name at least one",
		"roles: [api, scheduler]\n":   `unknown role "scheduler"`,
		"roles: [api, api]\n":         `"api" is named twice`,
		"cluster:\n  lease_ttl: 0s\n": "lease_ttl, heartbeat_interval and service_down_time must be positive",
	}
	for content, want := range cases {
		_, err := config.Load(write(t, content))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", content, err, want)
		}
	}
}

// roles name what a process runs: both by default (the single process of
// make run), or one of them.
func TestRoles(t *testing.T) {
	for content, want := range map[string]string{"": "api,compute", "roles: [compute]\n": "compute", "roles: [compute, api]\n": "compute,api"} {
		c, err := config.Load(write(t, content))
		if err != nil {
			t.Fatalf("%q: %v", content, err)
		}
		if got := strings.Join(c.Roles, ","); got != want {
			t.Errorf("%q: roles %s, want %s", content, got, want)
		}
	}
}

func TestStores(t *testing.T) {
	c, err := config.Load(write(t, "state_dir: /srv/x\nimage:\n  stores: [{id: fast, type: file}, {id: far, type: file, filesystem_dir: /mnt/far}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Image.DefaultStore != "fast" || c.Image.Stores[0].FilesystemDir != "/srv/x/stores/fast" || c.Image.Stores[1].FilesystemDir != "/mnt/far" {
		t.Fatalf("stores: %+v default %q", c.Image.Stores, c.Image.DefaultStore)
	}
}

// The sample configuration loads and says what the defaults are.
func TestSampleIsTheDefaults(t *testing.T) {
	t.Setenv("STATE_DIR", "")
	t.Setenv("IMAGESTACK_DATABASE_DSN", "")
	sample, err := config.Load("../../etc/imagestack.yaml")
	if err != nil {
		t.Fatal(err)
	}
	def, _ := config.Load("")
	if !slices.Equal(sample.Roles, def.Roles) || sample.Cluster != def.Cluster || sample.Compute.Host != def.Compute.Host {
		t.Fatalf("roles and cluster defaults differ from the sample: %v %+v vs %v %+v", def.Roles, def.Cluster, sample.Roles, sample.Cluster)
	}
	if sample.Compute.Console != def.Compute.Console {
		t.Fatalf("console defaults differ from the sample: %+v vs %+v", def.Compute.Console, sample.Compute.Console)
	}
	if sample.Image.MaxConcurrentUploads != 32 || sample.Image.UploadIdleTimeout.Std() != time.Minute || !sample.Image.RequireFormatMatch ||
		sample.Image.WebDownload.IdleTimeout.Std() != time.Minute {
		t.Fatalf("sample upload limits: %+v", sample.Image)
	}
	if def.Image.MaxConcurrentUploads != sample.Image.MaxConcurrentUploads || def.Image.UploadIdleTimeout != sample.Image.UploadIdleTimeout ||
		def.Image.RequireFormatMatch != sample.Image.RequireFormatMatch || def.Image.WebDownload.IdleTimeout != sample.Image.WebDownload.IdleTimeout {
		t.Fatalf("defaults differ from the sample: %+v vs %+v", def.Image, sample.Image)
	}
}

// Without image.stores, the single store becomes the one entry of the list
// (id "local"), and its settings reach its backend unchanged.
func TestSingleStoreBecomesTheList(t *testing.T) {
	t.Setenv("STATE_DIR", "")
	t.Run("FileByDefault", func(t *testing.T) {
		c, err := config.Load(write(t, "state_dir: /srv/x\n"))
		if err != nil {
			t.Fatal(err)
		}
		if c.Image.MultiStore || c.Image.DefaultStore != "local" || len(c.Image.Stores) != 1 {
			t.Fatalf("stores: %+v default %q multi %v", c.Image.Stores, c.Image.DefaultStore, c.Image.MultiStore)
		}
		st := c.Image.Stores[0]
		var p filesystem.Params
		if err := st.Params().Decode(&p); err != nil || st.ID != "local" || st.Type != "file" || p.Dir != "/srv/x/images" {
			t.Fatalf("store %+v, params %+v (%v)", st, p, err)
		}
	})
	t.Run("S3", func(t *testing.T) {
		c, err := config.Load(write(t, "image:\n  store: s3\n  s3: {endpoint: 'h:9000', bucket: b, secret_key: k, part_size: 5242880, timeout: 5s}\n"))
		if err != nil {
			t.Fatal(err)
		}
		var p s3.Config
		st := c.Image.Stores[0]
		if err := st.Params().Decode(&p); err != nil || st.Type != "s3" {
			t.Fatalf("store %+v: %v", st, err)
		}
		if want := (s3.Config{Endpoint: "h:9000", Bucket: "b", SecretKey: "k", PartSize: 5 << 20, Timeout: 5 * time.Second}); p != want {
			t.Fatalf("s3 params %+v, want %+v", p, want)
		}
	})
	t.Run("SeveralStoresAreMulti", func(t *testing.T) {
		c, err := config.Load(write(t, "image:\n  stores: [{id: local, type: file}]\n"))
		if err != nil || !c.Image.MultiStore {
			t.Fatalf("multi %v: %v", c.Image.MultiStore, err)
		}
	})
}

// The image cache is off by default, 10 GiB under $STATE_DIR when on.
func TestImageCache(t *testing.T) {
	t.Setenv("STATE_DIR", t.TempDir())
	c, err := config.Load(write(t, "image:\n  cache: {enabled: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cc := c.Image.Cache; !cc.Enabled || cc.MaxSize != 10<<30 || cc.Dir != filepath.Join(c.StateDir, "image-cache") {
		t.Fatalf("cache: %+v", cc)
	}
	if c, _ := config.Load(""); c.Image.Cache.Enabled {
		t.Fatal("the cache is on by default")
	}
	if _, err := config.Load(write(t, "image:\n  cache: {max_size: 0}\n")); err == nil || !strings.Contains(err.Error(), "max_size must be positive") {
		t.Fatalf("max_size 0: %v", err)
	}
}
