package api_test

import (
	"fmt"
	"net/http/httptest"
	"os"
	"testing"

	"imagestack/compute/computetest"
)

// aggregateOf is the "aggregate" object of an answer.
func aggregateOf(t *testing.T, body map[string]any) map[string]any {
	t.Helper()
	a, ok := body["aggregate"].(map[string]any)
	if !ok {
		t.Fatalf("no aggregate in %v", body)
	}
	return a
}

// expect checks the status of a request and returns its body.
func expect(t *testing.T, srv *httptest.Server, status int, method, path, body string, hdr ...string) map[string]any {
	t.Helper()
	resp, out := do(t, srv, method, path, "admin", body, hdr...)
	if resp.StatusCode != status {
		t.Fatalf("%s %s %s: %d %v, want %d", method, path, body, resp.StatusCode, out, status)
	}
	return out
}

// An admin creates aggregates, puts this host in one with a zone, and the
// zone shows in os-availability-zone and os-services; Nova's rules hold:
// one zone per host, no empty zone, no delete with hosts.
func TestAggregatesLifecycle(t *testing.T) {
	srv := computetest.NewSetup(t, computetest.WithAPI()).Server
	host, _ := os.Hostname()
	if resp, _ := do(t, srv, "POST", "/v2.1/os-aggregates", "member", `{"aggregate":{"name":"a"}}`); resp.StatusCode != 403 {
		t.Fatalf("create as a member: %d", resp.StatusCode)
	}
	a := aggregateOf(t, expect(t, srv, 200, "POST", "/v2.1/os-aggregates", `{"aggregate":{"name":"fast","availability_zone":"az1"}}`))
	if a["name"] != "fast" || a["availability_zone"] != "az1" || a["hosts"] != nil || a["metadata"] != nil || a["uuid"] != nil || a["deleted"] != false {
		t.Fatalf("created %v", a)
	}
	id := fmt.Sprint(a["id"])
	expect(t, srv, 409, "POST", "/v2.1/os-aggregates", `{"aggregate":{"name":"fast"}}`)
	expect(t, srv, 400, "POST", "/v2.1/os-aggregates", `{"aggregate":{"name":"x","availability_zone":"a:b"}}`)
	a = aggregateOf(t, expect(t, srv, 200, "GET", "/v2.1/os-aggregates/"+id, "", "OpenStack-API-Version", "compute 2.41"))
	if a["uuid"] == nil || len(a["hosts"].([]any)) != 0 || a["metadata"].(map[string]any)["availability_zone"] != "az1" {
		t.Fatalf("shown at 2.41: %v", a)
	}
	expect(t, srv, 404, "POST", "/v2.1/os-aggregates/"+id+"/action", `{"add_host":{"host":"nowhere"}}`)
	a = aggregateOf(t, expect(t, srv, 200, "POST", "/v2.1/os-aggregates/"+id+"/action", `{"add_host":{"host":"`+host+`"}}`))
	if hosts := a["hosts"].([]any); len(hosts) != 1 || hosts[0] != host {
		t.Fatalf("after add_host: %v", a)
	}
	expect(t, srv, 409, "POST", "/v2.1/os-aggregates/"+id+"/action", `{"add_host":{"host":"`+host+`"}}`)

	zones := expect(t, srv, 200, "GET", "/v2.1/os-availability-zone", "")["availabilityZoneInfo"].([]any)
	if len(zones) != 1 || zones[0].(map[string]any)["zoneName"] != "az1" {
		t.Fatalf("zones with this host in az1: %v", zones)
	}
	svcs := expect(t, srv, 200, "GET", "/v2.1/os-services?binary=nova-compute", "")["services"].([]any)
	if svcs[0].(map[string]any)["zone"] != "az1" {
		t.Fatalf("services: %v", svcs)
	}

	// One zone per host: another aggregate of another zone cannot take it.
	other := fmt.Sprint(aggregateOf(t, expect(t, srv, 200, "POST", "/v2.1/os-aggregates", `{"aggregate":{"name":"slow","availability_zone":"az2"}}`))["id"])
	expect(t, srv, 409, "POST", "/v2.1/os-aggregates/"+other+"/action", `{"add_host":{"host":"`+host+`"}}`)
	plain := fmt.Sprint(aggregateOf(t, expect(t, srv, 200, "POST", "/v2.1/os-aggregates", `{"aggregate":{"name":"gpu"}}`))["id"])
	expect(t, srv, 200, "POST", "/v2.1/os-aggregates/"+plain+"/action", `{"add_host":{"host":"`+host+`"}}`)
	expect(t, srv, 400, "POST", "/v2.1/os-aggregates/"+plain+"/action", `{"set_metadata":{"metadata":{"availability_zone":"az2"}}}`)
	a = aggregateOf(t, expect(t, srv, 200, "POST", "/v2.1/os-aggregates/"+plain+"/action", `{"set_metadata":{"metadata":{"availability_zone":"az1","gpu":"yes"}}}`))
	if md := a["metadata"].(map[string]any); md["gpu"] != "yes" || md["availability_zone"] != "az1" {
		t.Fatalf("metadata set: %v", a)
	}
	a = aggregateOf(t, expect(t, srv, 200, "POST", "/v2.1/os-aggregates/"+plain+"/action", `{"set_metadata":{"metadata":{"gpu":null}}}`))
	if md := a["metadata"].(map[string]any); len(md) != 1 {
		t.Fatalf("gpu unset: %v", a)
	}
	expect(t, srv, 400, "PUT", "/v2.1/os-aggregates/"+id, `{"aggregate":{"availability_zone":null}}`)
	expect(t, srv, 400, "POST", "/v2.1/os-aggregates", `{"aggregate":{"name":" spaced"}}`)
	a = aggregateOf(t, expect(t, srv, 200, "PUT", "/v2.1/os-aggregates/"+id, `{"aggregate":{"name":" faster "}}`))
	if a["name"] != "faster" || a["updated_at"] == nil {
		t.Fatalf("renamed: %v", a)
	}

	expect(t, srv, 400, "DELETE", "/v2.1/os-aggregates/"+id, "")
	expect(t, srv, 200, "POST", "/v2.1/os-aggregates/"+id+"/action", `{"remove_host":{"host":"`+host+`"}}`)
	expect(t, srv, 404, "POST", "/v2.1/os-aggregates/"+id+"/action", `{"remove_host":{"host":"`+host+`"}}`)
	expect(t, srv, 200, "DELETE", "/v2.1/os-aggregates/"+id, "")
	expect(t, srv, 404, "GET", "/v2.1/os-aggregates/"+id, "")
	expect(t, srv, 400, "GET", "/v2.1/os-aggregates/x", "")
	if list := expect(t, srv, 200, "GET", "/v2.1/os-aggregates", "")["aggregates"].([]any); len(list) != 2 {
		t.Fatalf("list: %v", list)
	}
}

// A host running servers cannot change zone; the cache request needs
// microversion 2.81, an existing aggregate and images that exist.
func TestAggregateZoneWithServersAndImagesAction(t *testing.T) {
	s := computetest.NewSetup(t, computetest.WithAPI())
	srv := s.Server
	host, _ := os.Hostname()
	id := fmt.Sprint(aggregateOf(t, expect(t, srv, 200, "POST", "/v2.1/os-aggregates", `{"aggregate":{"name":"a"}}`))["id"])
	expect(t, srv, 200, "POST", "/v2.1/os-aggregates/"+id+"/action", `{"add_host":{"host":"`+host+`"}}`)
	s.Boot(t, s.Member)
	expect(t, srv, 400, "POST", "/v2.1/os-aggregates/"+id+"/action", `{"set_metadata":{"metadata":{"availability_zone":"az9"}}}`)

	body := `{"cache":[{"id":"8c5a3f2e-6d1b-4b7e-9a57-0e4f5a1c2b3d"}]}`
	expect(t, srv, 404, "POST", "/v2.1/os-aggregates/"+id+"/images", body, "OpenStack-API-Version", "compute 2.80")
	expect(t, srv, 400, "POST", "/v2.1/os-aggregates/"+id+"/images", body, "OpenStack-API-Version", "compute 2.81")
	expect(t, srv, 404, "POST", "/v2.1/os-aggregates/999/images", body, "OpenStack-API-Version", "compute 2.81")
	expect(t, srv, 400, "POST", "/v2.1/os-aggregates/"+id+"/images", `{"cache":[]}`, "OpenStack-API-Version", "compute 2.81")
	expect(t, srv, 400, "POST", "/v2.1/os-aggregates/"+id+"/images", `{"cache":[{"id":"img"}]}`, "OpenStack-API-Version", "compute 2.81")
	if resp, _ := do(t, srv, "POST", "/v2.1/os-aggregates/"+id+"/images", "member", body, "OpenStack-API-Version", "compute 2.81"); resp.StatusCode != 403 {
		t.Fatalf("images as a member: %d", resp.StatusCode)
	}
}
