package tests

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imageimport"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// TestImportWithTheCLI: `image create --import` (glance-direct through
// stage and import) and web-download, including a failed download that leaves
// the image importable again.
func TestImportWithTheCLI(t *testing.T) {
	data := []byte(strings.Repeat("web-download data ", 4096))
	sum := md5.Sum(data)
	web := serveDisk(t, data)
	s := NewServer(t, nil, "image: {web_download: {allowed_networks: [\"127.0.0.1/32\"]}}")

	raw, rawMD5, _ := randomFile(t, 1<<20+3)
	s.MustCLI("demo", "image", "create", "--import", "--file", raw, "--disk-format", "raw", "--container-format", "bare", "direct")
	waitImage(t, s, "direct", "active")
	var m map[string]any
	json.Unmarshal([]byte(s.MustCLI("demo", "image", "show", "-f", "json", "direct")), &m)
	if m["checksum"] != rawMD5 {
		t.Fatalf("glance-direct import: %v", m)
	}

	// web-download (Debian's openstack CLI 6.0 has no --import-method, so
	// gophercloud's imageimport drives it).
	c := imageClient(t, s, "demo")
	webImport := func(name, uri string) string {
		im, err := images.Create(t.Context(), c, images.CreateOpts{Name: name, DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if err := imageimport.Create(t.Context(), c, im.ID, imageimport.CreateOpts{Name: imageimport.WebDownloadMethod, URI: uri}).ExtractErr(); err != nil {
			t.Fatalf("web-download import: %v", err)
		}
		return im.ID
	}
	webImport("fromweb", web.URL+"/disk.raw")
	waitImage(t, s, "fromweb", "active")
	json.Unmarshal([]byte(s.MustCLI("demo", "image", "show", "-f", "json", "fromweb")), &m)
	if m["checksum"] != hex.EncodeToString(sum[:]) {
		t.Fatalf("web-download import: %v", m)
	}

	// A download that fails leaves the image queued, importable again.
	id := webImport("broken", web.URL+"/missing")
	waitTask(t, c, id, "failure")
	waitImage(t, s, "broken", "queued")
	if err := imageimport.Create(t.Context(), c, id, imageimport.CreateOpts{Name: imageimport.WebDownloadMethod, URI: web.URL + "/disk.raw"}).ExtractErr(); err != nil {
		t.Fatalf("re-import: %v", err)
	}
	waitImage(t, s, "broken", "active")
	info, err := imageimport.Get(t.Context(), c).Extract()
	if err != nil || len(info.ImportMethods.Value) < 2 {
		t.Fatalf("import info: %+v %v", info, err)
	}
	// The default policy refuses loopback: without the allow-list this fails.
	s2 := NewServer(t, nil, "")
	c2 := imageClient(t, s2, "demo")
	im, _ := images.Create(t.Context(), c2, images.CreateOpts{Name: "blocked", DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	if err := imageimport.Create(t.Context(), c2, im.ID, imageimport.CreateOpts{Name: imageimport.WebDownloadMethod, URI: web.URL + "/disk.raw"}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitTask(t, c2, im.ID, "failure")
	waitImage(t, s2, "blocked", "queued")
	if entries, _ := os.ReadDir(s2.StateDir + "/images/blobs"); len(entries) != 0 {
		t.Fatalf("a refused import left %d blobs", len(entries))
	}
}

// serveDisk serves data at /disk.raw (and 404 elsewhere) until the test ends.
func serveDisk(t *testing.T, data []byte) *httptest.Server {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/disk.raw" {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	}))
	t.Cleanup(web.Close)
	return web
}

func waitImage(t *testing.T, s *Server, name, status string) {
	t.Helper()
	eventually(t, 30*time.Second, func() (bool, string) {
		out, _, _ := s.CLI("demo", "image", "show", "-f", "value", "-c", "status", name)
		return strings.TrimSpace(out) == status, "image " + name + " is " + strings.TrimSpace(out) + ", want " + status
	})
}

// waitTask waits until the image's latest import task has status.
func waitTask(t *testing.T, c *gophercloud.ServiceClient, imageID, status string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var body struct {
			Tasks []struct {
				Status, Message string
			} `json:"tasks"`
		}
		_, err := c.Get(t.Context(), c.ServiceURL("images", imageID, "tasks"), &body, nil)
		if err == nil && len(body.Tasks) > 0 && body.Tasks[0].Status == status {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("import task of %s never reached %s: %+v %v", imageID, status, body, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
