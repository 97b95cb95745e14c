package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"imagestack/compute"
	"imagestack/compute/computetest"
	"imagestack/compute/service"
)

// requestBudget is the time one fuzzed request may take: decoding is
// bounded by the body limit, so anything near it is a complexity bug.
const requestBudget = 3 * time.Second

// noHypervisorEnv is a compute API whose host has no hypervisor, as when
// libvirt is unreachable at start-up: servers from earlier runs are still
// listed and acted on. It has one server per vm_state a client can act on.
type noHypervisorEnv struct {
	handler http.Handler
	svc     *service.Service
	servers []string
}

func newNoHypervisorEnv(tb testing.TB) *noHypervisorEnv {
	s := computetest.NewSetup(tb, computetest.WithoutHypervisor(), computetest.WithAPI())
	svc, repo, ctx := s.Service, s.Repo, context.Background()
	var servers []*compute.Server
	for i, st := range []string{compute.VMActive, compute.VMStopped, compute.VMError} {
		ps := compute.PowerRunning
		if st != compute.VMActive {
			ps = compute.PowerShutdown
		}
		servers = append(servers, &compute.Server{ID: "00000000-0000-4000-8000-00000000000" + string(rune('1'+i)),
			Name: "vm-" + st, ProjectID: "A", UserID: "u-A", ImageID: "img", FlavorID: "1", RAM: 512, VCPUs: 1, Disk: 1,
			VMState: st, PowerState: ps, CreatedAt: time.Now(), UpdatedAt: time.Now()})
	}
	created, err := repo.CreateServers(ctx, "A", servers, func(compute.Usage) (int, error) { return len(servers), nil })
	if err != nil || len(created) != len(servers) {
		tb.Fatalf("seed servers: %v", err)
	}
	e := &noHypervisorEnv{svc: svc, handler: s.Server.Config.Handler}
	for _, sv := range servers {
		e.servers = append(e.servers, sv.ID)
	}
	return e
}

// FuzzComputeWithoutHypervisor sends the requests of FuzzComputeRequests
// (same routes, same seeds) to a host without a hypervisor, on active,
// stopped and errored servers. Every answer comes within the budget; none
// is a 500 (a panic in a handler is one); 503, with Retry-After, only says
// that no hypervisor is there; and background work never panics, which
// would take the whole process down (svc.Wait runs it to the end within
// each input).
func FuzzComputeWithoutHypervisor(f *testing.F) {
	f.Add(uint8(1), `{"os-start":null}`)
	e := newNoHypervisorEnv(f)
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		req := fuzzRequest(route, body, e.servers[int(route/16)%len(e.servers)])
		rec := httptest.NewRecorder()
		start := time.Now()
		e.handler.ServeHTTP(rec, req)
		e.svc.Wait()
		if d := time.Since(start); d > requestBudget {
			t.Fatalf("%s %s with %d bytes took %v", req.Method, req.URL, len(body), d)
		}
		switch {
		case rec.Code == http.StatusServiceUnavailable:
			if rec.Header().Get("Retry-After") == "" {
				t.Fatalf("%s %s %q: 503 without Retry-After", req.Method, req.URL, body)
			}
		case rec.Code >= 500:
			t.Fatalf("%s %s %q: %d %s", req.Method, req.URL, body, rec.Code, rec.Body.String())
		}
	})
}

// fuzzRequest builds the request a fuzz input stands for: route picks one
// of fuzzRoutes and the caller (member below 128, admin from 128), body is
// the JSON body or, for a GET, the query; serverID fills {id}.
func fuzzRequest(route uint8, body, serverID string) *http.Request {
	r := fuzzRoutes[int(route)%len(fuzzRoutes)]
	path := strings.ReplaceAll(r.path, "{id}", serverID)
	var req *http.Request
	if r.method == "GET" {
		req = httptest.NewRequest(r.method, path, nil)
		req.URL.RawQuery = body
	} else {
		req = httptest.NewRequest(r.method, path, strings.NewReader(body))
	}
	req.Header.Set("X-Auth-Token", []string{"member", "admin"}[route/128])
	return req
}

// novaVersion is Nova's own microversion syntax (APIVersionRequest).
var novaVersion = regexp.MustCompile(`^([1-9][0-9]*)\.([1-9][0-9]*|0)$`)

// FuzzMicroversionHeaders sends any OpenStack-API-Version and legacy
// X-OpenStack-Nova-API-Version values: the answer is 200 exactly when Nova
// would serve the request at 2.1 or 2.2 (the versions here), 406 for another
// well-formed version and 400 for a malformed one, and it always names the
// version served (2.1 for refusals).
func FuzzMicroversionHeaders(f *testing.F) {
	f.Add("compute 2.1", "")
	e := newNoHypervisorEnv(f)
	f.Fuzz(func(t *testing.T, header, legacy string) {
		req := httptest.NewRequest("GET", "/v2.1/os-availability-zone", nil)
		req.Header.Set("X-Auth-Token", "member")
		if header != "" {
			req.Header["Openstack-Api-Version"] = []string{header}
		}
		if legacy != "" {
			req.Header["X-Openstack-Nova-Api-Version"] = []string{legacy}
		}
		rec := httptest.NewRecorder()
		start := time.Now()
		e.handler.ServeHTTP(rec, req)
		if d := time.Since(start); d > requestBudget {
			t.Fatalf("%q / %q took %v", header, legacy, d)
		}
		want, served := http.StatusOK, "2.1"
		switch v := requested(header, legacy); {
		case v == "latest":
			served = "2.90"
		case !novaVersion.MatchString(v):
			want = http.StatusBadRequest
		case servedVersion(v):
			served = v
		default:
			want = http.StatusNotAcceptable
		}
		if rec.Code != want {
			t.Fatalf("OpenStack-API-Version %q, X-OpenStack-Nova-API-Version %q: %d, want %d (%s)", header, legacy, rec.Code, want, rec.Body.String())
		}
		if rec.Header().Get("OpenStack-API-Version") != "compute "+served || rec.Header().Get("X-OpenStack-Nova-API-Version") != served {
			t.Fatalf("%q / %q: answer names version %q / %q", header, legacy,
				rec.Header().Get("OpenStack-API-Version"), rec.Header().Get("X-OpenStack-Nova-API-Version"))
		}
	})
}

// servedVersion reports whether a well-formed version is within 2.1-2.90.
func servedVersion(v string) bool {
	var major, minor int
	if _, err := fmt.Sscanf(v, "%d.%d", &major, &minor); err != nil {
		return false
	}
	return major == 2 && minor >= 1 && minor <= 90
}

// requested is the version a request asks for, as Nova reads the headers:
// the compute entry of OpenStack-API-Version, else the legacy header, else
// the minimum.
func requested(header, legacy string) string {
	for _, part := range strings.Split(header, ",") {
		if f := strings.Fields(part); len(f) == 2 && strings.EqualFold(f[0], "compute") {
			return strings.ToLower(f[1])
		}
	}
	if v := strings.TrimSpace(legacy); v != "" {
		return strings.ToLower(v)
	}
	return "2.1"
}

// TestActionsWithoutHypervisor: on a host whose libvirt was unreachable at
// start-up, start, stop and reboot answer 503 with Retry-After and leave the
// server as it was. FuzzComputeWithoutHypervisor found that they were
// accepted and their background work called the missing hypervisor: the
// panic ended the whole process (identity, image and compute).
func TestActionsWithoutHypervisor(t *testing.T) {
	e := newNoHypervisorEnv(t)
	for i, action := range []string{`{"os-stop":null}`, `{"os-start":null}`, `{"reboot":{"type":"HARD"}}`} {
		id := e.servers[i] // active, stopped, error: each action is allowed there
		req := httptest.NewRequest("POST", "/v2.1/servers/"+id+"/action", strings.NewReader(action))
		req.Header.Set("X-Auth-Token", "member")
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		e.svc.Wait()
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
			t.Fatalf("%s: %d %v %s, want 503 with Retry-After", action, rec.Code, rec.Header(), rec.Body.String())
		}
		req = httptest.NewRequest("GET", "/v2.1/servers/"+id, nil)
		req.Header.Set("X-Auth-Token", "member")
		rec = httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		if want := []string{`"status":"ACTIVE"`, `"status":"SHUTOFF"`, `"status":"ERROR"`}[i]; rec.Code != 200 ||
			!strings.Contains(rec.Body.String(), want) || !strings.Contains(rec.Body.String(), `"OS-EXT-STS:task_state":null`) {
			t.Fatalf("%s changed the server: %d %s", action, rec.Code, rec.Body.String())
		}
	}
}

// TestMicroversionLeadingZero: Nova refuses "2.01" as a malformed version
// (400); FuzzMicroversionHeaders found it served as 2.1.
func TestMicroversionLeadingZero(t *testing.T) {
	e := newNoHypervisorEnv(t)
	for _, v := range []string{"compute 2.01", "compute 02.1"} {
		req := httptest.NewRequest("GET", "/v2.1/flavors", nil)
		req.Header.Set("X-Auth-Token", "member")
		req.Header.Set("OpenStack-API-Version", v)
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "invalid format") {
			t.Fatalf("%q: %d %s, want 400", v, rec.Code, rec.Body.String())
		}
	}
}
