package api_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"imagestack/glance/glancetest"
)

// cacheState is GET /v2/cache's body.
type cacheState struct {
	Cached []struct {
		ImageID      string  `json:"image_id"`
		Hits         int64   `json:"hits"`
		LastAccessed float64 `json:"last_accessed"`
		LastModified float64 `json:"last_modified"`
		Size         int64   `json:"size"`
	} `json:"cached_images"`
	Queued []string `json:"queued_images"`
}

func (e *env) cacheState() cacheState {
	e.t.Helper()
	resp, b := e.req("GET", "/v2/cache", "adm", nil)
	var st cacheState
	if resp.StatusCode != 200 || json.Unmarshal(b, &st) != nil || st.Cached == nil || st.Queued == nil {
		e.t.Fatalf("GET /v2/cache: %d %s", resp.StatusCode, b)
	}
	return st
}

// uploaded creates an image of project A (public, so every token may read
// it) holding data.
func (e *env) uploaded(data []byte) string {
	e.t.Helper()
	id := e.create("adm", `{"name":"c","disk_format":"raw","container_format":"bare","visibility":"public"}`)["id"].(string)
	if resp, b := e.req("PUT", "/v2/images/"+id+"/file", "adm", bytes.NewReader(data), "Content-Type", "application/octet-stream"); resp.StatusCode != 204 {
		e.t.Fatalf("upload: %d %s", resp.StatusCode, b)
	}
	return id
}

// Without a cache the API answers as the issue asks: empty lists, and
// removing is a no-op; queueing is Glance's 404. Policy comes first.
func TestCacheAPIWithoutCache(t *testing.T) {
	e := newEnv(t, 1<<30)
	if st := e.cacheState(); len(st.Cached)+len(st.Queued) != 0 {
		t.Fatalf("state: %+v", st)
	}
	id := e.uploaded([]byte("data"))
	for _, c := range []struct {
		method, path, tok string
		status            int
		hdr               []string
	}{
		{"GET", "/v2/cache", "a", 403, nil},
		{"DELETE", "/v2/cache", "a", 403, nil},
		{"PUT", "/v2/cache/" + id, "a", 403, nil},
		{"DELETE", "/v2/cache/" + id, "a", 403, nil},
		{"PUT", "/v2/cache/" + id, "adm", 404, nil},
		{"PUT", "/v2/cache/nope", "adm", 404, nil},
		{"DELETE", "/v2/cache/nope", "adm", 404, nil},
		{"DELETE", "/v2/cache/" + id, "adm", 204, nil},
		{"DELETE", "/v2/cache", "adm", 204, nil},
		{"DELETE", "/v2/cache", "adm", 204, []string{"X-Image-Cache-Clear-Target", "queue"}},
		{"DELETE", "/v2/cache", "adm", 400, []string{"X-Image-Cache-Clear-Target", "both"}},
		{"POST", "/v2/cache", "adm", 405, nil},
	} {
		if resp, b := e.req(c.method, c.path, c.tok, nil, c.hdr...); resp.StatusCode != c.status {
			t.Errorf("%s %s as %s %v = %d %s, want %d", c.method, c.path, c.tok, c.hdr, resp.StatusCode, b, c.status)
		}
	}
	if resp, _ := e.req("GET", "/versions", "", nil); resp.StatusCode != 200 {
		t.Fatal("versions")
	}
	_, b := e.req("GET", "/versions", "", nil)
	if !strings.Contains(string(b), `"v2.14"`) || !strings.Contains(string(b), `{"id":"v2.16","status":"CURRENT"`) {
		t.Fatalf("versions lack the cache API's: %s", b)
	}
}

// With a cache: a queued image is cached by the worker, downloads (whole
// and ranges) are byte-exact from it and counted, and deleting,
// deactivating or clearing drops it.
func TestCacheAPIQueueDownloadDrop(t *testing.T) {
	s := glancetest.NewSetup(t, glancetest.WithCache(1<<30), glancetest.WithAPI(glancetest.Tokens()))
	e := &env{t: t, srv: s.Server}
	data := make([]byte, 300<<10)
	rand.Read(data)
	id := e.uploaded(data)
	queued := e.create("adm", `{"name":"q"}`)["id"].(string)
	if resp, b := e.req("PUT", "/v2/cache/"+queued, "adm", nil); resp.StatusCode != 400 {
		t.Fatalf("queue a queued image: %d %s", resp.StatusCode, b)
	}
	if resp, b := e.req("PUT", "/v2/cache/"+id, "adm", nil); resp.StatusCode != 202 {
		t.Fatalf("queue: %d %s", resp.StatusCode, b)
	}
	e.waitCached(id)
	before := time.Now()
	if resp, b := e.req("GET", "/v2/images/"+id+"/file", "b", nil); resp.StatusCode != 200 || !bytes.Equal(b, data) ||
		resp.Header.Get("Content-MD5") == "" {
		t.Fatalf("download: %d, %d bytes", resp.StatusCode, len(b))
	}
	if resp, b := e.req("GET", "/v2/images/"+id+"/file", "b", nil, "Range", "bytes=1000-1999"); resp.StatusCode != 206 || !bytes.Equal(b, data[1000:2000]) {
		t.Fatalf("range: %d, %d bytes", resp.StatusCode, len(b))
	}
	st := e.cacheState()
	if c := st.Cached[0]; c.Hits != 2 || c.Size != int64(len(data)) || c.LastAccessed < float64(before.Unix()) || c.LastModified == 0 {
		t.Fatalf("entry: %+v", c)
	}
	if resp, _ := e.req("POST", "/v2/images/"+id+"/actions/deactivate", "adm", nil); resp.StatusCode != 204 || len(e.cacheState().Cached) != 0 {
		t.Fatalf("deactivate: %d, state %+v", resp.StatusCode, e.cacheState())
	}
	e.req("POST", "/v2/images/"+id+"/actions/reactivate", "adm", nil)
	// A download caches the image too.
	if resp, b := e.req("GET", "/v2/images/"+id+"/file", "a", nil); resp.StatusCode != 200 || !bytes.Equal(b, data) {
		t.Fatalf("download after reactivation: %d", resp.StatusCode)
	}
	e.waitCached(id)
	if resp, _ := e.req("DELETE", "/v2/cache/"+id, "adm", nil); resp.StatusCode != 204 || len(e.cacheState().Cached) != 0 {
		t.Fatalf("cache-delete: %d", resp.StatusCode)
	}
	e.req("PUT", "/v2/cache/"+id, "adm", nil)
	e.waitCached(id)
	if resp, _ := e.req("DELETE", "/v2/cache", "adm", nil, "X-Image-Cache-Clear-Target", "queue"); resp.StatusCode != 204 || len(e.cacheState().Cached) != 1 {
		t.Fatal("clearing the queue cleared the cache")
	}
	if resp, _ := e.req("DELETE", "/v2/images/"+id, "adm", nil); resp.StatusCode != 204 || len(e.cacheState().Cached) != 0 || s.Cache.Used() != 0 {
		t.Fatalf("delete image: %d, state %+v", resp.StatusCode, e.cacheState())
	}
	if resp, _ := e.req("DELETE", "/v2/cache/"+id, "adm", nil); resp.StatusCode != 404 {
		t.Fatalf("cache-delete of a deleted image: %d", resp.StatusCode)
	}
}

func (e *env) waitCached(id string) {
	e.t.Helper()
	for i := 0; i < 500; i++ {
		st := e.cacheState()
		if len(st.Cached) == 1 && st.Cached[0].ImageID == id && len(st.Queued) == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatalf("image %s not cached within 5 s: %+v", id, e.cacheState())
}
