package api_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"imagestack/compute/computetest"
)

// TestServiceUpdatesBefore253: the os-services actions name a service by
// host and binary; ids are integers; force-down needs 2.11; the state
// persists and is listed; ComputeEnabled follows it.
func TestServiceUpdatesBefore253(t *testing.T) {
	s := computetest.NewSetup(t, computetest.WithAPI())
	srv := s.Server
	host, _ := os.Hostname()
	hb := `"host":"` + host + `","binary":"nova-compute"`
	for _, c := range []struct {
		version, action, body string
		status                int
	}{
		{"2.1", "disable", `{` + hb + `,"color":1}`, 400},
		{"2.1", "disable", `{"host":"` + host + `"}`, 400},
		{"2.1", "frobnicate", `{` + hb + `}`, 404},
		{"2.1", "disable-log-reason", `{` + hb + `}`, 400},
		{"2.1", "disable", `{"host":"elsewhere","binary":"nova-compute"}`, 404},
		{"2.1", "disable", `{"host":"` + host + `","binary":"nova-scheduler"}`, 400},
		{"2.10", "force-down", `{` + hb + `,"forced_down":true}`, 400},
		{"2.11", "force-down", `{` + hb + `}`, 400},
	} {
		if resp, body := do(t, srv, "PUT", "/v2.1/os-services/"+c.action, "admin", c.body, mv(c.version)...); resp.StatusCode != c.status {
			t.Errorf("%s %s %s: %d %v, want %d", c.version, c.action, c.body, resp.StatusCode, body, c.status)
		}
	}
	if resp, _ := do(t, srv, "PUT", "/v2.1/os-services/disable", "member", `{`+hb+`}`); resp.StatusCode != 403 {
		t.Errorf("member disables: %d", resp.StatusCode)
	}
	resp, body := do(t, srv, "PUT", "/v2.1/os-services/disable-log-reason", "admin", `{`+hb+`,"disabled_reason":"maintenance"}`)
	if got := mustJSON(body); resp.StatusCode != 200 || got != `{"service":{"binary":"nova-compute","disabled_reason":"maintenance","host":"`+host+`","status":"disabled"}}` {
		t.Fatalf("disable-log-reason: %d %s", resp.StatusCode, got)
	}
	if s.Service.ComputeEnabled(context.Background()) {
		t.Fatal("a disabled compute service still takes servers")
	}
	_, body = do(t, srv, "GET", "/v2.1/os-services?binary=nova-compute", "admin", "")
	sv := body["services"].([]any)[0].(map[string]any)
	if sv["status"] != "disabled" || sv["disabled_reason"] != "maintenance" || sv["id"] != 1.0 || sv["forced_down"] != nil {
		t.Fatalf("listed at 2.1: %v", sv)
	}
	do(t, srv, "PUT", "/v2.1/os-services/enable", "admin", `{`+hb+`}`)
	resp, body = do(t, srv, "PUT", "/v2.1/os-services/force-down", "admin", `{`+hb+`,"forced_down":"yes"}`, mv("2.11")...)
	if got := mustJSON(body); resp.StatusCode != 200 || got != `{"service":{"binary":"nova-compute","forced_down":true,"host":"`+host+`"}}` {
		t.Fatalf("force-down: %d %s", resp.StatusCode, got)
	}
	_, body = do(t, srv, "GET", "/v2.1/os-services?binary=nova-compute", "admin", "", mv("2.11")...)
	sv = body["services"].([]any)[0].(map[string]any)
	if sv["status"] != "enabled" || sv["disabled_reason"] != nil || sv["state"] != "down" || sv["forced_down"] != true {
		t.Fatalf("listed at 2.11: %v", sv)
	}
	if s.Service.ComputeEnabled(context.Background()) {
		t.Fatal("a forced-down compute service still takes servers")
	}
	do(t, srv, "PUT", "/v2.1/os-services/force-down", "admin", `{`+hb+`,"forced_down":false}`, mv("2.11")...)
	if !s.Service.ComputeEnabled(context.Background()) {
		t.Fatal("an enabled compute service takes no servers")
	}
}

// TestServiceUpdatesFrom253: ids are UUIDs; PUT and DELETE take them,
// with Nova's 400 and 404 rules; the internal services are listed.
func TestServiceUpdatesFrom253(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithAPI())
	srv := e.Server
	_, body := do(t, srv, "GET", "/v2.1/os-services", "admin", "", mv("2.53")...)
	ids := map[string]string{}
	for _, e := range body["services"].([]any) {
		m := e.(map[string]any)
		ids[m["binary"].(string)] = m["id"].(string)
		if m["binary"] != "nova-compute" && m["zone"] != "internal" {
			t.Errorf("zone of %v", m)
		}
	}
	cid := ids["nova-compute"]
	if len(ids) != 3 || len(cid) != 36 {
		t.Fatalf("services at 2.53: %v", body)
	}
	for _, c := range []struct {
		id, body string
		status   int
	}{
		{"3", `{"status":"disabled"}`, 400},
		{"00000000-0000-0000-0000-000000000000", `{"status":"disabled"}`, 404},
		{ids["nova-scheduler"], `{"status":"disabled"}`, 400},
		{cid, `{}`, 400},
		{cid, `{"status":"off"}`, 400},
		{cid, `{"status":"enabled","disabled_reason":"x"}`, 400},
		{cid, `{"status":"disabled","host":"x"}`, 400},
	} {
		if resp, body := do(t, srv, "PUT", "/v2.1/os-services/"+c.id, "admin", c.body, mv("2.53")...); resp.StatusCode != c.status {
			t.Errorf("PUT %s %s: %d %v, want %d", c.id, c.body, resp.StatusCode, body, c.status)
		}
	}
	resp, body := do(t, srv, "PUT", "/v2.1/os-services/"+cid, "admin", `{"status":"disabled","disabled_reason":"upgrade","forced_down":true}`, mv("2.53")...)
	sv, _ := body["service"].(map[string]any)
	if resp.StatusCode != 200 || sv["id"] != cid || sv["status"] != "disabled" || sv["disabled_reason"] != "upgrade" ||
		sv["forced_down"] != true || sv["state"] != "down" || sv["zone"] != "nova" {
		t.Fatalf("PUT at 2.53: %d %v", resp.StatusCode, body)
	}
	for _, c := range []struct {
		version, id string
		status      int
	}{
		{"2.52", cid, 400}, {"2.53", "3", 400}, {"2.53", "00000000-0000-0000-0000-000000000000", 404},
		{"2.52", "99", 404}, {"2.53", ids["nova-scheduler"], 204}, {"2.53", ids["nova-scheduler"], 404},
	} {
		if resp, body := do(t, srv, "DELETE", "/v2.1/os-services/"+c.id, "admin", "", mv(c.version)...); resp.StatusCode != c.status {
			t.Errorf("DELETE %s at %s: %d %v, want %d", c.id, c.version, resp.StatusCode, body, c.status)
		}
	}
	// A server placed on the host (enabled and up again) holds its service.
	do(t, srv, "PUT", "/v2.1/os-services/"+cid, "admin", `{"status":"enabled","forced_down":false}`, mv("2.53")...)
	do(t, srv, "POST", "/v2.1/servers", "admin", `{"server":{"name":"vm","imageRef":"img","flavorRef":"1"}}`)
	e.Service.Wait()
	if resp, body := do(t, srv, "DELETE", "/v2.1/os-services/"+cid, "admin", "", mv("2.53")...); resp.StatusCode != 409 {
		t.Errorf("DELETE of a compute hosting servers: %d %v", resp.StatusCode, body)
	}
}

// TestZonesFollowServices: a disabled compute service leaves its zone
// unavailable (hosts null), as Nova lists it.
func TestZonesFollowServices(t *testing.T) {
	srv := computetest.NewSetup(t, computetest.WithAPI()).Server
	host, _ := os.Hostname()
	do(t, srv, "PUT", "/v2.1/os-services/disable", "admin", `{"host":"`+host+`","binary":"nova-compute"}`)
	_, body := do(t, srv, "GET", "/v2.1/os-availability-zone", "member", "")
	if got := mustJSON(body); got != `{"availabilityZoneInfo":[{"hosts":null,"zoneName":"nova","zoneState":{"available":false}}]}` {
		t.Errorf("zones: %s", got)
	}
	_, body = do(t, srv, "GET", "/v2.1/os-availability-zone/detail", "admin", "")
	if got := mustJSON(body); !strings.HasSuffix(got, `{"hosts":null,"zoneName":"nova","zoneState":{"available":false}}]}`) || !strings.Contains(got, `"zoneName":"internal"`) {
		t.Errorf("zones detail: %s", got)
	}
}
