package api_test

import (
	"encoding/base64"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"imagestack/compute/computetest"
)

// at is the header asking for microversion v.
func at(v string) []string { return []string{"OpenStack-API-Version", "compute " + v} }

// showAt is GET /servers/{id} at microversion v as tok.
func showAt(t *testing.T, srv *httptest.Server, id, tok, v string) map[string]any {
	t.Helper()
	resp, body := do(t, srv, "GET", "/v2.1/servers/"+id, tok, "", at(v)...)
	if resp.StatusCode != 200 {
		t.Fatalf("show at %s: %d %v", v, resp.StatusCode, body)
	}
	return body["server"].(map[string]any)
}

// wantKeys checks which of keys a view has (want true) or lacks.
func wantKeys(t *testing.T, what string, view map[string]any, want bool, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := view[k]; ok != want {
			t.Errorf("%s: key %s present=%v, want %v (%v)", what, k, ok, want, view)
		}
	}
}

// TestServerViewMicroversions: each microversion's fields appear from it
// on, admins see the extended attributes, and the 2.47 flavor is the
// server's own copy.
func TestServerViewMicroversions(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithAPI())
	resp, body := do(t, e.Server, "POST", "/v2.1/servers", "member", `{"server": {"name": "vm", "imageRef": "img", "flavorRef": "42"}}`)
	if resp.StatusCode != 202 {
		t.Fatalf("create: %d %v", resp.StatusCode, body)
	}
	e.Service.Wait()
	sv := e.Get(t, body["server"].(map[string]any)["id"].(string))
	later := []string{"locked", "host_status", "description", "tags", "trusted_image_certificates", "server_groups",
		"locked_reason", "OS-EXT-SRV-ATTR:hostname"}
	v21 := showAt(t, e.Server, sv.ID, "member", "2.1")
	wantKeys(t, "member 2.1", v21, false, append(later, "OS-EXT-SRV-ATTR:host")...)
	admin21 := showAt(t, e.Server, sv.ID, "admin", "2.1")
	wantKeys(t, "admin 2.1", admin21, true, "OS-EXT-SRV-ATTR:host", "OS-EXT-SRV-ATTR:instance_name", "OS-EXT-SRV-ATTR:hypervisor_hostname")
	wantKeys(t, "admin 2.1", admin21, false, "OS-EXT-SRV-ATTR:kernel_id", "OS-EXT-SRV-ATTR:hostname")
	admin23 := showAt(t, e.Server, sv.ID, "admin", "2.3")
	wantKeys(t, "admin 2.3", admin23, true, "OS-EXT-SRV-ATTR:kernel_id", "OS-EXT-SRV-ATTR:ramdisk_id", "OS-EXT-SRV-ATTR:launch_index",
		"OS-EXT-SRV-ATTR:reservation_id", "OS-EXT-SRV-ATTR:root_device_name", "OS-EXT-SRV-ATTR:user_data", "OS-EXT-SRV-ATTR:hostname")
	if admin23["OS-EXT-SRV-ATTR:reservation_id"] != sv.ReservationID || admin23["OS-EXT-SRV-ATTR:hostname"] != sv.Hostname {
		t.Errorf("admin 2.3 attributes: %v", admin23)
	}

	m := showAt(t, e.Server, sv.ID, "member", "2.90")
	wantKeys(t, "member 2.90", m, true, "locked", "description", "tags", "trusted_image_certificates", "server_groups",
		"locked_reason", "OS-EXT-SRV-ATTR:hostname")
	wantKeys(t, "member 2.90", m, false, "host_status", "OS-EXT-SRV-ATTR:host")
	if m["locked"] != false || m["description"] != sv.Name || m["OS-EXT-SRV-ATTR:hostname"] != sv.Hostname {
		t.Errorf("member 2.90: locked %v, description %v (a server created at 2.1 has its name), hostname %v",
			m["locked"], m["description"], m["OS-EXT-SRV-ATTR:hostname"])
	}
	if a := showAt(t, e.Server, sv.ID, "admin", "2.16"); a["host_status"] != "UP" {
		t.Errorf("admin 2.16 host_status: %v", a["host_status"])
	}
	host, _ := os.Hostname()
	if resp, body := do(t, e.Server, "PUT", "/v2.1/os-services/disable", "admin", `{"host": "`+host+`", "binary": "nova-compute"}`); resp.StatusCode != 200 {
		t.Fatalf("disable nova-compute: %d %v", resp.StatusCode, body)
	}
	if a := showAt(t, e.Server, sv.ID, "admin", "2.16"); a["host_status"] != "MAINTENANCE" {
		t.Errorf("host_status with nova-compute disabled: %v", a["host_status"])
	}
	flavor := m["flavor"].(map[string]any)
	if flavor["original_name"] != "m1.nano" || flavor["ram"] != float64(sv.RAM) || flavor["id"] != nil || flavor["extra_specs"] == nil {
		t.Errorf("2.47 flavor: %v", flavor)
	}
	_, body = do(t, e.Server, "GET", "/v2.1/servers/detail", "member", "", at("2.90")...)
	detail := body["servers"].([]any)[0].(map[string]any)
	wantKeys(t, "detail 2.90", detail, false, "server_groups")
	wantKeys(t, "detail 2.90", detail, true, "locked_reason", "tags")

	if resp, _ := do(t, e.Server, "GET", "/v2.1/servers/"+sv.ID+"/topology", "member", "", at("2.77")...); resp.StatusCode != 404 {
		t.Errorf("topology at 2.77: %d, want 404", resp.StatusCode)
	}
	_, body = do(t, e.Server, "GET", "/v2.1/servers/"+sv.ID+"/topology", "member", "", at("2.78")...)
	wantBody(t, "topology at 2.78", body, `{"nodes": [], "pagesize_kb": null}`, nil)
}

// TestServerSchemasPerMicroversion: keys outside a microversion's schema
// are 400; 2.19 descriptions, 2.37 networks, 2.73 lock reasons and 2.90
// hostnames work from their microversion.
func TestServerSchemasPerMicroversion(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithAPI())
	create := func(v, server string) (int, map[string]any) {
		t.Helper()
		resp, body := do(t, e.Server, "POST", "/v2.1/servers", "member", `{"server": {"name": "s", "imageRef": "img", "flavorRef": "42"`+server+`}}`, at(v)...)
		e.Service.Wait()
		return resp.StatusCode, body
	}
	for _, c := range []struct {
		v, server string
		want      int
		msg       string
	}{
		{"2.1", `, "foo": 1`, 400, "'foo' was unexpected"},
		{"2.18", `, "description": "d"`, 400, "'description' was unexpected"},
		{"2.37", ``, 400, "'networks' is a required property"},
		{"2.36", `, "networks": "none"`, 400, "not of type 'array'"},
		{"2.57", `, "networks": "none", "personality": []`, 400, "'personality' was unexpected"},
		{"2.89", `, "networks": "none", "hostname": "h1"`, 400, "'hostname' was unexpected"},
		{"2.90", `, "networks": "none", "hostname": "-h"`, 400, "hostname"},
		{"2.74", `, "networks": "none", "host": "elsewhere"`, 403, ""},
		{"2.63", `, "networks": "none", "trusted_image_certificates": ["c"]`, 400, "not supported"},
	} {
		code, body := create(c.v, c.server)
		if code != c.want || !strings.Contains(mustJSON(body), c.msg) {
			t.Errorf("create at %s with%s: %d %v, want %d with %q", c.v, c.server, code, body, c.want, c.msg)
		}
	}
	code, body := create("2.90", `, "networks": "none", "description": "web tier", "hostname": "custom-1"`)
	if code != 202 {
		t.Fatalf("create at 2.90: %d %v", code, body)
	}
	id := body["server"].(map[string]any)["id"].(string)
	if v := showAt(t, e.Server, id, "member", "2.90"); v["description"] != "web tier" || v["OS-EXT-SRV-ATTR:hostname"] != "custom-1" {
		t.Errorf("created at 2.90: %v", v)
	}
	update := func(v, server string) (int, map[string]any) {
		t.Helper()
		resp, body := do(t, e.Server, "PUT", "/v2.1/servers/"+id, "member", `{"server": {`+server+`}}`, at(v)...)
		return resp.StatusCode, body
	}
	if code, _ := update("2.18", `"description": "x"`); code != 400 {
		t.Errorf("update description at 2.18: %d", code)
	}
	code, body = update("2.74", `"description": null`)
	short := body["server"].(map[string]any)
	if code != 200 || short["description"] != nil {
		t.Errorf("update description to null: %d %v", code, body)
	}
	wantKeys(t, "PUT at 2.74", short, false, "OS-EXT-STS:vm_state", "key_name")
	code, body = update("2.90", `"hostname": "renamed"`)
	full := body["server"].(map[string]any)
	if code != 200 || full["OS-EXT-SRV-ATTR:hostname"] != "renamed" {
		t.Errorf("update hostname at 2.90: %d %v", code, body)
	}
	wantKeys(t, "PUT at 2.90", full, true, "OS-EXT-STS:vm_state", "key_name", "security_groups")

	act := func(v, action string) (int, map[string]any) {
		t.Helper()
		resp, body := do(t, e.Server, "POST", "/v2.1/servers/"+id+"/action", "member", action, at(v)...)
		e.Service.Wait()
		return resp.StatusCode, body
	}
	if code, _ := act("2.72", `{"lock": {"locked_reason": "maintenance"}}`); code != 400 {
		t.Errorf("lock reason at 2.72: %d", code)
	}
	if code, _ := act("2.73", `{"lock": {"locked_reason": "maintenance"}}`); code != 202 {
		t.Errorf("lock reason at 2.73: %d", code)
	}
	if v := showAt(t, e.Server, id, "member", "2.73"); v["locked"] != true || v["locked_reason"] != "maintenance" {
		t.Errorf("locked server at 2.73: %v %v", v["locked"], v["locked_reason"])
	}
	act("2.73", `{"unlock": null}`)
	ud := base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\necho hi\n"))
	if code, _ := act("2.56", `{"rebuild": {"imageRef": "img", "user_data": "`+ud+`"}}`); code != 400 {
		t.Errorf("rebuild with user_data at 2.56: %d", code)
	}
	code, body = act("2.57", `{"rebuild": {"imageRef": "img", "user_data": "`+ud+`", "description": "rebuilt"}}`)
	rebuilt := body["server"].(map[string]any)
	if code != 202 || rebuilt["user_data"] != ud || rebuilt["description"] != "rebuilt" || rebuilt["key_name"] != nil {
		t.Errorf("rebuild at 2.57: %d %v", code, body)
	}
	wantKeys(t, "rebuild at 2.57", rebuilt, true, "key_name")
	wantKeys(t, "rebuild at 2.57", rebuilt, false, "OS-EXT-STS:vm_state")
	code, body = act("2.75", `{"rebuild": {"imageRef": "img"}}`)
	if code != 202 {
		t.Fatalf("rebuild at 2.75: %d %v", code, body)
	}
	wantKeys(t, "rebuild at 2.75", body["server"].(map[string]any), true, "OS-EXT-STS:vm_state", "security_groups", "config_drive")
}
