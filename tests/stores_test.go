package tests

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imageimport"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// storesImport is an import request naming stores, which gophercloud's
// imageimport.CreateOpts cannot express; Create accepts any builder.
type storesImport struct {
	Method      string
	Stores      []string
	AllStores   bool
	MustSucceed *bool
}

func (o storesImport) ToImportCreateMap() (map[string]any, error) {
	m := map[string]any{"method": map[string]any{"name": o.Method}}
	if o.Stores != nil {
		m["stores"] = o.Stores
	}
	if o.AllStores {
		m["all_stores"] = true
	}
	if o.MustSucceed != nil {
		m["all_stores_must_succeed"] = *o.MustSucceed
	}
	return m, nil
}

// rawImage GETs /v2/images/{id} as JSON (gophercloud drops "stores").
func rawImage(t *testing.T, c *gophercloud.ServiceClient, id string) map[string]any {
	t.Helper()
	var m map[string]any
	if _, err := c.Get(t.Context(), c.ServiceURL("images", id), &m, nil); err != nil {
		t.Fatal(err)
	}
	return m
}

func waitStores(t *testing.T, c *gophercloud.ServiceClient, id, want string) map[string]any {
	t.Helper()
	var m map[string]any
	eventually(t, 60*time.Second, func() (bool, string) {
		m = rawImage(t, c, id)
		return m["stores"] == want && m["os_glance_importing_to_stores"] != nil && m["os_glance_importing_to_stores"] == "",
			fmt.Sprintf("stores %v (importing to %v), want %s", m["stores"], m["os_glance_importing_to_stores"], want)
	})
	return m
}

// glanceCLI runs glanceclient with stdin closed: it takes any other
// non-terminal stdin for image data.
func glanceCLI(t *testing.T, s *Server, cloud string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("sh", append([]string{"-c", `exec glance "$@" <&-`, "glance"}, args...)...)
	cmd.Env = cloudEnv(s.Cloud(cloud))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustGlance(t *testing.T, s *Server, cloud string, args ...string) string {
	t.Helper()
	out, err := glanceCLI(t, s, cloud, args...)
	if err != nil {
		t.Fatalf("glance %v: %v\n%s", args, err, out)
	}
	return out
}

func downloadMD5(t *testing.T, c *gophercloud.ServiceClient, id string) string {
	t.Helper()
	rc, err := imagedata.Download(t.Context(), c, id).Extract()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h := md5.New()
	io.Copy(h, rc)
	return hex.EncodeToString(h.Sum(nil))
}

func fileBlobs(t *testing.T, dir string) int {
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return len(entries)
}

// TestSeveralStores runs a local filesystem store and a MinIO bucket side
// by side: store discovery, choosing the store on upload, copy-image,
// imports to several stores, removing data from one store, and what each
// user may do, with glanceclient, the openstack CLI and gophercloud.
func TestSeveralStores(t *testing.T) {
	endpoint, _ := startMinIO(t)
	webData := bytes.Repeat([]byte("web-download to several stores "), 20000)
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(webData) }))
	defer web.Close()
	s := NewServer(t, nil, `image:
  web_download: {allowed_networks: ["127.0.0.1/32"]}
  default_store: fast
  stores:
    - {id: fast, type: file, description: "Local disk"}
    - id: cheap
      type: s3
      description: "Object storage"
      s3: {endpoint: "`+endpoint+`", bucket: images, access_key: imagestack, secret_key: imagestack-secret, create_bucket: true, part_size: 5242880, concurrency: 2}
`)
	ctx := t.Context()
	demo, admin := imageClient(t, s, "demo"), imageClient(t, s, "admin")
	fastBlobs := s.StateDir + "/stores/fast/blobs"

	// Discovery: /v2/info/stores for everyone, the detail for admins.
	var info struct {
		Stores []map[string]any `json:"stores"`
	}
	if _, err := demo.Get(ctx, demo.ServiceURL("info", "stores"), &info, nil); err != nil {
		t.Fatal(err)
	}
	if len(info.Stores) != 2 || info.Stores[0]["id"] != "fast" || info.Stores[0]["default"] != "true" ||
		info.Stores[1]["id"] != "cheap" || info.Stores[1]["description"] != "Object storage" || info.Stores[1]["default"] != nil {
		t.Fatalf("info/stores: %v", info.Stores)
	}
	if _, err := demo.Get(ctx, demo.ServiceURL("info", "stores", "detail"), &info, nil); !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		t.Fatalf("a member read the store details: %v", err)
	}
	if _, err := admin.Get(ctx, admin.ServiceURL("info", "stores", "detail"), &info, nil); err != nil || info.Stores[1]["type"] != "s3" || info.Stores[0]["type"] != "file" {
		t.Fatalf("info/stores/detail: %v %v", info.Stores, err)
	}
	if out := mustGlance(t, s, "demo", "stores-info"); !strings.Contains(out, "fast") || !strings.Contains(out, "cheap") {
		t.Fatalf("glance stores-info: %s", out)
	}

	// The openstack CLI uploads to the default store; the creation answer
	// names every store.
	raw, rawMD5, _ := randomFile(t, 3<<20+11)
	s.MustCLI("demo", "image", "create", "--file", raw, "--disk-format", "raw", "--container-format", "bare", "on-fast")
	id := strings.TrimSpace(s.MustCLI("demo", "image", "show", "-f", "value", "-c", "id", "on-fast"))
	if m := rawImage(t, demo, id); m["stores"] != "fast" {
		t.Fatalf("default store upload: stores = %v", m["stores"])
	}
	cr := images.Create(ctx, demo, images.CreateOpts{Name: "on-cheap", DiskFormat: "raw", ContainerFormat: "bare"})
	if got := cr.Header.Get("OpenStack-image-store-ids"); got != "fast,cheap" {
		t.Fatalf("OpenStack-image-store-ids: %q", got)
	}
	if !strings.Contains(cr.Header.Get("OpenStack-image-import-methods"), "copy-image") {
		t.Fatalf("import methods: %q", cr.Header.Get("OpenStack-image-import-methods"))
	}
	onCheap, err := cr.Extract()
	if err != nil {
		t.Fatal(err)
	}

	// glanceclient chooses the store (X-Image-Meta-Store); an unknown one is 400.
	if out, err := glanceCLI(t, s, "demo", "image-upload", "--store", "nowhere", "--file", raw, onCheap.ID); err == nil {
		t.Fatalf("upload to an unknown store succeeded: %s", out)
	}
	mustGlance(t, s, "demo", "image-upload", "--store", "cheap", "--file", raw, onCheap.ID)
	if m := rawImage(t, demo, onCheap.ID); m["stores"] != "cheap" || m["checksum"] != rawMD5 {
		t.Fatalf("upload to cheap: %v", m)
	}
	if objs, _ := bucketCounts(t, endpoint); objs != 1 {
		t.Fatalf("bucket holds %d objects, want 1", objs)
	}
	if got := downloadMD5(t, demo, onCheap.ID); got != rawMD5 {
		t.Fatal("data read back from the s3 store differs")
	}

	// copy-image is admin-only under Glance's defaults.
	err = imageimport.Create(ctx, demo, id, storesImport{Method: "copy-image", Stores: []string{"cheap"}}).ExtractErr()
	if !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		t.Fatalf("copy-image as a member: %v", err)
	}
	// The admin copies with glanceclient; the image stays active throughout.
	mustGlance(t, s, "admin", "image-import", "--import-method", "copy-image", "--stores", "cheap", id)
	m := waitStores(t, demo, id, "fast,cheap")
	if m["status"] != "active" || m["os_glance_failed_import"] != "" {
		t.Fatalf("after copy-image: %v", m)
	}
	if objs, _ := bucketCounts(t, endpoint); objs != 2 {
		t.Fatalf("bucket holds %d objects after the copy, want 2", objs)
	}
	// Copying again to a store that has it is refused.
	err = imageimport.Create(ctx, admin, id, storesImport{Method: "copy-image", Stores: []string{"cheap"}}).ExtractErr()
	if !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Fatalf("second copy to the same store: %v", err)
	}

	// DELETE /v2/stores/fast/{id} (glance stores-delete, admin-only as
	// delete_image_location): the data is then served from the bucket; the
	// last copy cannot be removed.
	if out, err := glanceCLI(t, s, "demo", "stores-delete", "--store", "fast", id); err == nil || !strings.Contains(out, "403") {
		t.Fatalf("a member removed image data from a store: %v %s", err, out)
	}
	mustGlance(t, s, "admin", "stores-delete", "--store", "fast", id)
	if m := rawImage(t, demo, id); m["stores"] != "cheap" {
		t.Fatalf("after stores-delete: stores = %v", m["stores"])
	}
	if n := fileBlobs(t, fastBlobs); n != 0 {
		t.Fatalf("%d blobs left in the fast store", n)
	}
	if got := downloadMD5(t, demo, id); got != rawMD5 {
		t.Fatal("data served from the remaining store differs")
	}
	_, err = admin.Delete(ctx, admin.ServiceURL("stores", "cheap", id), nil)
	if !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		t.Fatalf("removing the last copy: %v", err)
	}
	_, err = admin.Delete(ctx, admin.ServiceURL("stores", "fast", id), nil)
	if !gophercloud.ResponseCodeIs(err, http.StatusForbidden) { // Glance: the last copy first
		t.Fatalf("removing data from a store without it: %v", err)
	}
	_, err = admin.Delete(ctx, admin.ServiceURL("stores", "nowhere", id), nil)
	if !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
		t.Fatalf("removing data from an unknown store: %v", err)
	}

	// glance-direct to all stores (gophercloud): active once both have it.
	staged, _ := images.Create(ctx, demo, images.CreateOpts{Name: "everywhere", DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	f, _ := os.Open(raw)
	err = imageimport.Create(ctx, demo, staged.ID, storesImport{Method: "glance-direct", AllStores: true}).ExtractErr()
	if !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
		t.Fatalf("glance-direct before staging: %v", err)
	}
	if err := imagedata.Stage(ctx, demo, staged.ID, f).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := imageimport.Create(ctx, demo, staged.ID, storesImport{Method: "glance-direct", AllStores: true}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if m := waitStores(t, demo, staged.ID, "fast,cheap"); m["status"] != "active" || m["checksum"] != rawMD5 {
		t.Fatalf("glance-direct to all stores: %v", m)
	}
	// glanceclient's image-create-via-import: web-download into both stores.
	out := mustGlance(t, s, "demo", "image-create-via-import", "--name", "from-web", "--disk-format", "raw", "--container-format", "bare",
		"--import-method", "web-download", "--uri", web.URL+"/disk.raw", "--stores", "fast,cheap", "--allow-failure", "False")
	webID := ""
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(strings.ReplaceAll(line, "|", " ")); len(f) == 2 && f[0] == "id" {
			webID = f[1]
		}
	}
	webSum := md5.Sum(webData)
	if m := waitStores(t, demo, webID, "fast,cheap"); m["status"] != "active" || m["checksum"] != hex.EncodeToString(webSum[:]) {
		t.Fatalf("web-download to both stores: %v", m)
	}

	// Naming an unknown store in an import is a conflict; naming stores with
	// all_stores a bad request.
	other, _ := images.Create(ctx, demo, images.CreateOpts{Name: "other", DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	err = imageimport.Create(ctx, demo, other.ID, storesImport{Method: "web-download", Stores: []string{"nowhere"}}).ExtractErr()
	if !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) && !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
		t.Fatalf("import to an unknown store: %v", err)
	}
	err = imageimport.Create(ctx, demo, other.ID, storesImport{Method: "glance-direct", Stores: []string{"fast"}, AllStores: true}).ExtractErr()
	if !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) && !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
		t.Fatalf("stores with all_stores: %v", err)
	}

	// Deleting the images removes their data from every store.
	for _, im := range []string{id, onCheap.ID, staged.ID, other.ID, webID} {
		if err := images.Delete(ctx, demo, im).ExtractErr(); err != nil {
			t.Fatal(err)
		}
	}
	if objs, inc := bucketCounts(t, endpoint); objs != 0 || inc != 0 {
		t.Fatalf("bucket holds %d objects and %d unfinished uploads after the deletes", objs, inc)
	}
	if n := fileBlobs(t, fastBlobs); n != 0 {
		t.Fatalf("%d blobs left in the fast store after the deletes", n)
	}
	var list struct {
		Images []json.RawMessage `json:"images"`
	}
	if _, err := demo.Get(ctx, demo.ServiceURL("images"), &list, nil); err != nil || len(list.Images) != 0 {
		t.Fatalf("images left: %d %v", len(list.Images), err)
	}
}

// TestStoreOutageDuringImports: with the bucket down, an import that must
// reach every store fails and leaves the image queued with no data in any
// store, and a copy-image fails without touching the image's data.
func TestStoreOutageDuringImports(t *testing.T) {
	endpoint, stopMinIO := startMinIO(t)
	s := NewServer(t, nil, `image:
  stores:
    - {id: fast, type: file}
    - {id: cheap, type: s3, s3: {endpoint: "`+endpoint+`", bucket: images, access_key: imagestack, secret_key: imagestack-secret, create_bucket: true}}
`)
	ctx := t.Context()
	demo, admin := imageClient(t, s, "demo"), imageClient(t, s, "admin")
	fastBlobs := s.StateDir + "/stores/fast/blobs"
	raw, rawMD5, _ := randomFile(t, 2<<20+5)
	s.MustCLI("demo", "image", "create", "--file", raw, "--disk-format", "raw", "--container-format", "bare", "kept")
	kept := strings.TrimSpace(s.MustCLI("demo", "image", "show", "-f", "value", "-c", "id", "kept"))
	stopMinIO()

	// glance-direct to both stores, all must succeed (the default).
	im, _ := images.Create(ctx, demo, images.CreateOpts{Name: "both", DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	f, _ := os.Open(raw)
	if err := imagedata.Stage(ctx, demo, im.ID, f).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := imageimport.Create(ctx, demo, im.ID, storesImport{Method: "glance-direct", Stores: []string{"fast", "cheap"}}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitTask(t, demo, im.ID, "failure")
	m := rawImage(t, demo, im.ID)
	if m["status"] != "queued" || m["stores"] != nil || m["os_glance_failed_import"] != "cheap" {
		t.Fatalf("after a failed import to both stores: %v", m)
	}
	if n := fileBlobs(t, fastBlobs); n != 1 { // only "kept"
		t.Fatalf("a failed import left data in the fast store: %d blobs", n)
	}

	// Allowing failures: the image becomes active in fast, cheap is recorded as failed.
	f, _ = os.Open(raw)
	if err := imagedata.Stage(ctx, demo, im.ID, f).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	no := false
	if err := imageimport.Create(ctx, demo, im.ID, storesImport{Method: "glance-direct", Stores: []string{"fast", "cheap"}, MustSucceed: &no}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	m = waitStores(t, demo, im.ID, "fast")
	if m["status"] != "active" || m["os_glance_failed_import"] != "cheap" || m["checksum"] != rawMD5 {
		t.Fatalf("after an import allowed to fail in one store: %v", m)
	}

	// copy-image to the stopped store: the image keeps its data and status.
	if err := imageimport.Create(ctx, admin, kept, storesImport{Method: "copy-image", Stores: []string{"cheap"}}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitTask(t, admin, kept, "failure")
	m = rawImage(t, demo, kept)
	if m["status"] != "active" || m["stores"] != "fast" || m["os_glance_failed_import"] != "cheap" || m["os_glance_importing_to_stores"] != "" {
		t.Fatalf("after a failed copy: %v", m)
	}
	if got := downloadMD5(t, demo, kept); got != rawMD5 {
		t.Fatal("the image's data changed after a failed copy")
	}
	// Upload straight to the stopped store: 503, image back to queued.
	q, _ := images.Create(ctx, demo, images.CreateOpts{Name: "q", DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	req, _ := http.NewRequest("PUT", s.ImageURL+"/v2/images/"+q.ID+"/file", strings.NewReader("data"))
	req.Header.Set("X-Auth-Token", demo.TokenID)
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("X-Image-Meta-Store", "cheap")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("upload to a stopped store: %d", resp.StatusCode)
	}
	if m := rawImage(t, demo, q.ID); m["status"] != "queued" {
		t.Fatalf("after a failed upload: %v", m["status"])
	}
}
