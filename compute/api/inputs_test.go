package api_test

import (
	"encoding/json"
	"fmt"
	"imagestack/compute/computetest"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"imagestack/common/db/dbtest"
)

func jsonBody(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// items returns n metadata items with keys of keyLen characters and values
// of valueLen four-byte characters.
func items(n, keyLen, valueLen int) map[string]string {
	md := map[string]string{}
	for i := range n {
		k := fmt.Sprintf("%d-", i)
		md[k+strings.Repeat("k", keyLen-len(k))] = strings.Repeat("😀", valueLen)
	}
	return md
}

type call struct {
	method, path, token string
	body                any
	status              int
}

func (c call) run(t *testing.T, srv *httptest.Server, what string) map[string]any {
	t.Helper()
	body := ""
	if c.body != nil {
		body = jsonBody(c.body)
	}
	resp, got := do(t, srv, c.method, c.path, c.token, body)
	if resp.StatusCode != c.status {
		t.Errorf("%s: %s %s: %d %.300v, want %d", what, c.method, c.path, resp.StatusCode, got, c.status)
	}
	return got
}

// TestStoredStringsAtTheirLimits: every string the compute API stores is
// accepted up to Nova's limit and refused with 400 (403 for the metadata
// quota) beyond it, on every engine: MariaDB never answers 500 for a long
// value. Values use four-byte characters, the widest utf8mb4 stores.
func TestStoredStringsAtTheirLimits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		srv := computetest.NewSetup(t, computetest.WithAPI(), computetest.WithDB(gdb)).Server
		name := func(n int) string { return strings.Repeat("😀", n) }
		server := func(name string, md map[string]string) map[string]any {
			return map[string]any{"server": map[string]any{"name": name, "imageRef": "img", "flavorRef": "42", "metadata": md}}
		}
		for what, c := range map[string]call{
			"server name 256":     {"POST", "/v2.1/servers", "member", server(name(256), nil), 400},
			"metadata value 256":  {"POST", "/v2.1/servers", "member", server("vm", items(1, 10, 256)), 400},
			"metadata key 256":    {"POST", "/v2.1/servers", "member", server("vm", items(1, 256, 1)), 400},
			"129 metadata items":  {"POST", "/v2.1/servers", "member", server("vm", items(129, 5, 1)), 403},
			"flavor name 256":     {"POST", "/v2.1/flavors", "admin", map[string]any{"flavor": map[string]any{"name": name(256), "ram": 1, "vcpus": 1, "disk": 1}}, 400},
			"flavor id 256":       {"POST", "/v2.1/flavors", "admin", map[string]any{"flavor": map[string]any{"name": "f", "id": strings.Repeat("i", 256), "ram": 1, "vcpus": 1, "disk": 1}}, 400},
			"flavor ram 2^31":     {"POST", "/v2.1/flavors", "admin", map[string]any{"flavor": map[string]any{"name": "f", "ram": 1 << 31, "vcpus": 1, "disk": 1}}, 400},
			"extra spec 256":      {"POST", "/v2.1/flavors/42/os-extra_specs", "admin", map[string]any{"extra_specs": map[string]string{"k": name(256)}}, 400},
			"extra spec key 256":  {"POST", "/v2.1/flavors/42/os-extra_specs", "admin", map[string]any{"extra_specs": map[string]string{strings.Repeat("k", 256): "v"}}, 400},
			"key pair name 256":   {"POST", "/v2.1/os-keypairs", "member", map[string]any{"keypair": map[string]string{"name": strings.Repeat("k", 256)}}, 400},
			"public key of 17KiB": {"POST", "/v2.1/os-keypairs", "member", map[string]any{"keypair": map[string]string{"name": "k", "public_key": testKey + " " + strings.Repeat("c", 17<<10)}}, 400},
			"tenant 256":          {"POST", "/v2.1/flavors/42/action", "admin", map[string]any{"addTenantAccess": map[string]string{"tenant": strings.Repeat("t", 256)}}, 400},
		} {
			c.run(t, srv, what)
		}
		created := call{"POST", "/v2.1/servers", "member", server(name(255), items(40, 255, 255)), 202}.run(t, srv, "server at the limits")
		id, _ := created["server"].(map[string]any)["id"].(string)
		call{"POST", "/v2.1/servers", "member", server("many", items(128, 20, 10)), 202}.run(t, srv, "128 metadata items")
		batch := server(name(255), nil)
		batch["server"].(map[string]any)["min_count"] = 2
		call{"POST", "/v2.1/servers", "member", batch, 202}.run(t, srv, "a batch of long names")
		_, list := do(t, srv, "GET", "/v2.1/servers", "member", "")
		for _, s := range list["servers"].([]any) {
			if n := s.(map[string]any)["name"].(string); strings.HasSuffix(n, "-2") && len([]rune(n)) != 255 {
				t.Errorf("batch name of %d characters", len([]rune(n)))
			}
		}
		for what, c := range map[string]call{
			"metadata item 255": {"PUT", "/v2.1/servers/" + id + "/metadata/" + strings.Repeat("m", 255), "member", map[string]any{"meta": map[string]string{strings.Repeat("m", 255): name(255)}}, 200},
			"metadata item 256": {"POST", "/v2.1/servers/" + id + "/metadata", "member", map[string]any{"metadata": items(1, 9, 256)}, 400},
			"flavor at limits":  {"POST", "/v2.1/flavors", "admin", map[string]any{"flavor": map[string]any{"name": name(255), "id": strings.Repeat("i", 255), "ram": 1<<31 - 1, "vcpus": 1, "disk": 1}}, 200},
			"extra spec 255":    {"POST", "/v2.1/flavors/42/os-extra_specs", "admin", map[string]any{"extra_specs": map[string]string{strings.Repeat("k", 255): name(255)}}, 200},
			"key pair name 255": {"POST", "/v2.1/os-keypairs", "member", map[string]any{"keypair": map[string]string{"name": strings.Repeat("k", 255), "public_key": testKey + " " + strings.Repeat("c", 15<<10)}}, 200},
			"tenant 255":        {"POST", "/v2.1/flavors/42/action", "admin", map[string]any{"addTenantAccess": map[string]string{"tenant": strings.Repeat("t", 255)}}, 200},
			"rebuild name 256":  {"POST", "/v2.1/servers/" + id + "/action", "member", map[string]any{"rebuild": map[string]string{"imageRef": "img", "name": name(256)}}, 400},
			"snapshot name 256": {"POST", "/v2.1/servers/" + id + "/action", "member", map[string]any{"createImage": map[string]string{"name": name(256)}}, 400},
			"snapshot prop 256": {"POST", "/v2.1/servers/" + id + "/action", "member", map[string]any{"createImage": map[string]any{"name": "s", "metadata": items(1, 9, 256)}}, 400},
		} {
			c.run(t, srv, what)
		}
		// The boot runs in the background; the rebuild waits for it.
		waitStatus(t, srv, id, "ACTIVE")
		call{"POST", "/v2.1/servers/" + id + "/action", "member", map[string]any{"rebuild": map[string]string{"imageRef": "img", "name": name(255)}}, 202}.run(t, srv, "rebuild name 255")
		waitStatus(t, srv, id, "ACTIVE")
		_, got := do(t, srv, "GET", "/v2.1/servers/"+id, "member", "")
		sv := got["server"].(map[string]any)
		if sv["name"] != name(255) || len(sv["metadata"].(map[string]any)) != 41 {
			t.Fatalf("stored server: name %d characters, %d metadata items", len([]rune(sv["name"].(string))), len(sv["metadata"].(map[string]any)))
		}
	})
}

const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ0Bq0+Q9xrSd9Ldv9rQ0YlK8Hj1ZJk3s3hJY1b6e0a"

func waitStatus(t *testing.T, srv *httptest.Server, id, status string) {
	t.Helper()
	for range 500 {
		_, got := do(t, srv, "GET", "/v2.1/servers/"+id, "member", "")
		if sv, _ := got["server"].(map[string]any); sv != nil && sv["status"] == status && sv["OS-EXT-STS:task_state"] == nil {
			return
		}
		sleep()
	}
	t.Fatalf("server %s never became %s", id, status)
}

// TestRequestDecoding: what a client can send in a body or query never
// makes the process do unbounded work, panic or answer 500.
func TestRequestDecoding(t *testing.T) {
	srv := computetest.NewSetup(t, computetest.WithAPI()).Server
	_, got := do(t, srv, "POST", "/v2.1/servers", "member", `{"server":{"name":"vm","imageRef":"img","flavorRef":"42"}}`)
	id := got["server"].(map[string]any)["id"].(string)
	waitStatus(t, srv, id, "ACTIVE")
	action := "/v2.1/servers/" + id + "/action"
	deep := strings.Repeat("[", 50000) + strings.Repeat("]", 50000)
	for _, c := range []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/v2.1/servers", `{"server":` + strings.Repeat(" ", 120000) + `{}}`, 413},
		{"POST", "/v2.1/servers", `{"server":{"name":"x","metadata":` + deep + `}}`, 400},
		{"POST", "/v2.1/servers", `{"server":{"name":"x","imageRef":"img","flavorRef":"42"}} trailing`, 400},
		{"POST", "/v2.1/servers", `{"server":{"name":"x","imageRef":"img","flavorRef":"42","min_count":"99999999999999999999999"}}`, 400},
		{"POST", "/v2.1/servers", `{"server":{"name":"x","imageRef":"img","flavorRef":"42","max_count":1e3}}`, 400},
		{"POST", "/v2.1/servers", `{"server":{"name":"x","imageRef":"img","flavorRef":"42","min_count":-1}}`, 400},
		{"POST", "/v2.1/servers", `{"server":{"name":"x","imageRef":"img","flavorRef":"42","min_count":9223372036854775807}}`, 403},
		{"POST", "/v2.1/servers", `{"server":{"name":"x","imageRef":"img","flavorRef":{"a":1}}}`, 400},
		{"POST", "/v2.1/servers", `{"server":{"name":"x","imageRef":"img","flavorRef":"` + strings.Repeat("f", 100000) + `"}}`, 400},
		{"POST", action, `{"os-getConsoleOutput":{"length":-2}}`, 400},
		{"POST", action, `{"os-getConsoleOutput":{"length":"abc"}}`, 400},
		{"POST", action, `{"os-getConsoleOutput":{"length":99999999999999999999}}`, 400},
		{"POST", action, `{"os-getConsoleOutput":"x"}`, 400},
		{"POST", action, `{"os-getConsoleOutput":{"length":"5"}}`, 200},
		{"POST", action, `{"os-getConsoleOutput":{"length":null}}`, 200},
		{"POST", action, `{"os-getConsoleOutput":{"length":9223372036854775807}}`, 200},
		{"POST", action, `{"reboot":null}`, 400},
		{"POST", action, `{"rebuild":[]}`, 400},
		{"POST", action, `{"createImage":7}`, 400},
		{"POST", action, `[]`, 400},
		{"POST", action, `{}`, 400},
		{"GET", "/v2.1/servers?limit=99999999999999999999", "", 400},
		{"GET", "/v2.1/servers?name=" + strings.Repeat("(", 1000), "", 400},
		{"GET", "/v2.1/flavors?minRam=99999999999999999999", "", 400},
	} {
		resp, got := do(t, srv, c.method, c.path, "member", c.body)
		if resp.StatusCode != c.status {
			t.Errorf("%s %s %.80s: %d %.200v, want %d", c.method, c.path, c.body, resp.StatusCode, got, c.status)
		}
	}
	if resp, _ := do(t, srv, "GET", "/v2.1/servers/"+id, "member", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("the server is gone after the requests: %d", resp.StatusCode)
	}
}

// TestPolicyOnListAndExtraSpecShow: GET /servers/detail and GET
// .../os-extra_specs/{key} follow their own rules.
func TestPolicyOnListAndExtraSpecShow(t *testing.T) {
	srv := computetest.NewSetup(t, computetest.WithAPI(), computetest.WithPolicy(`"os_compute_api:servers:detail": "!"
"os_compute_api:os-flavor-extra-specs:show": "!"
`)).Server
	do(t, srv, "POST", "/v2.1/flavors/42/os-extra_specs", "admin", `{"extra_specs":{"k":"v"}}`)
	for _, c := range []struct {
		path   string
		status int
	}{
		{"/v2.1/servers/detail", 403},
		{"/v2.1/servers", 200},
		{"/v2.1/flavors/42/os-extra_specs/k", 403},
		{"/v2.1/flavors/42/os-extra_specs", 200},
	} {
		if resp, body := do(t, srv, "GET", c.path, "admin", ""); resp.StatusCode != c.status {
			t.Errorf("GET %s: %d %v, want %d", c.path, resp.StatusCode, body, c.status)
		}
	}
}

func sleep() { time.Sleep(10 * time.Millisecond) }
