package tests

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// TestImageCacheOnS3 runs the image API on a MinIO bucket with the image
// cache on, driven by glanceclient's cache commands: a queued image is
// cached by the worker, concurrent downloads of an uncached image fetch it
// from the bucket once and all get the exact bytes, ranges come from the
// cache, the cache survives a restart, and cache-delete and cache-clear
// empty it.
func TestImageCacheOnS3(t *testing.T) {
	endpoint, _ := startMinIO(t)
	s := NewServer(t, nil, "image: {store: s3, s3: {endpoint: \""+endpoint+"\", bucket: images, access_key: imagestack, "+
		"secret_key: imagestack-secret, create_bucket: true}, cache: {enabled: true, max_size: 67108864}}")
	c, admin := imageClient(t, s, "demo"), imageClient(t, s, "admin")
	ids, data := make([]string, 2), make([][]byte, 2)
	for i := range ids {
		data[i] = make([]byte, 3<<20+i)
		rand.Read(data[i])
		im, err := images.Create(t.Context(), c, images.CreateOpts{Name: fmt.Sprint("cached-", i), DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if err := imagedata.Upload(t.Context(), c, im.ID, bytes.NewReader(data[i])).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		ids[i] = im.ID
	}
	cacheCLI(t, s, "cache-queue", ids[0])
	waitCached(t, s, admin.TokenID, ids[0])
	if !cliShowsCached(cacheCLI(t, s, "cache-list"), ids[0]) {
		t.Fatal("cache-list does not show the queued image cached")
	}

	// Four clients download the uncached image at once.
	var wg sync.WaitGroup
	got := make([][]byte, 4)
	for i := range got {
		wg.Add(1)
		go func() { defer wg.Done(); got[i] = download(t, s, c.TokenID, ids[1], "") }()
	}
	wg.Wait()
	for i := range got {
		if !bytes.Equal(got[i], data[1]) {
			t.Fatalf("concurrent download %d: %d bytes, not the image's", i, len(got[i]))
		}
	}
	waitCached(t, s, admin.TokenID, ids[1])
	if n := strings.Count(s.log.String(), "image cache: image cached\" image="+ids[1]); n != 1 {
		t.Fatalf("the image was fetched from the bucket %d times for 4 concurrent downloads, want 1", n)
	}
	if b := download(t, s, c.TokenID, ids[0], "bytes=2000000-2000099"); !bytes.Equal(b, data[0][2000000:2000100]) {
		t.Fatal("range from the cache differs")
	}

	s.Stop()
	s.Start()
	waitCached(t, s, admin.TokenID, ids[0], ids[1])
	if b := download(t, s, c.TokenID, ids[0], ""); !bytes.Equal(b, data[0]) {
		t.Fatal("download from the cache after a restart differs")
	}
	cacheCLI(t, s, "cache-delete", ids[0])
	if st := cacheState(t, s, admin.TokenID); strings.Contains(st, ids[0]) || !strings.Contains(st, ids[1]) {
		t.Fatalf("after cache-delete: %s", st)
	}
	cacheCLI(t, s, "cache-clear")
	if st := cacheState(t, s, admin.TokenID); st != `{"cached_images":[],"queued_images":[]}` {
		t.Fatalf("after cache-clear: %s", st)
	}
	if b := download(t, s, c.TokenID, ids[1], ""); !bytes.Equal(b, data[1]) {
		t.Fatal("download after cache-clear differs")
	}
}

// cacheCLI runs a glanceclient cache command as admin against the image
// endpoint itself (glanceclient refuses catalog endpoints for them).
func cacheCLI(t *testing.T, s *Server, args ...string) string {
	t.Helper()
	out := mustGlance(t, s, "admin", append([]string{"--os-image-url", s.ImageURL}, args...)...)
	if strings.Contains(out, "Unable to") || strings.Contains(out, "not permitted") {
		t.Fatalf("glance %v:\n%s", args, out)
	}
	return out
}

// cliShowsCached reports whether cache-list's table has the image cached.
func cliShowsCached(out, id string) bool {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Split(line, "|"); len(f) > 2 && strings.TrimSpace(f[1]) == id && strings.TrimSpace(f[2]) == "cached" {
			return true
		}
	}
	return false
}

// cacheState is GET /v2/cache's body.
func cacheState(t *testing.T, s *Server, token string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", s.ImageURL+"/v2/cache", nil)
	req.Header.Set("X-Auth-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /v2/cache: %d %s", resp.StatusCode, b)
	}
	return string(b)
}

// waitCached waits until GET /v2/cache lists the images cached.
func waitCached(t *testing.T, s *Server, token string, ids ...string) {
	t.Helper()
	eventually(t, 30*time.Second, func() (bool, string) {
		st := cacheState(t, s, token)
		for _, id := range ids {
			if !strings.Contains(st, `"image_id":"`+id+`"`) {
				return false, st
			}
		}
		return true, ""
	})
}

// download reads an image's data over HTTP (a Range when rng is set).
func download(t *testing.T, s *Server, token, id, rng string) []byte {
	req, _ := http.NewRequest("GET", s.ImageURL+"/v2/images/"+id+"/file", nil)
	req.Header.Set("X-Auth-Token", token)
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || (resp.StatusCode != 200 && resp.StatusCode != 206) {
		t.Errorf("download %s: %d %v", id, resp.StatusCode, err)
	}
	return b
}
