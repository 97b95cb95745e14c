package libvirt

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"imagestack/compute"
)

// TestCreateLazyDiskChecksTheBaseThroughHTTP: over a base still arriving,
// the header checks of CreateDisk are made through the endpoint (QEMU's
// curl driver, the cookie in each request), and the overlay names the
// base's future local path with the base's size, without opening it.
func TestCreateLazyDiskChecksTheBaseThroughHTTP(t *testing.T) {
	dir := t.TempDir()
	d := &Driver{cfg: Config{Dir: filepath.Join(dir, "instances")}}
	small := filepath.Join(dir, "small.qcow2")
	qemuImg(t, "create", "-q", "-f", "qcow2", small, "10M")
	backed := filepath.Join(dir, "backed.qcow2")
	qemuImg(t, "create", "-q", "-f", "qcow2", "-b", small, "-F", "qcow2", backed)
	huge := filepath.Join(dir, "huge.qcow2")
	qemuImg(t, "create", "-q", "-f", "qcow2", huge, "64T")
	var refused atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("k"); err != nil || c.Value != "secret" {
			refused.Add(1)
			http.Error(w, "forbidden", 403)
			return
		}
		f, err := os.Open(filepath.Join(dir, strings.TrimPrefix(r.URL.Path, "/")))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		http.ServeContent(w, r, "", time.Time{}, f)
	}))
	defer srv.Close()
	lazy := func(name string) compute.LazyBase {
		return compute.LazyBase{URL: srv.URL + "/" + name, CookieName: "k", Cookie: "secret"}
	}
	ctx := context.Background()
	for name, c := range map[string]struct {
		file   string
		rootGB int
		want   string
	}{
		"backing file":  {"backed.qcow2", 1, "backing file"},
		"64 TiB base":   {"huge.qcow2", 1, "Flavor's disk is too small"},
		"no such image": {"missing", 1, "qemu-img info"},
	} {
		err := d.createLazyDisk(ctx, "s", lazy(c.file), filepath.Join(dir, "base"), "qcow2", c.rootGB)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %q", name, err, c.want)
		}
		if _, err := os.Stat(d.serverDir("s")); !os.IsNotExist(err) {
			t.Fatalf("%s: the server directory was created: %v", name, err)
		}
	}
	future := filepath.Join(dir, "not-here-yet")
	if err := d.createLazyDisk(ctx, "z", lazy("small.qcow2"), future, "qcow2", 0); err != nil {
		t.Fatal(err)
	}
	var info struct {
		VirtualSize     int64  `json:"virtual-size"`
		BackingFilename string `json:"backing-filename"`
	}
	json.Unmarshal([]byte(qemuImg(t, "info", "--output=json", "-U", "-f", "qcow2", d.DiskPath("z"))), &info)
	if info.VirtualSize != 10<<20 || info.BackingFilename != future {
		t.Fatalf("overlay %+v, want 10 MiB over %s", info, future)
	}
	if refused.Load() != 0 {
		t.Fatalf("%d requests came without the cookie", refused.Load())
	}
	// The domain reads the same URL, cookie and format as its backing store.
	x, err := d.domainXML(compute.SpawnSpec{ServerID: "z", MemoryMiB: 64, VCPUs: 1, BaseImage: future, BaseFormat: "qcow2", LazyBase: &compute.LazyBase{URL: srv.URL + "/small.qcow2", CookieName: "k", Cookie: "secret"}})
	if err != nil || !strings.Contains(x, `protocol="http" name="/small.qcow2"`) || !strings.Contains(x, `<cookie name="k">secret</cookie>`) || !strings.Contains(x, `<format type="qcow2">`) {
		t.Fatalf("domain XML: %v\n%s", err, x)
	}
}
