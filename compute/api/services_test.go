package api_test

import (
	"os"
	"testing"

	"imagestack/compute/computetest"
)

// TestServicesAndAggregates: admins see this host's nova-compute (up, with
// a hypervisor) in os-services, filtered by host and binary, and no host
// aggregates; members are refused both, as by Nova's defaults.
func TestServicesAndAggregates(t *testing.T) {
	srv := computetest.NewSetup(t, computetest.WithAPI()).Server
	for _, p := range []string{"/v2.1/os-services", "/v2.1/os-aggregates"} {
		if resp, _ := do(t, srv, "GET", p, "member", ""); resp.StatusCode != 403 {
			t.Errorf("%s as a member: %d", p, resp.StatusCode)
		}
	}
	host, _ := os.Hostname()
	resp, body := do(t, srv, "GET", "/v2.1/os-services?binary=nova-compute", "admin", "")
	list, _ := body["services"].([]any)
	if resp.StatusCode != 200 || len(list) != 1 {
		t.Fatalf("services: %d %v", resp.StatusCode, body)
	}
	s := list[0].(map[string]any)
	if s["binary"] != "nova-compute" || s["host"] != host || s["zone"] != "nova" || s["status"] != "enabled" || s["state"] != "up" ||
		s["id"] != 1.0 || s["disabled_reason"] != nil || s["updated_at"] == nil || len(s) != 8 {
		t.Fatalf("service %v", s)
	}
	for _, q := range []string{"?binary=nova-api", "?host=elsewhere"} {
		if _, body := do(t, srv, "GET", "/v2.1/os-services"+q, "admin", ""); len(body["services"].([]any)) != 0 {
			t.Errorf("services%s: %v", q, body)
		}
	}
	resp, body = do(t, srv, "GET", "/v2.1/os-aggregates", "admin", "")
	if aggs, ok := body["aggregates"].([]any); resp.StatusCode != 200 || !ok || len(aggs) != 0 {
		t.Fatalf("aggregates: %d %v", resp.StatusCode, body)
	}
}
