package api_test

import (
	"testing"

	"imagestack/compute/computetest"
)

// TestHypervisors: admins see this host with what live servers take of
// it (os-hypervisors, detail, show, statistics); members are refused.
func TestHypervisors(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithAPI())
	e.Boot(t, e.Member)
	if resp, _ := do(t, e.Server, "GET", "/v2.1/os-hypervisors/detail", "member", ""); resp.StatusCode != 403 {
		t.Fatalf("member: %d, want 403", resp.StatusCode)
	}
	_, body := do(t, e.Server, "GET", "/v2.1/os-hypervisors/detail", "admin", "")
	list, _ := body["hypervisors"].([]any)
	if len(list) != 1 {
		t.Fatalf("detail: %v", body)
	}
	h := list[0].(map[string]any)
	if h["vcpus_used"] != 1.0 || h["memory_mb_used"] != 128.0 || h["running_vms"] != 1.0 || h["state"] != "up" ||
		h["hypervisor_type"] != "QEMU" || h["vcpus"].(float64) < 1 || h["memory_mb"].(float64) < 128 {
		t.Fatalf("hypervisor %v", h)
	}
	if _, body := do(t, e.Server, "GET", "/v2.1/os-hypervisors/statistics", "admin", ""); body["hypervisor_statistics"].(map[string]any)["count"] != 1.0 {
		t.Fatalf("statistics: %v", body)
	}
	if _, body := do(t, e.Server, "GET", "/v2.1/os-hypervisors", "admin", ""); len(body["hypervisors"].([]any)) != 1 {
		t.Fatalf("list: %v", body)
	}
	if resp, _ := do(t, e.Server, "GET", "/v2.1/os-hypervisors/1", "admin", ""); resp.StatusCode != 200 {
		t.Fatalf("show 1: %d", resp.StatusCode)
	}
	if resp, _ := do(t, e.Server, "GET", "/v2.1/os-hypervisors/2", "admin", ""); resp.StatusCode != 404 {
		t.Fatalf("show 2: %d, want 404", resp.StatusCode)
	}
}
