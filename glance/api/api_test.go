package api_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"imagestack/glance/glancetest"
	"imagestack/glance/service"
)

type env struct {
	t   *testing.T
	srv *httptest.Server
}

func newEnv(t *testing.T, sizeCap int64) *env {
	return newEnvWith(t, service.Config{SizeCap: sizeCap})
}

func newEnvWith(t *testing.T, cfg service.Config) *env {
	s := glancetest.NewSetup(t, glancetest.WithConfig(cfg), glancetest.WithImport(), glancetest.WithAPI(glancetest.Tokens()))
	return &env{t: t, srv: s.Server}
}

// in is e reporting to t (a subtest's).
func (e *env) in(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

func (e *env) req(method, path, tok string, body io.Reader, hdr ...string) (*http.Response, []byte) {
	e.t.Helper()
	r, _ := http.NewRequest(method, e.srv.URL+path, body)
	r.Header.Set("X-Auth-Token", tok)
	r.Header.Set("Accept", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func (e *env) create(tok, body string) map[string]any {
	e.t.Helper()
	resp, b := e.req("POST", "/v2/images", tok, strings.NewReader(body), "Content-Type", "application/json")
	if resp.StatusCode != 201 {
		e.t.Fatalf("create: %d %s", resp.StatusCode, b)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

func TestCreateWireFormat(t *testing.T) {
	e := newEnv(t, 1<<30)
	resp, b := e.req("POST", "/v2/images", "a", strings.NewReader(`{"name":"x","foo":"bar","min_ram":64}`), "Content-Type", "application/json")
	var m map[string]any
	json.Unmarshal(b, &m)
	if resp.StatusCode != 201 || resp.Header.Get("Location") != e.srv.URL+"/v2/images/"+m["id"].(string) ||
		resp.Header.Get("OpenStack-image-import-methods") == "" {
		t.Fatalf("create: %d %v", resp.StatusCode, resp.Header)
	}
	for _, k := range []string{"id", "name", "status", "visibility", "protected", "os_hidden", "checksum", "os_hash_algo", "os_hash_value",
		"owner", "size", "virtual_size", "container_format", "disk_format", "min_ram", "min_disk", "created_at", "updated_at", "tags", "self", "file", "schema"} {
		if _, ok := m[k]; !ok {
			t.Errorf("image lacks %q", k)
		}
	}
	if m["foo"] != "bar" || m["min_ram"] != 64.0 || m["size"] != nil || m["visibility"] != "shared" || m["owner"] != "A" {
		t.Fatalf("view: %v", m)
	}
	for body, status := range map[string]int{
		`{"status":"active"}`: 403, `{"os_glance_x":"1"}`: 403, `{"self":"x"}`: 403, `{"min_ram":-1}`: 400,
		`{"visibility":"nope"}`: 400, `{"extra":5}`: 400, `[1]`: 400, `{bad json`: 400, `{"id":"nope"}`: 400,
		`{"visibility":"public"}`: 403, `{"owner":"B"}`: 403,
	} {
		t.Run(body, func(t *testing.T) {
			if resp, b := e.in(t).req("POST", "/v2/images", "a", strings.NewReader(body), "Content-Type", "application/json"); resp.StatusCode != status {
				t.Errorf("create %s = %d %s, want %d", body, resp.StatusCode, b, status)
			}
		})
	}
	if resp, _ := e.req("POST", "/v2/images", "a", strings.NewReader(`{"id":"`+m["id"].(string)+`"}`), "Content-Type", "application/json"); resp.StatusCode != 409 {
		t.Fatalf("duplicate id = %d", resp.StatusCode)
	}
}

func TestPatchMediaTypes(t *testing.T) {
	e := newEnv(t, 1<<30)
	id := e.create("a", `{"name":"x"}`)["id"].(string)
	resp, _ := e.req("PATCH", "/v2/images/"+id, "a", strings.NewReader(`[]`), "Content-Type", "application/json")
	if resp.StatusCode != 415 || !strings.Contains(resp.Header.Get("Accept-Patch"), "openstack-images-v2.1-json-patch") {
		t.Fatalf("wrong media type: %d %v", resp.StatusCode, resp.Header)
	}
	v21 := "application/openstack-images-v2.1-json-patch"
	v20 := "application/openstack-images-v2.0-json-patch"
	steps := []struct {
		mt, body string
		status   int
	}{
		{v21, `[{"op":"add","path":"/k~1x","value":"1"}]`, 200},
		{v21, `[{"op":"add","path":"/k~1x","value":"2"}]`, 200},
		{v20, `[{"add":"/k~1x","value":"3"}]`, 409},
		{v20, `[{"replace":"/k~1x","value":"3"}]`, 200},
		{v21, `[{"op":"add","path":"/tags/0","value":"x"}]`, 400},
		{v21, `[{"op":"move","path":"/name","value":"x"}]`, 400},
		{v21, `[{"op":"add","path":"name","value":"x"}]`, 400},
		{v21, `[{"op":"replace","path":"/name"}]`, 400},
		{v21, `{"op":"add"}`, 400},
	}
	for _, s := range steps {
		if resp, b := e.req("PATCH", "/v2/images/"+id, "a", strings.NewReader(s.body), "Content-Type", s.mt); resp.StatusCode != s.status {
			t.Errorf("%s %s = %d %s, want %d", s.mt, s.body, resp.StatusCode, b, s.status)
		}
	}
	_, b := e.req("GET", "/v2/images/"+id, "a", nil)
	if !strings.Contains(string(b), `"k/x":"3"`) {
		t.Fatalf("escaped pointer property: %s", b)
	}
}

func TestListParametersAndLinks(t *testing.T) {
	e := newEnv(t, 1<<30)
	for range 3 {
		e.create("a", `{"name":"same","color":"red"}`)
	}
	resp, b := e.req("GET", "/v2/images?limit=2&color=red&sort=name:asc,created_at&os_hidden=false", "a", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("list: %d %s", resp.StatusCode, b)
	}
	var page map[string]any
	json.Unmarshal(b, &page)
	next, _ := page["next"].(string)
	u, err := url.Parse(next)
	if err != nil || u.Path != "/v2/images" || u.Query().Get("color") != "red" || u.Query().Get("sort") != "name:asc,created_at" || u.Query().Get("marker") == "" || u.Query().Get("limit") != "2" {
		t.Fatalf("next link must keep every parameter: %q", next)
	}
	if page["first"] != "/v2/images?limit=2&color=red&sort=name:asc,created_at&os_hidden=false" || page["schema"] != "/v2/schemas/images" {
		t.Fatalf("first/schema: %v", page)
	}
	for _, q := range []string{"limit=x", "limit=-1", "marker=nope", "sort_key=bogus", "sort_dir=sideways", "sort=name&sort_key=id",
		"visibility=x", "member_status=x", "os_hidden=x", "protected=x", "size_min=x", "size_max=-1", "created_at=x:2020",
		"created_at=gt:notadate", "name=gt:x", "status=in:\"x"} {
		if resp, b := e.req("GET", "/v2/images?"+q, "a", nil); resp.StatusCode != 400 {
			t.Errorf("?%s = %d %s, want 400", q, resp.StatusCode, b)
		}
	}
	e.create("a", `{"name":"ram","min_ram":512}`)
	_, b = e.req("GET", "/v2/images?min_ram=512", "a", nil)
	page = nil
	json.Unmarshal(b, &page)
	if n := len(page["images"].([]any)); n != 1 {
		t.Fatalf("min_ram filters on the core attribute: %d images", n)
	}
	if resp, _ := e.req("GET", "/v2/images?size=abc", "a", nil); resp.StatusCode != 400 {
		t.Fatalf("size=abc = %d", resp.StatusCode)
	}
	if resp, _ := e.req("GET", "/v2/images?limit=5000", "a", nil); resp.StatusCode != 200 {
		t.Fatal("a limit above the maximum is capped, not refused")
	}
	// The last page has no next link.
	_, b = e.req("GET", next, "a", nil)
	page = nil
	json.Unmarshal(b, &page)
	if _, has := page["next"]; has || len(page["images"].([]any)) != 1 {
		t.Fatalf("last page: %s", b)
	}
}

func TestDataWireFormat(t *testing.T) {
	e := newEnv(t, 1<<20)
	id := e.create("a", `{"disk_format":"raw","container_format":"bare"}`)["id"].(string)
	if resp, _ := e.req("GET", "/v2/images/"+id+"/file", "a", nil); resp.StatusCode != 204 {
		t.Fatalf("download without data = %d", resp.StatusCode)
	}
	if resp, _ := e.req("PUT", "/v2/images/"+id+"/file", "a", strings.NewReader("x")); resp.StatusCode != 415 {
		t.Fatalf("upload without octet-stream = %d", resp.StatusCode)
	}
	// Chunked upload (no Content-Length) over the cap: 413, image still queued.
	pr, pw := io.Pipe()
	go func() {
		chunk := make([]byte, 64<<10)
		for i := 0; i < 64; i++ {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Close()
	}()
	resp, b := e.req("PUT", "/v2/images/"+id+"/file", "a", pr, "Content-Type", "application/octet-stream")
	pr.CloseWithError(errors.New("done"))
	if resp.StatusCode != 413 {
		t.Fatalf("over cap = %d %s", resp.StatusCode, b)
	}
	_, b = e.req("GET", "/v2/images/"+id, "a", nil)
	if !strings.Contains(string(b), `"status":"queued"`) {
		t.Fatalf("after 413: %s", b)
	}
	data := []byte("0123456789abcdef")
	if resp, b := e.req("PUT", "/v2/images/"+id+"/file", "a", bytes.NewReader(data), "Content-Type", "application/octet-stream"); resp.StatusCode != 204 {
		t.Fatalf("upload = %d %s", resp.StatusCode, b)
	}
	if resp, _ := e.req("PUT", "/v2/images/"+id+"/file", "a", bytes.NewReader(data), "Content-Type", "application/octet-stream"); resp.StatusCode != 409 {
		t.Fatalf("second upload = %d", resp.StatusCode)
	}
	resp, b = e.req("GET", "/v2/images/"+id+"/file", "a", nil)
	if resp.StatusCode != 200 || !bytes.Equal(b, data) || resp.Header.Get("Content-MD5") != "4032af8d61035123906e58e067140cc5" || resp.Header.Get("Content-Length") != "16" {
		t.Fatalf("download: %d %v %q", resp.StatusCode, resp.Header, b)
	}
	for rng, want := range map[string]string{"bytes=2-4": "234", "bytes=-3": "def", "bytes=14-": "ef", "bytes=10-99": "abcdef"} {
		t.Run(rng, func(t *testing.T) {
			resp, b := e.in(t).req("GET", "/v2/images/"+id+"/file", "a", nil, "Range", rng)
			if resp.StatusCode != 206 || string(b) != want || !strings.HasPrefix(resp.Header.Get("Content-Range"), "bytes ") {
				t.Errorf("Range %s: %d %q %v", rng, resp.StatusCode, b, resp.Header.Get("Content-Range"))
			}
		})
	}
	for _, rng := range []string{"bytes=16-", "bytes=5-2", "items=1-2", "bytes=0-1,3-4"} {
		t.Run(rng, func(t *testing.T) {
			if resp, _ := e.in(t).req("GET", "/v2/images/"+id+"/file", "a", nil, "Range", rng); resp.StatusCode != 416 {
				t.Errorf("Range %s = %d, want 416", rng, resp.StatusCode)
			}
		})
	}
}

func TestHiddenImagesAre404(t *testing.T) {
	e := newEnv(t, 1<<30)
	id := e.create("a", `{"visibility":"private"}`)["id"].(string)
	for _, c := range []struct{ method, path string }{
		{"GET", ""}, {"DELETE", ""}, {"GET", "/file"}, {"PUT", "/tags/x"}, {"GET", "/members"}, {"POST", "/actions/deactivate"},
	} {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			if resp, _ := e.in(t).req(c.method, "/v2/images/"+id+c.path, "b", nil); resp.StatusCode != 404 {
				t.Errorf("%s %s by another project = %d, want 404", c.method, c.path, resp.StatusCode)
			}
		})
	}
	if resp, _ := e.req("GET", "/v2/images/"+id, "adm", nil); resp.StatusCode != 200 {
		t.Fatalf("admin sees every image: %d", resp.StatusCode)
	}
	if resp, _ := e.req("GET", "/v2/images/"+id, "", nil); resp.StatusCode != 401 {
		t.Fatalf("no token: %d", resp.StatusCode)
	}
	if resp, _ := e.req("DELETE", "/v2/images/"+id+"/tags/absent", "a", nil); resp.StatusCode != 404 {
		t.Fatalf("deleting an absent tag: %d", resp.StatusCode)
	}
	if resp, _ := e.req("PUT", "/v2/images/"+id+"/tags/"+strings.Repeat("t", 256), "a", nil); resp.StatusCode != 400 {
		t.Fatalf("a 256-character tag: %d", resp.StatusCode)
	}
}

func TestSchemas(t *testing.T) {
	e := newEnv(t, 1<<30)
	for _, name := range []string{"image", "images", "member", "members"} {
		resp, b := e.req("GET", "/v2/schemas/"+name, "a", nil)
		var m map[string]any
		if resp.StatusCode != 200 || json.Unmarshal(b, &m) != nil || m["name"] != name {
			t.Errorf("schema %s: %d %s", name, resp.StatusCode, b)
		}
	}
}

func TestQuotasAndBaseProperties(t *testing.T) {
	e := newEnv(t, 1<<30)
	var props []string
	for i := range 129 {
		props = append(props, `"p`+strconv.Itoa(i)+`":"v"`)
	}
	if resp, _ := e.req("POST", "/v2/images", "a", strings.NewReader("{"+strings.Join(props, ",")+"}"), "Content-Type", "application/json"); resp.StatusCode != 413 {
		t.Fatalf("129 properties = %d, want 413", resp.StatusCode)
	}
	id := e.create("a", `{"name":"x","kernel_id":null}`)["id"].(string)
	for body, status := range map[string]int{
		`[{"op":"add","path":"/kernel_id","value":"bad"}]`:                               400,
		`[{"op":"add","path":"/kernel_id","value":"` + id + `"}]`:                        200,
		`[{"op":"add","path":"/cinder_encryption_key_deletion_policy","value":"bogus"}]`: 400,
		`[{"op":"add","path":"/os_distro","value":"debian"}]`:                            200,
	} {
		t.Run(body, func(t *testing.T) {
			resp, b := e.in(t).req("PATCH", "/v2/images/"+id, "a", strings.NewReader(body), "Content-Type", "application/openstack-images-v2.1-json-patch")
			if resp.StatusCode != status {
				t.Errorf("%s = %d %s, want %d", body, resp.StatusCode, b, status)
			}
		})
	}
	var tags []string
	for i := range 129 {
		tags = append(tags, `"t`+strconv.Itoa(i)+`"`)
	}
	resp, _ := e.req("PATCH", "/v2/images/"+id, "a", strings.NewReader(`[{"op":"replace","path":"/tags","value":[`+strings.Join(tags, ",")+`]}]`),
		"Content-Type", "application/openstack-images-v2.1-json-patch")
	if resp.StatusCode != 413 {
		t.Fatalf("129 tags = %d, want 413", resp.StatusCode)
	}
	_, b := e.req("GET", "/v2/images?limit=0", "a", nil)
	var page map[string]any
	json.Unmarshal(b, &page)
	if len(page["images"].([]any)) != 0 || page["next"] != nil {
		t.Fatalf("limit=0: %s", b)
	}
	// An admin may set a membership's status on the member's behalf.
	e.req("POST", "/v2/images/"+id+"/members", "a", strings.NewReader(`{"member":"B"}`), "Content-Type", "application/json")
	if resp, b := e.req("PUT", "/v2/images/"+id+"/members/B", "adm", strings.NewReader(`{"status":"accepted"}`), "Content-Type", "application/json"); resp.StatusCode != 200 {
		t.Fatalf("admin accepting: %d %s", resp.StatusCode, b)
	}
}

func TestImportAPI(t *testing.T) {
	e := newEnv(t, 1<<30)
	id := e.create("a", `{"disk_format":"raw","container_format":"bare"}`)["id"].(string)
	imp := func(body string) int {
		resp, _ := e.req("POST", "/v2/images/"+id+"/import", "a", strings.NewReader(body), "Content-Type", "application/json")
		return resp.StatusCode
	}
	if c := imp(`{"method":{"name":"glance-direct"}}`); c != 409 {
		t.Fatalf("glance-direct before staging = %d, want 409", c)
	}
	if c := imp(`{"method":{"name":"web-download","uri":"file:///etc/passwd"}}`); c != 400 {
		t.Fatalf("web-download of file:// = %d, want 400", c)
	}
	if c := imp(`{"method":{"name":"copy-image"}}`); c != 400 {
		t.Fatalf("copy-image with one store = %d, want 400", c)
	}
	if c := imp(`{"method":{"name":"bogus"}}`); c != 400 {
		t.Fatalf("unknown method = %d, want 400", c)
	}
	if resp, _ := e.req("PUT", "/v2/images/"+id+"/stage", "a", strings.NewReader("staged bytes"), "Content-Type", "application/octet-stream"); resp.StatusCode != 204 {
		t.Fatalf("stage = %d", resp.StatusCode)
	}
	_, b := e.req("GET", "/v2/images/"+id, "a", nil)
	if !strings.Contains(string(b), `"status":"uploading"`) || !strings.Contains(string(b), `"size":12`) {
		t.Fatalf("after stage: %s", b)
	}
	if resp, _ := e.req("PUT", "/v2/images/"+id+"/stage", "a", strings.NewReader("x"), "Content-Type", "application/octet-stream"); resp.StatusCode != 409 {
		t.Fatalf("second stage = %d, want 409", resp.StatusCode)
	}
	if c := imp(`{"method":{"name":"glance-direct"}}`); c != 202 {
		t.Fatalf("glance-direct import = %d", c)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, b = e.req("GET", "/v2/images/"+id, "a", nil)
		if strings.Contains(string(b), `"status":"active"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("import never finished: %s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(string(b), `"size":12`) {
		t.Fatalf("imported image: %s", b)
	}
	for {
		_, b = e.req("GET", "/v2/images/"+id+"/tasks", "a", nil)
		if strings.Contains(string(b), `"status":"success"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("image tasks: %s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The finished task released the import lock, as in Glance.
	if _, b = e.req("GET", "/v2/images/"+id, "a", nil); strings.Contains(string(b), `"os_glance_import_task"`) {
		t.Fatalf("import lock kept after the task ended: %s", b)
	}
	if resp, _ := e.req("GET", "/v2/tasks", "a", nil); resp.StatusCode != 403 {
		t.Fatalf("tasks API as member = %d, want 403 (tasks_api_access)", resp.StatusCode)
	}
	if resp, _ := e.req("GET", "/v2/tasks", "adm", nil); resp.StatusCode != 200 {
		t.Fatalf("tasks API as admin = %d", resp.StatusCode)
	}
	_, b = e.req("GET", "/v2/info/import", "a", nil)
	if !strings.Contains(string(b), "glance-direct") || !strings.Contains(string(b), "web-download") {
		t.Fatalf("import info: %s", b)
	}
}

// /healthcheck is answered in front of the API, with the database's state
// (cmd/imagestack, common/httpx.Health).
func TestVersions(t *testing.T) {
	e := newEnv(t, 1<<30)
	for path, status := range map[string]int{"/": 300, "/versions": 200, "/versions/": 200} {
		t.Run(path, func(t *testing.T) {
			if resp, _ := e.in(t).req("GET", path, "", nil); resp.StatusCode != status {
				t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, status)
			}
		})
	}
}

// TestErrorFormats: the error body follows Accept as webob 1.8 chooses it,
// checked against the real Glance 25.
func TestErrorFormats(t *testing.T) {
	e := newEnv(t, 1<<30)
	const path = "/v2/images/00000000-0000-0000-0000-000000000000"
	for accept, want := range map[string]string{
		"":                            "404 Not Found\n\nNo image found with ID 00000000-0000-0000-0000-000000000000\n\n   ",
		"image/png":                   "404 Not Found\n\nNo image found with ID 00000000-0000-0000-0000-000000000000\n\n   ",
		"*/*":                         "<html>",
		"text/html, application/json": "<html>",
		"application/json":            `{"code":"404 Not Found"`,
	} {
		t.Run("Accept "+accept, func(t *testing.T) {
			r, _ := http.NewRequest("GET", e.srv.URL+path, nil)
			r.Header.Set("X-Auth-Token", "a")
			r.Header.Set("Accept", accept)
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 404 || !strings.HasPrefix(string(b), want) {
				t.Errorf("Accept %q: %d %q, want it to start with %q", accept, resp.StatusCode, b, want)
			}
		})
	}
}

// TestStoresWithOneStore: Glance answers 404 when it has a single store.
func TestStoresWithOneStore(t *testing.T) {
	e := newEnv(t, 1<<30)
	for _, c := range []struct{ method, path string }{{"GET", "/v2/info/stores"}, {"GET", "/v2/info/stores/detail"}, {"DELETE", "/v2/stores/local/00000000-0000-0000-0000-000000000000"}} {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			if resp, b := e.in(t).req(c.method, c.path, "adm", nil); resp.StatusCode != 404 {
				t.Errorf("%s %s: %d %s", c.method, c.path, resp.StatusCode, b)
			}
		})
	}
	resp, _ := e.req("POST", "/v2/images", "a", strings.NewReader(`{"name":"x"}`), "Content-Type", "application/json")
	if resp.Header.Get("OpenStack-image-store-ids") != "" {
		t.Fatal("OpenStack-image-store-ids sent with a single store")
	}
}

// A marker with thousands of repeated sort keys made the marker condition
// grow with the square of the key count (2,000 keys: ~400 MiB): such lists
// are refused before any query, and so are huge filter lists.
func TestListRefusesRepeatedSortKeysAndHugeFilters(t *testing.T) {
	e := newEnv(t, 1<<30)
	id := e.create("a", `{"name":"marker"}`)["id"].(string)
	many := func(item string, n int) string { return strings.TrimSuffix(strings.Repeat(item, n), ",") }
	for _, q := range []string{
		"marker=" + id + "&sort=" + many("id,", 2000),
		"marker=" + id + "&sort=name:asc,name:desc",
		"marker=" + id + "&sort_key=size&sort_key=size",
		"marker=" + id + "&" + strings.TrimSuffix(strings.Repeat("sort_key=id&", 2000), "&"),
		"id=in:" + many("x,", 1001),
		strings.TrimSuffix(strings.Repeat("tag=t&", 129), "&"),
	} {
		start := time.Now()
		resp, b := e.req("GET", "/v2/images?"+q, "a", nil)
		if resp.StatusCode != 400 || !strings.Contains(string(b), "400") {
			t.Errorf("?%.60s... = %d %s, want 400", q, resp.StatusCode, b)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("?%.60s... took %v", q, d)
		}
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	before := m.TotalAlloc
	resp, _ := e.req("GET", "/v2/images?marker="+id+"&sort=name,status,container_format,disk_format,size,id,created_at,updated_at", "a", nil)
	runtime.ReadMemStats(&m)
	if resp.StatusCode != 200 || m.TotalAlloc-before > 64<<20 {
		t.Fatalf("every sort key once: %d, %d MiB allocated", resp.StatusCode, (m.TotalAlloc-before)>>20)
	}
}

// GET and PATCH name the image's version in ETag; a PATCH whose If-Match
// names another version changes nothing and is 412.
func TestPatchIfMatch(t *testing.T) {
	e := newEnv(t, 1<<30)
	id := e.create("a", `{"name":"n"}`)["id"].(string)
	resp, _ := e.req("GET", "/v2/images/"+id, "a", nil)
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on GET")
	}
	patch := func(name string, hdr ...string) (*http.Response, []byte) {
		body := `[{"op":"replace","path":"/name","value":"` + name + `"}]`
		return e.req("PATCH", "/v2/images/"+id, "a", strings.NewReader(body),
			append([]string{"Content-Type", "application/openstack-images-v2.1-json-patch"}, hdr...)...)
	}
	resp, b := patch("first", "If-Match", etag)
	if resp.StatusCode != 200 || resp.Header.Get("ETag") == etag || resp.Header.Get("ETag") == "" {
		t.Fatalf("PATCH with the current ETag: %d %s (ETag %q)", resp.StatusCode, b, resp.Header.Get("ETag"))
	}
	if resp, b := patch("second", "If-Match", etag); resp.StatusCode != 412 {
		t.Fatalf("PATCH with a stale ETag: %d %s", resp.StatusCode, b)
	}
	if resp, _ := patch("third", "If-Match", "*"); resp.StatusCode != 200 {
		t.Fatalf("If-Match: * = %d", resp.StatusCode)
	}
	_, b = e.req("GET", "/v2/images/"+id, "a", nil)
	var im map[string]any
	json.Unmarshal(b, &im)
	if im["name"] != "third" {
		t.Fatalf("name = %v", im["name"])
	}
}

// The task of a web-download shows its URI without the credentials in it.
func TestWebDownloadTaskHidesCredentials(t *testing.T) {
	e := newEnv(t, 1<<30)
	id := e.create("a", `{"disk_format":"raw","container_format":"bare"}`)["id"].(string)
	body := `{"method":{"name":"web-download","uri":"http://alice:s3cret@192.0.2.1/disk.img"}}`
	if resp, b := e.req("POST", "/v2/images/"+id+"/import", "a", strings.NewReader(body), "Content-Type", "application/json"); resp.StatusCode != 202 {
		t.Fatalf("import: %d %s", resp.StatusCode, b)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, b := e.req("GET", "/v2/images/"+id+"/tasks", "a", nil)
		if strings.Contains(string(b), "alice") || strings.Contains(string(b), "s3cret") {
			t.Fatalf("the task shows the credentials: %s", b)
		}
		if strings.Contains(string(b), `"status":"failure"`) {
			if !strings.Contains(string(b), "http://192.0.2.1/disk.img") {
				t.Fatalf("task input: %s", b)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("task never failed: %s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
