package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"imagestack/glance"
	glancedb "imagestack/glance/db"
	"imagestack/glance/glancetest"
	"imagestack/glance/service"
	"imagestack/policy/keystone/keystonetest"
)

// The PATCH media types, as clients send them.
const (
	patchV21 = "application/openstack-images-v2.1-json-patch"
	patchV20 = "application/openstack-images-v2.0-json-patch"
)

// patchEnv is one image API over SQLite, shared by every input of a fuzz
// worker; each input gets an image of its own.
type patchEnv struct {
	svc     *service.Service
	repo    *glancedb.Repo
	handler http.Handler
	tokens  keystonetest.Tokens
}

func newPatchEnv(tb testing.TB) *patchEnv {
	toks := keystonetest.Tokens{"owner": keystonetest.Token("A", "member", "reader"),
		"admin": keystonetest.Token("Z", "admin", "member", "reader")}
	s := glancetest.NewSetup(tb, glancetest.WithAPI(toks))
	return &patchEnv{svc: s.Service, repo: s.Repo, tokens: toks, handler: s.Server.Config.Handler}
}

// image creates the image an input patches: queued, or active with data
// (whose formats are then fixed), always with properties and tags to
// replace and remove.
func (e *patchEnv) image(t *testing.T, active bool) string {
	ctx := context.Background()
	c := e.svc.NewCaller(e.tokens["owner"].Credentials())
	name, disk, container := "cirros", "qcow2", "bare"
	im, err := e.svc.Create(ctx, c, glance.NewImage{Name: &name, DiskFormat: &disk, ContainerFormat: &container,
		Properties: map[string]string{"os_distro": "cirros", "hw_disk_bus": "virtio"}, Tags: []string{"golden", "prod"}, MinRAM: 64})
	if err != nil {
		t.Fatal(err)
	}
	if active {
		size, sum := int64(1024), "0123456789abcdef0123456789abcdef"
		_, err = e.repo.Update(ctx, im.ID, func(im *glance.Image) error {
			im.Status, im.Size, im.Checksum = glance.StatusActive, &size, &sum
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return im.ID
}

// do serves one request and returns its status, ETag and JSON body.
func (e *patchEnv) do(t *testing.T, method, path, tok string, body []byte, hdr ...string) (int, string, map[string]any) {
	r := httptest.NewRequest(method, path, strings.NewReader(string(body)))
	r.Header.Set("X-Auth-Token", tok)
	r.Header.Set("Accept", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] != "" {
			r.Header.Set(hdr[i], hdr[i+1])
		}
	}
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	var m map[string]any
	if w.Code < 300 {
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
			t.Fatalf("%s %s: %d with a body that is not JSON: %q", method, path, w.Code, w.Body.String())
		}
	}
	return w.Code, w.Header().Get("ETag"), m
}

// patchStatuses are the answers a PATCH of an existing, visible image may
// get; anything else (500 above all) is a bug.
var patchStatuses = map[int]bool{200: true, 400: true, 403: true, 409: true, 412: true, 413: true}

// neverChanged are the view fields no PATCH may change.
var neverChanged = []string{"id", "status", "checksum", "os_hash_algo", "os_hash_value", "size", "virtual_size",
	"created_at", "self", "file", "schema"}

// FuzzPatch sends PATCH bodies in both media types, as the owner or an
// admin, to a queued or an active image, and checks the answer and the
// stored image: never a 500; a refused PATCH changes nothing; an accepted
// one leaves read-only fields, the owner (unless admin) and the formats of
// an image with data alone, is what a GET then shows, and sets no reserved
// attribute.
func FuzzPatch(f *testing.F) {
	f.Add([]byte(`[{"op":"replace","path":"/name","value":"x"}]`), false, byte(0), "")
	e := newPatchEnv(f)
	f.Fuzz(func(t *testing.T, body []byte, v20 bool, mode byte, ifMatch string) {
		tok := "owner"
		if mode&1 != 0 {
			tok = "admin"
		}
		active := mode&2 != 0
		id := e.image(t, active)
		defer func() { _ = e.repo.Delete(context.Background(), id) }()
		path := "/v2/images/" + id
		_, _, before := e.do(t, "GET", path, "admin", nil)

		mt := patchV21
		if v20 {
			mt = patchV20
		}
		start := time.Now()
		status, etag, after := e.do(t, "PATCH", path, tok, body, "Content-Type", mt, "If-Match", ifMatch)
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("PATCH of %d bytes took %v", len(body), d)
		}
		if !patchStatuses[status] {
			t.Fatalf("PATCH %s answered %d", body, status)
		}
		_, getTag, stored := e.do(t, "GET", path, "admin", nil)
		if status != 200 {
			if !reflect.DeepEqual(before, stored) {
				t.Fatalf("refused PATCH (%d) changed the image:\nbefore %v\nafter  %v", status, before, stored)
			}
			return
		}
		if !reflect.DeepEqual(after, stored) || etag != getTag {
			t.Fatalf("PATCH answered %v (ETag %s) but GET shows %v (ETag %s)", after, etag, stored, getTag)
		}
		checkPatched(t, before, after, tok == "admin", active)
	})
}

// checkPatched asserts what no accepted PATCH may do.
func checkPatched(t *testing.T, before, after map[string]any, admin, active bool) {
	t.Helper()
	fixed := neverChanged
	if !admin {
		fixed = append(fixed, "owner")
	}
	if active {
		fixed = append(fixed, "disk_format", "container_format")
	}
	for _, k := range fixed {
		if !reflect.DeepEqual(before[k], after[k]) {
			t.Fatalf("PATCH changed %s from %v to %v", k, before[k], after[k])
		}
	}
	if !admin && after["visibility"] == glance.VisibilityPublic {
		t.Fatalf("a member made an image public")
	}
	for k := range after {
		if glance.IsReserved(k) {
			t.Fatalf("PATCH set reserved attribute %q", k)
		}
	}
}
