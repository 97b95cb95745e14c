package external

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
)

// fakeCatalog is Keystone's services and endpoints APIs over two maps.
type fakeCatalog struct {
	mu        sync.Mutex
	services  []map[string]any
	endpoints []map[string]any
}

func (f *fakeCatalog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var body map[string]map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	w.Header().Set("Content-Type", "application/json")
	q := r.URL.Query()
	// list answers the items whose keys match the query's.
	list := func(name string, items []map[string]any, keys ...string) {
		out := []map[string]any{}
	next:
		for _, m := range items {
			for _, k := range keys {
				if v := q.Get(k); v != "" && m[k] != v {
					continue next
				}
			}
			out = append(out, m)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{name: out, "links": map[string]any{}})
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/services":
		list("services", f.services, "type", "name")
	case r.Method == http.MethodPost && r.URL.Path == "/services":
		s := body["service"]
		s["id"] = fmt.Sprintf("svc%d", len(f.services))
		f.services = append(f.services, s)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"service": s})
	case r.Method == http.MethodGet && r.URL.Path == "/endpoints":
		list("endpoints", f.endpoints, "service_id", "region_id")
	case r.Method == http.MethodPost && r.URL.Path == "/endpoints":
		e := body["endpoint"]
		e["id"], e["region_id"] = fmt.Sprintf("ep%d", len(f.endpoints)), e["region"]
		f.endpoints = append(f.endpoints, e)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"endpoint": e})
	case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, "/endpoints/"):
		for _, e := range f.endpoints {
			if e["id"] == strings.TrimPrefix(r.URL.Path, "/endpoints/") {
				e["url"] = body["endpoint"]["url"]
				_ = json.NewEncoder(w).Encode(map[string]any{"endpoint": e})
				return
			}
		}
		http.NotFound(w, r)
	default:
		http.NotFound(w, r)
	}
}

func TestRegisterEndpointsIdempotent(t *testing.T) {
	f := &fakeCatalog{services: []map[string]any{{"id": "old", "type": "image", "name": "glance", "enabled": true}}}
	f.endpoints = []map[string]any{{"id": "g1", "service_id": "old", "interface": "public", "region_id": "R1", "url": "http://glance:9292", "enabled": true}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	client := &gophercloud.ServiceClient{ProviderClient: &gophercloud.ProviderClient{HTTPClient: *srv.Client()}, Endpoint: srv.URL + "/"}
	svcs := []CatalogService{{Type: "image", Name: "glance", URL: "http://is:9292"}, {Type: "compute", Name: "nova", URL: "http://is:8774/v2.1"}}
	changes, err := RegisterEndpoints(context.Background(), client, "R1", svcs)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(changes, "\n")
	for _, want := range []string{"updated image public endpoint in R1: http://is:9292 (was http://glance:9292)",
		"created image internal endpoint", "created image admin endpoint", "created service nova (compute)",
		"created compute public endpoint in R1: http://is:8774/v2.1"} {
		if !strings.Contains(got, want) {
			t.Errorf("changes lack %q:\n%s", want, got)
		}
	}
	if len(f.services) != 2 || len(f.endpoints) != 6 {
		t.Errorf("%d services, %d endpoints; want 2 and 6", len(f.services), len(f.endpoints))
	}
	if again, err := RegisterEndpoints(context.Background(), client, "R1", svcs); err != nil || len(again) != 0 {
		t.Errorf("second run: %v, %v; want no change", again, err)
	}
}
