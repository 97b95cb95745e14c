package external

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"testing"
	"time"
)

// fakeLimits is the fake Keystone's catalog services and unified limits.
// As Keystone 22, GET /v3/limits shows a project-scoped token only its own
// project's limits; a system-scoped one sees all.
type fakeLimits struct {
	services   map[string][]fakeService // by type
	registered []fakeLimit
	own        []fakeLimit
	calls      int
}

type fakeService struct{ id, name string }

type fakeLimit struct {
	service, region, project, resource string
	value                              int64
}

// serves answers the limit calls (reporting whether r was one).
func (l *fakeLimits) serves(f *fakeKeystone, w http.ResponseWriter, r *http.Request) bool {
	tok := r.Header.Get("X-Auth-Token")
	system := tok == f.sysToken && tok != ""
	if !system && (tok != f.svcToken || tok == "") {
		return false
	}
	q := r.URL.Query()
	var body map[string]any
	switch r.URL.Path {
	case "/v3/services":
		svcs := []map[string]string{}
		for _, s := range l.services[q.Get("type")] {
			svcs = append(svcs, map[string]string{"id": s.id, "name": s.name, "type": q.Get("type")})
		}
		body = map[string]any{"services": svcs}
	case "/v3/registered_limits":
		regs := []map[string]any{}
		for _, x := range l.registered {
			if x.service == q.Get("service_id") {
				regs = append(regs, map[string]any{"service_id": x.service, "region_id": nullable(x.region), "resource_name": x.resource, "default_limit": x.value})
			}
		}
		body = map[string]any{"registered_limits": regs}
	case "/v3/limits":
		own := []map[string]any{}
		for _, x := range l.own {
			if x.service == q.Get("service_id") && x.project == q.Get("project_id") && (system || x.project == "service") {
				own = append(own, map[string]any{"service_id": x.service, "region_id": nullable(x.region), "project_id": x.project, "resource_name": x.resource, "resource_limit": x.value})
			}
		}
		body = map[string]any{"limits": own}
	default:
		return false
	}
	l.calls++
	_ = json.NewEncoder(w).Encode(body)
	return true
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func limitsSetup(t *testing.T, system bool) (*Client, *fakeKeystone, func(time.Duration), func()) {
	c, f, srv, advance := setup(t, func(cfg *Config) {
		cfg.Region, cfg.LimitsCacheTTL, cfg.LimitsSystemScope = "RegionTwo", 10*time.Second, system
	})
	f.set(func(f *fakeKeystone) {
		f.limits = fakeLimits{services: map[string][]fakeService{"image": {{"other-img", "glance-b"}, {"img-svc", "glance"}},
			"compute": {{"nova-svc", "compute"}}, "volumev3": {{"c1", "cinder"}, {"c2", "cinder2"}}},
			registered: []fakeLimit{
				{service: "img-svc", resource: "image_count_total", value: 100},
				{service: "img-svc", region: "RegionTwo", resource: "image_count_total", value: 20},
				{service: "img-svc", region: "RegionOne", resource: "image_stage_total", value: 1},
				{service: "img-svc", resource: "image_size_total", value: 1000},
				{service: "nova-svc", resource: "image_count_total", value: 7}},
			own: []fakeLimit{
				{service: "img-svc", region: "RegionTwo", project: "p1", resource: "image_size_total", value: 5000},
				{service: "img-svc", region: "RegionOne", project: "p1", resource: "image_count_total", value: 1}}}
	})
	return c, f, advance, srv.Close
}

// As the embedded identity service: the project's own limit of this region,
// else the registered default of this region before one of no region; a
// resource with neither (or only another region's) is absent: unlimited.
func TestProjectLimitsFromKeystone(t *testing.T) {
	c, _, _, _ := limitsSetup(t, true)
	ctx := context.Background()
	res := []string{"image_count_total", "image_size_total", "image_stage_total", "image_count_uploading"}
	got, err := c.ProjectLimits(ctx, "p1", "image", res)
	want := map[string]int64{"image_count_total": 20, "image_size_total": 5000}
	if err != nil || !maps.Equal(got, want) {
		t.Fatalf("p1's image limits = %v, %v; want %v", got, err, want)
	}
	got, err = c.ProjectLimits(ctx, "p2", "image", res)
	if want := map[string]int64{"image_count_total": 20, "image_size_total": 1000}; err != nil || !maps.Equal(got, want) {
		t.Fatalf("p2's image limits = %v, %v; want %v", got, err, want)
	}
	if got, err := c.ProjectLimits(ctx, "p1", "compute", res); err != nil || !maps.Equal(got, map[string]int64{"image_count_total": 7}) {
		t.Fatalf("compute's limits (its only service, whatever its name) = %v, %v", got, err)
	}
	if got, err := c.ProjectLimits(ctx, "p1", "network", res); err != nil || len(got) != 0 {
		t.Fatalf("limits of a service Keystone lacks = %v, %v; want none", got, err)
	}
	if _, err := c.ProjectLimits(ctx, "p1", "volumev3", res); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("several services of a type, none of our name: %v, want ErrUnavailable", err)
	}
}

// A project-scoped service token sees only its own project's limits in
// Keystone 22: the system-scoped one is what reads them.
func TestProjectLimitsNeedSystemScope(t *testing.T) {
	c, _, _, _ := limitsSetup(t, false)
	got, err := c.ProjectLimits(context.Background(), "p1", "image", []string{"image_size_total"})
	if err != nil || got["image_size_total"] != 1000 {
		t.Fatalf("with a project-scoped token: %v, %v (Keystone 22 hides p1's own limit)", got, err)
	}
}

// Limits are reused for LimitsCacheTTL, then read again; Keystone down
// after that is ErrUnavailable, not unlimited.
func TestProjectLimitsCachedThenUnavailable(t *testing.T) {
	c, f, advance, stop := limitsSetup(t, true)
	ctx := context.Background()
	calls := func() int { var n int; f.set(func(f *fakeKeystone) { n = f.limits.calls }); return n }
	for range 5 {
		if _, err := c.ProjectLimits(ctx, "p1", "image", []string{"image_count_total"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := calls(); n != 3 {
		t.Fatalf("5 checks made %d calls, want 3 (service, registered limits, project limits)", n)
	}
	f.set(func(f *fakeKeystone) { f.limits.own[0].value = 6000 })
	advance(10 * time.Second)
	got, err := c.ProjectLimits(ctx, "p1", "image", []string{"image_size_total"})
	if err != nil || got["image_size_total"] != 6000 || calls() != 6 {
		t.Fatalf("after limits_cache_ttl: %v, %v, %d calls; want the new limit", got, err, calls())
	}
	stop()
	advance(10 * time.Second)
	if _, err := c.ProjectLimits(ctx, "p1", "image", []string{"image_size_total"}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Keystone down: %v, want ErrUnavailable", err)
	}
}
