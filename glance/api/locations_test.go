package api_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"imagestack/glance/glancetest"
	"imagestack/glance/service"
	"imagestack/storage"
	"imagestack/storage/filesystem"
)

const patchType = "application/openstack-images-v2.1-json-patch"

// newLocEnv is an API with show_multiple_locations on (unless cfg says
// otherwise through a zero Config) and the setup, to place blobs.
func newLocEnv(t *testing.T, show bool, opts ...glancetest.Option) (*env, *glancetest.Setup) {
	cfg := service.Config{SizeCap: 1 << 30, ShowMultipleLocations: show, ShowDirectURL: show}
	opts = append([]glancetest.Option{glancetest.WithConfig(cfg), glancetest.WithAPI(glancetest.Tokens())}, opts...)
	s := glancetest.NewSetup(t, opts...)
	return &env{t: t, srv: s.Server}, s
}

// place puts data into fs under key, as an operator copying a file into
// the store would, and returns its location URL.
func place(t *testing.T, fs *filesystem.Store, key string, data []byte) string {
	t.Helper()
	if _, err := fs.Put(context.Background(), key, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	return fs.URL(key)
}

func (e *env) patch(id, tok, body string) (int, map[string]any) {
	e.t.Helper()
	resp, b := e.req("PATCH", "/v2/images/"+id, tok, strings.NewReader(body), "Content-Type", patchType)
	var m map[string]any
	json.Unmarshal(b, &m)
	if m == nil {
		m = map[string]any{}
	}
	m["body"] = string(b)
	return resp.StatusCode, m
}

func addLoc(url string) string {
	return `[{"op":"add","path":"/locations/-","value":{"url":"` + url + `","metadata":{}}}]`
}

func TestPatchLocationsOnlyIntoStores(t *testing.T) {
	e, s := newLocEnv(t, true)
	data := bytes.Repeat([]byte("location data "), 5000)
	good := place(t, s.FS, "placed-1", data)
	id := e.create("adm", `{"name":"x","disk_format":"raw","container_format":"bare","visibility":"public"}`)["id"].(string)
	for _, url := range []string{"http://169.254.169.254/latest/meta-data/", "https://example.com/x.img",
		"file:///etc/passwd", "file://" + s.StoreDir + "/tmp/placed-1", "file://" + s.StoreDir + "/blobs/../blobs/placed-1",
		"file://" + s.StoreDir + "/blobs/missing", "s3://127.0.0.1:9000/bucket/placed-1", "file://host" + s.StoreDir + "/blobs/placed-1"} {
		if st, m := e.patch(id, "adm", addLoc(url)); st != 400 || !strings.Contains(m["body"].(string), "Invalid location") {
			t.Errorf("add %s = %d %v, want 400 Invalid location", url, st, m)
		}
	}
	noFormats := e.create("adm", `{"name":"nf","visibility":"public"}`)["id"].(string)
	if st, m := e.patch(noFormats, "adm", addLoc(good)); st != 400 || e.imageField(noFormats, "status") != "queued" {
		t.Fatalf("data for an image without formats: %d %v", st, m)
	}
	if st, _ := e.patch(id, "a", addLoc(good)); st != 403 {
		t.Fatalf("member of another project adds a location to a public image: %d, want 403", st)
	}
	bad := `[{"op":"add","path":"/locations/-","value":{"url":"` + good + `","metadata":{},"validation_data":{"os_hash_algo":"sha512","os_hash_value":"` + strings.Repeat("0", 128) + `"}}}]`
	if st, m := e.patch(id, "adm", bad); st != 400 || e.imageField(id, "status") != "queued" {
		t.Fatalf("wrong validation_data: %d %v, status %v", st, m, e.imageField(id, "status"))
	}
	sha := sha512.Sum512(data)
	md := md5.Sum(data)
	ok := `[{"op":"add","path":"/locations/-","value":{"url":"` + good + `","metadata":{},"validation_data":{"checksum":"` +
		hex.EncodeToString(md[:]) + `","os_hash_algo":"sha512","os_hash_value":"` + hex.EncodeToString(sha[:]) + `"}}}]`
	st, m := e.patch(id, "adm", ok)
	if st != 200 || m["status"] != "active" || m["checksum"] != hex.EncodeToString(md[:]) || m["size"] != float64(len(data)) || m["direct_url"] != good {
		t.Fatalf("add a store location: %d %v", st, m)
	}
	if locs := m["locations"].([]any); len(locs) != 1 || locs[0].(map[string]any)["url"] != good {
		t.Fatalf("locations: %v", m["locations"])
	}
	if resp, b := e.req("GET", "/v2/images/"+id+"/file", "a", nil); resp.StatusCode != 200 || !bytes.Equal(b, data) {
		t.Fatalf("download: %d, %d bytes", resp.StatusCode, len(b))
	}
	_, b := e.req("GET", "/v2/images/"+id, "a", nil)
	var seen map[string]any
	json.Unmarshal(b, &seen)
	if locs, ok := seen["locations"].([]any); !ok || len(locs) != 0 || seen["direct_url"] != nil {
		t.Fatalf("another project sees locations %v / direct_url %v, want [] and none", seen["locations"], seen["direct_url"])
	}
	for body, want := range map[string]int{
		`[{"op":"remove","path":"/locations/0"}]`:                                           403, // the last one
		`[{"op":"remove","path":"/locations"}]`:                                             400,
		`[{"op":"add","path":"/locations/7","value":{"url":"` + good + `","metadata":{}}}]`: 400,
		`[{"op":"replace","path":"/locations","value":[]}]`:                                 403,
		`[{"op":"add","path":"/locations/-","value":{"url":1}}]`:                            400,
		addLoc(good): 400, // already there
	} {
		if st, m := e.patch(id, "adm", body); st != want {
			t.Errorf("%s = %d %v, want %d", body, st, m, want)
		}
	}
	st, m = e.patch(id, "adm", `[{"op":"replace","path":"/locations","value":[{"url":"`+good+`","metadata":{"k":"v","n":1}}]}]`)
	if st != 200 {
		t.Fatalf("replace with the same list: %d %v", st, m)
	}
	if md := m["locations"].([]any)[0].(map[string]any)["metadata"].(map[string]any); md["k"] != "v" || md["n"] != 1.0 {
		t.Fatalf("metadata after replace: %v", md)
	}
	other := e.create("adm", `{"name":"y","disk_format":"raw","container_format":"bare","visibility":"public"}`)["id"].(string)
	if st, m := e.patch(other, "adm", addLoc(good)); st != 409 || e.imageField(other, "status") != "queued" {
		t.Fatalf("another image's data: %d %v", st, m)
	}
	if _, err := s.FS.Stat(context.Background(), "placed-1"); err != nil {
		t.Fatalf("the data of the first image went: %v", err)
	}
}

func TestLocationsHiddenWhenOff(t *testing.T) {
	e, s := newLocEnv(t, false)
	good := place(t, s.FS, "placed-2", []byte("abc"))
	id := e.create("adm", `{"name":"x","disk_format":"raw","container_format":"bare"}`)["id"].(string)
	if st, m := e.patch(id, "adm", addLoc(good)); st != 403 || !strings.Contains(m["body"].(string), "invisible") {
		t.Fatalf("add with show_multiple_locations off: %d %v", st, m)
	}
	_, b := e.req("GET", "/v2/images/"+id, "adm", nil)
	if strings.Contains(string(b), "locations") || strings.Contains(string(b), "direct_url") {
		t.Fatalf("view shows locations: %s", b)
	}
	// The newer API works without it, for admins (and the service role).
	if resp, b := e.req("POST", "/v2/images/"+id+"/locations", "a", strings.NewReader(`{"url":"`+good+`"}`), "Content-Type", "application/json"); resp.StatusCode != 404 {
		t.Fatalf("member, another project's private image: %d %s", resp.StatusCode, b)
	}
	for _, c := range []struct {
		body string
		want int
	}{
		{`{"url":"http://169.254.169.254/"}`, 400},
		{`{"url":"` + good + `","validation_data":{"os_hash_algo":"sha256"}}`, 400},
		{`{"url":"` + good + `","validation_data":{"os_hash_algo":"sha256","os_hash_value":"00"}}`, 400},
		{`{"url":"` + good + `","validation_data":{"os_hash_algo":"sha256","os_hash_value":"` + sha256Hex("abd") + `"}}`, 400},
		{`{"url":"` + good + `","validation_data":{"os_hash_algo":"sha256","os_hash_value":"` + sha256Hex("abc") + `"}}`, 202},
		{`{"url":"` + good + `"}`, 409}, // active now
	} {
		if resp, b := e.req("POST", "/v2/images/"+id+"/locations", "adm", strings.NewReader(c.body), "Content-Type", "application/json"); resp.StatusCode != c.want {
			t.Errorf("POST %s = %d %s, want %d", c.body, resp.StatusCode, b, c.want)
		}
	}
	resp, b := e.req("GET", "/v2/images/"+id+"/locations", "adm", nil)
	if resp.StatusCode != 200 || string(b) != `[{"url":"`+good+`","metadata":{}}]` {
		t.Fatalf("GET locations: %d %s", resp.StatusCode, b)
	}
	own := e.create("a", `{"name":"mine","disk_format":"raw","container_format":"bare"}`)["id"].(string)
	if resp, _ := e.req("GET", "/v2/images/"+own+"/locations", "a", nil); resp.StatusCode != 403 {
		t.Fatalf("member GET locations of own image: %d, want 403 (service role)", resp.StatusCode)
	}
	if resp, _ := e.req("POST", "/v2/images/"+own+"/locations", "a", strings.NewReader(`{"url":"`+good+`"}`), "Content-Type", "application/json"); resp.StatusCode != 403 {
		t.Fatalf("member POST location to own image: %d, want 403", resp.StatusCode)
	}
}

func TestLocationsAcrossStores(t *testing.T) {
	one, _ := glancetest.NewFS(t)
	two, _ := glancetest.NewFS(t)
	e, _ := newLocEnv(t, true, glancetest.WithStores("one",
		service.Backend{StoreInfo: service.StoreInfo{ID: "one", Type: "file"}, Store: one},
		service.Backend{StoreInfo: service.StoreInfo{ID: "two", Type: "file"}, Store: two}))
	id := e.create("adm", `{"name":"x","disk_format":"raw","container_format":"bare"}`)["id"].(string)
	data := []byte("data in two stores")
	if resp, b := e.req("PUT", "/v2/images/"+id+"/file", "adm", bytes.NewReader(data), "Content-Type", "application/octet-stream"); resp.StatusCode != 204 {
		t.Fatalf("upload: %d %s", resp.StatusCode, b)
	}
	_, b := e.req("GET", "/v2/images/"+id, "adm", nil)
	var m map[string]any
	json.Unmarshal(b, &m)
	loc := m["locations"].([]any)[0].(map[string]any)
	key := loc["url"].(string)[strings.LastIndex(loc["url"].(string), "/")+1:]
	if loc["metadata"].(map[string]any)["store"] != "one" {
		t.Fatalf("location metadata: %v", loc)
	}
	if st, m := e.patch(id, "adm", addLoc(two.URL(key))); st != 400 {
		t.Fatalf("a copy that is not there: %d %v", st, m)
	}
	place(t, two, key, []byte("other data, same name"))
	if st, m := e.patch(id, "adm", addLoc(two.URL(key))); st != 400 {
		t.Fatalf("a copy with other data: %d %v", st, m)
	}
	two.Delete(context.Background(), key)
	place(t, two, key, data)
	withMD := `[{"op":"add","path":"/locations/-","value":{"url":"` + two.URL(key) + `","metadata":{"tier":"cold","store":"forged"}}}]`
	if st, m := e.patch(id, "adm", withMD); st != 200 || len(m["locations"].([]any)) != 2 || m["stores"] != "one,two" ||
		fmt.Sprint(m["locations"].([]any)[1].(map[string]any)["metadata"]) != "map[store:two tier:cold]" {
		t.Fatalf("add the copy in two: %d %v", st, m)
	}
	if st, m := e.patch(id, "adm", `[{"op":"remove","path":"/locations/0"}]`); st != 200 || m["stores"] != "two" {
		t.Fatalf("remove the copy in one: %d %v", st, m)
	}
	if _, err := one.Stat(context.Background(), key); err == nil || !strings.Contains(err.Error(), storage.ErrNotFound.Error()) {
		t.Fatalf("the copy in one is still there: %v", err)
	}
	if resp, b := e.req("GET", "/v2/images/"+id+"/file", "adm", nil); resp.StatusCode != 200 || !bytes.Equal(b, data) {
		t.Fatalf("download from two: %d %q", resp.StatusCode, b)
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
