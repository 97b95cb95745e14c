package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"imagestack/compute/computetest"
)

func do(t testing.TB, srv *httptest.Server, method, path, tok, body string, hdr ...string) (*http.Response, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, srv.URL+path, rd)
	if tok != "" {
		req.Header.Set("X-Auth-Token", tok)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	raw, _ := io.ReadAll(resp.Body)
	json.Unmarshal(raw, &m)
	return resp, m
}

func TestMicroversions(t *testing.T) {
	srv := computetest.NewSetup(t, computetest.WithAPI()).Server
	cases := []struct {
		hdr    []string
		status int
		echo   string
	}{
		{nil, 200, "2.1"},
		{[]string{"X-OpenStack-Nova-API-Version", "2.1"}, 200, "2.1"},
		{[]string{"OpenStack-API-Version", "compute 2.1"}, 200, "2.1"},
		{[]string{"OpenStack-API-Version", "compute latest"}, 200, "2.90"},
		{[]string{"OpenStack-API-Version", "compute 2.2"}, 200, "2.2"},
		{[]string{"OpenStack-API-Version", "compute 2.3"}, 200, "2.3"},
		{[]string{"OpenStack-API-Version", "compute 2.90"}, 200, "2.90"},
		{[]string{"OpenStack-API-Version", "compute 2.91"}, 406, "2.1"},
		{[]string{"X-OpenStack-Nova-API-Version", "1.5"}, 406, "2.1"},
		{[]string{"OpenStack-API-Version", "compute 2.x"}, 400, "2.1"},
		{[]string{"OpenStack-API-Version", "volume 3.0"}, 200, "2.1"},
	}
	for _, c := range cases {
		resp, body := do(t, srv, "GET", "/v2.1/flavors", "member", "", c.hdr...)
		if resp.StatusCode != c.status {
			t.Errorf("%v: status %d, want %d (%v)", c.hdr, resp.StatusCode, c.status, body)
		}
		if resp.Header.Get("X-OpenStack-Nova-API-Version") != c.echo || resp.Header.Get("OpenStack-API-Version") != "compute "+c.echo ||
			!strings.Contains(resp.Header.Get("Vary"), "OpenStack-API-Version") {
			t.Errorf("%v: headers %v", c.hdr, resp.Header)
		}
	}
	// Even a 404 carries the version headers and Nova's fault body.
	resp, body := do(t, srv, "GET", "/v2.1/nothing", "member", "")
	if resp.StatusCode != 404 || resp.Header.Get("X-OpenStack-Nova-API-Version") == "" || body["itemNotFound"] == nil {
		t.Fatalf("404: %d %v %v", resp.StatusCode, resp.Header, body)
	}
}

func TestFlavors(t *testing.T) {
	srv := computetest.NewSetup(t, computetest.WithAPI()).Server
	_, body := do(t, srv, "GET", "/v2.1/flavors/detail?minRam=2048", "member", "")
	for _, f := range body["flavors"].([]any) {
		fl := f.(map[string]any)
		if fl["ram"].(float64) < 2048 {
			t.Fatalf("minRam filter: %v", fl)
		}
		for _, k := range []string{"id", "name", "ram", "vcpus", "disk", "swap", "rxtx_factor", "links", "OS-FLV-EXT-DATA:ephemeral", "OS-FLV-DISABLED:disabled", "os-flavor-access:is_public"} {
			if _, ok := fl[k]; !ok {
				t.Fatalf("flavor detail lacks %q: %v", k, fl)
			}
		}
		if fl["swap"] != "" {
			t.Fatalf("swap of 0 must render as \"\": %v", fl["swap"])
		}
	}
	_, body = do(t, srv, "GET", "/v2.1/flavors?limit=3", "member", "")
	if len(body["flavors"].([]any)) != 3 || body["flavors_links"] == nil {
		t.Fatalf("paging: %v", body)
	}
	next := body["flavors_links"].([]any)[0].(map[string]any)["href"].(string)
	_, body2 := do(t, srv, "GET", strings.TrimPrefix(next, srv.URL), "member", "")
	if len(body2["flavors"].([]any)) != 3 || body2["flavors"].([]any)[0].(map[string]any)["id"] == body["flavors"].([]any)[0].(map[string]any)["id"] {
		t.Fatalf("second page: %v", body2)
	}
	for _, q := range []string{"minRam=x", "minDisk=-1", "is_public=maybe", "limit=x", "sort_key=bogus", "sort_dir=up", "marker=nope"} {
		if resp, _ := do(t, srv, "GET", "/v2.1/flavors?"+q, "member", ""); resp.StatusCode != 400 {
			t.Errorf("?%s = %d, want 400", q, resp.StatusCode)
		}
	}
	create := `{"flavor":{"name":"f.priv","ram":64,"vcpus":1,"disk":1,"id":"priv1","os-flavor-access:is_public":false}}`
	if resp, body := do(t, srv, "POST", "/v2.1/flavors", "member", create); resp.StatusCode != 403 || body["forbidden"] == nil {
		t.Fatalf("member creating a flavor: %d %v", resp.StatusCode, body)
	}
	if resp, body := do(t, srv, "POST", "/v2.1/flavors", "admin", create); resp.StatusCode != 200 || body["flavor"].(map[string]any)["os-flavor-access:is_public"] != false {
		t.Fatalf("admin creating a flavor: %d %v", resp.StatusCode, body)
	}
	if resp, _ := do(t, srv, "POST", "/v2.1/flavors", "admin", create); resp.StatusCode != 409 {
		t.Fatalf("duplicate flavor: %d", resp.StatusCode)
	}
	if resp, _ := do(t, srv, "POST", "/v2.1/flavors", "admin", `{"flavor":{"name":"bad","ram":0,"vcpus":1,"disk":1}}`); resp.StatusCode != 400 {
		t.Fatalf("ram 0: %d", resp.StatusCode)
	}
	// Private flavors: hidden from members' lists; admins see them with is_public=None.
	_, body = do(t, srv, "GET", "/v2.1/flavors", "member", "")
	if strings.Contains(mustJSON(body), "priv1") {
		t.Fatal("member sees a private flavor")
	}
	_, body = do(t, srv, "GET", "/v2.1/flavors?is_public=None", "admin", "")
	if !strings.Contains(mustJSON(body), "priv1") {
		t.Fatal("admin does not see the private flavor with is_public=None")
	}
	// Extra specs.
	if resp, _ := do(t, srv, "POST", "/v2.1/flavors/priv1/os-extra_specs", "admin", `{"extra_specs":{"hw:numa_nodes":"1","k":"v"}}`); resp.StatusCode != 200 {
		t.Fatalf("set extra specs: %d", resp.StatusCode)
	}
	if resp, body := do(t, srv, "PUT", "/v2.1/flavors/priv1/os-extra_specs/k", "admin", `{"k":"w"}`); resp.StatusCode != 200 || body["k"] != "w" {
		t.Fatalf("update extra spec: %d %v", resp.StatusCode, body)
	}
	if resp, _ := do(t, srv, "PUT", "/v2.1/flavors/priv1/os-extra_specs/k", "admin", `{"other":"w"}`); resp.StatusCode != 400 {
		t.Fatalf("mismatched key: %d", resp.StatusCode)
	}
	_, body = do(t, srv, "GET", "/v2.1/flavors/priv1/os-extra_specs", "admin", "")
	if specs := body["extra_specs"].(map[string]any); specs["k"] != "w" || specs["hw:numa_nodes"] != "1" {
		t.Fatalf("extra specs: %v", body)
	}
	// A private flavor does not exist for a project without access.
	for _, path := range []string{"/v2.1/flavors/priv1", "/v2.1/flavors/priv1/os-extra_specs", "/v2.1/flavors/priv1/os-extra_specs/k"} {
		if resp, body := do(t, srv, "GET", path, "member", ""); resp.StatusCode != 404 || body["itemNotFound"] == nil {
			t.Fatalf("member reading %s: %d %v", path, resp.StatusCode, body)
		}
	}
	if resp, _ := do(t, srv, "DELETE", "/v2.1/flavors/priv1/os-extra_specs/k", "member", ""); resp.StatusCode != 403 {
		t.Fatalf("member deleting an extra spec: %d", resp.StatusCode)
	}
	if resp, _ := do(t, srv, "DELETE", "/v2.1/flavors/priv1/os-extra_specs/k", "admin", ""); resp.StatusCode != 200 {
		t.Fatalf("delete extra spec: %d", resp.StatusCode)
	}
	if resp, _ := do(t, srv, "GET", "/v2.1/flavors/priv1/os-extra_specs/k", "admin", ""); resp.StatusCode != 404 {
		t.Fatalf("deleted extra spec: %d", resp.StatusCode)
	}
	if resp, _ := do(t, srv, "DELETE", "/v2.1/flavors/priv1", "admin", ""); resp.StatusCode != 202 {
		t.Fatalf("delete flavor: %d", resp.StatusCode)
	}
	if resp, body := do(t, srv, "GET", "/v2.1/flavors/priv1", "admin", ""); resp.StatusCode != 404 || body["itemNotFound"] == nil {
		t.Fatalf("deleted flavor: %d %v", resp.StatusCode, body)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestAvailabilityZones(t *testing.T) {
	srv := computetest.NewSetup(t, computetest.WithAPI()).Server
	_, body := do(t, srv, "GET", "/v2.1/os-availability-zone", "member", "")
	zones := body["availabilityZoneInfo"].([]any)
	if len(zones) != 1 || zones[0].(map[string]any)["zoneName"] != "nova" {
		t.Fatalf("zones: %v", body)
	}
	if resp, _ := do(t, srv, "GET", "/v2.1/os-availability-zone/detail", "member", ""); resp.StatusCode != 403 {
		t.Fatalf("detail as member: %d", resp.StatusCode)
	}
	if resp, _ := do(t, srv, "GET", "/v2.1/os-availability-zone/detail", "admin", ""); resp.StatusCode != 200 {
		t.Fatalf("detail as admin: %d", resp.StatusCode)
	}
}

func TestKeyPairsAndLimits(t *testing.T) {
	srv := computetest.NewSetup(t, computetest.WithAPI()).Server
	resp, body := do(t, srv, "POST", "/v2.1/os-keypairs", "member", `{"keypair":{"name":"gen"}}`)
	kp, _ := body["keypair"].(map[string]any)
	if resp.StatusCode != 200 || !strings.Contains(kp["private_key"].(string), "OPENSSH PRIVATE KEY") || !strings.HasPrefix(kp["public_key"].(string), "ssh-ed25519 ") {
		t.Fatalf("generate: %d %v", resp.StatusCode, body)
	}
	pub := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ0Bq0+Q9xrSd9Ldv9rQ0YlK8Hj1ZJk3s3hJY1b6e0a test@host"
	resp, body = do(t, srv, "POST", "/v2.1/os-keypairs", "member", `{"keypair":{"name":"imp","public_key":"`+pub+`"}}`)
	if resp.StatusCode != 200 || body["keypair"].(map[string]any)["private_key"] != nil || body["keypair"].(map[string]any)["fingerprint"] == "" {
		t.Fatalf("import: %d %v", resp.StatusCode, body)
	}
	if resp, _ := do(t, srv, "POST", "/v2.1/os-keypairs", "member", `{"keypair":{"name":"imp","public_key":"`+pub+`"}}`); resp.StatusCode != 409 {
		t.Fatalf("duplicate key pair: %d", resp.StatusCode)
	}
	if resp, _ := do(t, srv, "POST", "/v2.1/os-keypairs", "member", `{"keypair":{"name":"bad","public_key":"not a key"}}`); resp.StatusCode != 400 {
		t.Fatalf("invalid public key: %d", resp.StatusCode)
	}
	_, body = do(t, srv, "GET", "/v2.1/os-keypairs", "member", "")
	if len(body["keypairs"].([]any)) != 2 {
		t.Fatalf("list: %v", body)
	}
	// Key pairs are per user: another user does not see them.
	if resp, _ := do(t, srv, "GET", "/v2.1/os-keypairs/imp", "admin", ""); resp.StatusCode != 404 {
		t.Fatalf("another user's key pair: %d", resp.StatusCode)
	}
	if resp, _ := do(t, srv, "DELETE", "/v2.1/os-keypairs/imp", "member", ""); resp.StatusCode != 202 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	_, body = do(t, srv, "GET", "/v2.1/limits", "member", "")
	abs := body["limits"].(map[string]any)["absolute"].(map[string]any)
	if abs["maxTotalInstances"] != 10.0 || abs["maxTotalCores"] != 20.0 || abs["totalInstancesUsed"] != 0.0 {
		t.Fatalf("limits: %v", body)
	}
}

func TestHorizonSupportEndpoints(t *testing.T) {
	srv := computetest.NewSetup(t, computetest.WithAPI()).Server
	resp, body := do(t, srv, "GET", "/v2.1/os-quota-sets/A", "member", "")
	if resp.StatusCode != 200 || body["quota_set"].(map[string]any)["instances"] != 10.0 {
		t.Fatalf("own quota set: %d %v", resp.StatusCode, body)
	}
	resp, body = do(t, srv, "GET", "/v2.1/os-quota-sets/A/detail", "member", "")
	if d := body["quota_set"].(map[string]any)["cores"].(map[string]any); resp.StatusCode != 200 || d["limit"] != 20.0 || d["in_use"] != 0.0 {
		t.Fatalf("quota detail: %v", body)
	}
	if resp, _ := do(t, srv, "GET", "/v2.1/os-quota-sets/B", "member", ""); resp.StatusCode != 403 {
		t.Fatalf("another project's quotas as member: %d", resp.StatusCode)
	}
	if resp, _ := do(t, srv, "GET", "/v2.1/os-quota-sets/B", "admin", ""); resp.StatusCode != 200 {
		t.Fatalf("another project's quotas as admin: %d", resp.StatusCode)
	}
	resp, body = do(t, srv, "GET", "/v2.1/os-simple-tenant-usage/A?start=2026-01-01T00:00:00&end=2026-01-02T00:00:00", "member", "")
	if resp.StatusCode != 200 || body["tenant_usage"].(map[string]any)["total_hours"] != 0.0 {
		t.Fatalf("usage: %d %v", resp.StatusCode, body)
	}
	resp, body = do(t, srv, "GET", "/v2.1/os-server-groups", "member", "")
	if resp.StatusCode != 200 || len(body["server_groups"].([]any)) != 0 {
		t.Fatalf("server groups: %d %v", resp.StatusCode, body)
	}
}
