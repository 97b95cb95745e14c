package api_test

import (
	"os"
	"strings"
	"testing"

	"imagestack/compute/computetest"
)

// TestHypervisorVersions: the microversion boundaries of os-hypervisors:
// search and servers routes before 2.53, the pattern and with_servers
// parameters and UUIDs from it, cpu_info an object from 2.28, paging from
// 2.33, and from 2.88 no amounts, uptime in show and no statistics.
func TestHypervisorVersions(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithAPI())
	srv := e.Server
	host, _ := os.Hostname()
	do(t, srv, "POST", "/v2.1/servers", "admin", `{"server":{"name":"vm1","imageRef":"img","flavorRef":"1"}}`)
	e.Service.Wait() // a server is on a hypervisor once scheduled
	part := host[:len(host)/2+1]

	_, body := do(t, srv, "GET", "/v2.1/os-hypervisors/"+part+"/servers", "admin", "", mv("2.52")...)
	if got := mustJSON(body); !strings.Contains(got, `"servers":[{"name":"vm1"`) || !strings.Contains(got, `"id":1`) {
		t.Errorf("servers route at 2.52: %s", got)
	}
	if resp, body := do(t, srv, "GET", "/v2.1/os-hypervisors/"+part+"/search", "admin", "", mv("2.52")...); resp.StatusCode != 200 || len(body["hypervisors"].([]any)) != 1 {
		t.Errorf("search at 2.52: %d %v", resp.StatusCode, body)
	}
	for _, c := range []struct {
		version, path string
		status        int
	}{
		{"2.52", "/os-hypervisors/no-such-host-xyz/search", 404},
		{"2.53", "/os-hypervisors/" + part + "/search", 404},
		{"2.53", "/os-hypervisors/1", 400},
		{"2.52", "/os-hypervisors/abc", 404},
		{"2.53", "/os-hypervisors?hypervisor_hostname_pattern=no-such-host-xyz", 404},
		{"2.53", "/os-hypervisors?hypervisor_hostname_pattern=x&limit=1", 400},
		{"2.53", "/os-hypervisors?with_servers=maybe", 400},
		{"2.33", "/os-hypervisors?marker=99", 400},
		{"2.87", "/os-hypervisors/statistics", 200},
		{"2.88", "/os-hypervisors/statistics", 404},
		{"2.52", "/os-hypervisors/1/uptime", 200},
		{"2.88", "/os-hypervisors/1/uptime", 404},
	} {
		if resp, body := do(t, srv, "GET", "/v2.1"+c.path, "admin", "", mv(c.version)...); resp.StatusCode != c.status {
			t.Errorf("%s at %s: %d %v, want %d", c.path, c.version, resp.StatusCode, body, c.status)
		}
	}
	_, body = do(t, srv, "GET", "/v2.1/os-hypervisors?hypervisor_hostname_pattern="+part+"&with_servers=true", "admin", "", mv("2.53")...)
	h := body["hypervisors"].([]any)[0].(map[string]any)
	id, _ := h["id"].(string)
	if len(id) != 36 || !strings.Contains(mustJSON(h), `"name":"vm1"`) {
		t.Fatalf("list at 2.53: %v", body)
	}
	_, body = do(t, srv, "GET", "/v2.1/os-hypervisors/"+id, "admin", "", mv("2.87")...)
	d := body["hypervisor"].(map[string]any)
	if _, obj := d["cpu_info"].(map[string]any); !obj || d["vcpus"] == nil || d["uptime"] != nil || len(d["service"].(map[string]any)["id"].(string)) != 36 {
		t.Errorf("show at 2.87: %v", d)
	}
	_, body = do(t, srv, "GET", "/v2.1/os-hypervisors/1", "admin", "", mv("2.27")...)
	if _, str := body["hypervisor"].(map[string]any)["cpu_info"].(string); !str {
		t.Errorf("cpu_info at 2.27: %v", body)
	}
	_, body = do(t, srv, "GET", "/v2.1/os-hypervisors/"+id, "admin", "", mv("2.88")...)
	d = body["hypervisor"].(map[string]any)
	for _, gone := range []string{"vcpus", "memory_mb", "local_gb", "vcpus_used", "free_ram_mb", "current_workload", "running_vms", "disk_available_least", "cpu_info"} {
		if _, has := d[gone]; has {
			t.Errorf("%s at 2.88: %v", gone, d)
		}
	}
	if up, _ := d["uptime"].(string); !strings.Contains(up, " up ") {
		t.Errorf("uptime at 2.88: %v", d)
	}
	_, body = do(t, srv, "GET", "/v2.1/os-hypervisors/detail?limit=1", "admin", "", mv("2.33")...)
	if !strings.Contains(mustJSON(body), `"hypervisors_links":[{"href"`) {
		t.Errorf("paging at 2.33: %v", body)
	}
	_, body = do(t, srv, "GET", "/v2.1/os-hypervisors?marker=1", "admin", "", mv("2.33")...)
	if len(body["hypervisors"].([]any)) != 0 {
		t.Errorf("after the marker: %v", body)
	}
}
