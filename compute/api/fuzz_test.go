package api_test

import (
	"imagestack/compute/computetest"
	"net/http/httptest"
	"testing"
)

// fuzzRoutes are the compute requests whose bodies and parameters a client
// controls; the fuzzer picks one by index.
var fuzzRoutes = []struct{ method, path string }{
	{"POST", "/v2.1/servers"},
	{"POST", "/v2.1/servers/{id}/action"},
	{"POST", "/v2.1/servers/{id}/metadata"},
	{"PUT", "/v2.1/servers/{id}/metadata/k"},
	{"POST", "/v2.1/flavors"},
	{"POST", "/v2.1/flavors/42/action"},
	{"POST", "/v2.1/flavors/42/os-extra_specs"},
	{"PUT", "/v2.1/flavors/42/os-extra_specs/k"},
	{"POST", "/v2.1/os-keypairs"},
	{"GET", "/v2.1/servers/detail?"},
	{"GET", "/v2.1/flavors/detail?"},
}

// FuzzComputeRequests: no body or query makes a compute handler panic or
// answer 5xx (a panic is recovered as a 500).
func FuzzComputeRequests(f *testing.F) {
	for i, body := range []string{
		`{"server":{"name":"vm","imageRef":"img","flavorRef":"42","min_count":"2","max_count":3,"metadata":{"a":"b"}}}`,
		`{"os-getConsoleOutput":{"length":"-1"}}`,
		`{"metadata":{"k":"v"}}`,
		`{"meta":{"k":"v"}}`,
		`{"flavor":{"name":"f","ram":"1","vcpus":1,"disk":0,"id":"x","rxtx_factor":1.5,"os-flavor-access:is_public":false}}`,
		`{"addTenantAccess":{"tenant":"p"}}`,
		`{"extra_specs":{"hw:cpu_policy":"dedicated","n":1}}`,
		`{"k":"v"}`,
		`{"keypair":{"name":"k"}}`,
		`limit=1&marker=x&status=ACTIVE&changes-since=2026-01-01T00:00:00Z&name=^v`,
		`minRam=1&minDisk=1&is_public=None&sort_key=name&sort_dir=desc&limit=2`,
	} {
		f.Add(uint8(i), body)
	}
	f.Add(uint8(1), `{"rebuild":{"imageRef":"img","name":"n"}}`)
	f.Add(uint8(1), `{"createImage":{"name":"s","metadata":{"a":"b"}}}`)
	f.Add(uint8(1), `{"reboot":{"type":"HARD"}}`)
	srv := computetest.NewSetup(f, computetest.WithAPI()).Server
	_, created := do(f, srv, "POST", "/v2.1/servers", "member", `{"server":{"name":"vm","imageRef":"img","flavorRef":"42"}}`)
	id := created["server"].(map[string]any)["id"].(string)
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		req := fuzzRequest(route, body, id)
		rec := httptest.NewRecorder()
		srv.Config.Handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", req.Method, req.URL, body, rec.Code, rec.Body.String())
		}
	})
}
