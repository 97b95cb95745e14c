package api_test

import (
	"strings"
	"testing"

	"imagestack/compute/computetest"
)

// mv is the header pair asking for microversion v.
func mv(v string) []string { return []string{"OpenStack-API-Version", "compute " + v} }

// TestFlavorParameterTypes: POST /flavors takes Nova's lenient parameter
// types (digit strings, boolean strings) and refuses unknown fields.
func TestFlavorParameterTypes(t *testing.T) {
	srv := computetest.NewSetup(t, computetest.WithAPI()).Server
	resp, body := do(t, srv, "POST", "/v2.1/flavors", "admin",
		`{"flavor":{"name":"strs","ram":"1024","vcpus":"1","disk":"0","swap":"512","rxtx_factor":"1.5","os-flavor-access:is_public":"True"}}`)
	f, _ := body["flavor"].(map[string]any)
	if resp.StatusCode != 200 || f["ram"] != 1024.0 || f["vcpus"] != 1.0 || f["swap"] != 512.0 || f["rxtx_factor"] != 1.5 ||
		f["os-flavor-access:is_public"] != true {
		t.Fatalf("create with strings: %d %v", resp.StatusCode, body)
	}
	for _, pub := range []string{`"no"`, `"OFF"`, `"0"`, `false`} {
		resp, body := do(t, srv, "POST", "/v2.1/flavors", "admin", `{"flavor":{"name":"p`+strings.Trim(pub, `"`)+`","ram":64,"vcpus":1,"disk":1,"os-flavor-access:is_public":`+pub+`}}`)
		if resp.StatusCode != 200 || body["flavor"].(map[string]any)["os-flavor-access:is_public"] != false {
			t.Errorf("is_public %s: %d %v", pub, resp.StatusCode, body)
		}
	}
	for _, bad := range []string{
		`{"flavor":{"name":"x","ram":"1k","vcpus":1,"disk":0}}`,
		`{"flavor":{"name":"x","ram":"-1","vcpus":1,"disk":0}}`,
		`{"flavor":{"name":"x","ram":0,"vcpus":1,"disk":0}}`,
		`{"flavor":{"name":"x","ram":1.5,"vcpus":1,"disk":0}}`,
		`{"flavor":{"name":"x","ram":1,"vcpus":"1","disk":"-0"}}`,
		`{"flavor":{"name":"x","ram":1,"vcpus":1,"disk":0,"os-flavor-access:is_public":"y"}}`,
		`{"flavor":{"name":"x","ram":1,"vcpus":1,"disk":0,"color":"red"}}`,
		`{"flavor":{"name":"x","ram":1,"vcpus":1,"disk":0,"description":"2.55 only"}}`,
		`{"flavor":{"name":"x","ram":1,"vcpus":1,"disk":0},"extra":1}`,
		`{"flavor":{"name":"x","ram":1,"vcpus":1,"disk":0,"rxtx_factor":"0"}}`,
		`{"flavor":{"name":"x","ram":1,"vcpus":1}}`,
	} {
		if resp, body := do(t, srv, "POST", "/v2.1/flavors", "admin", bad); resp.StatusCode != 400 {
			t.Errorf("%s: %d %v", bad, resp.StatusCode, body)
		}
	}
	if resp, body := do(t, srv, "POST", "/v2.1/flavors/42/action", "admin", `{"addTenantAccess":{"tenant":"A","x":1}}`); resp.StatusCode != 400 {
		t.Errorf("access with an unknown field: %d %v", resp.StatusCode, body)
	}
}

// TestFlavorDescription: 2.55 creates and updates descriptions and shows
// them (null when none) in every view; 2.54 neither takes nor shows them.
func TestFlavorDescription(t *testing.T) {
	srv := computetest.NewSetup(t, computetest.WithAPI()).Server
	create := `{"flavor":{"name":"d","id":"d1","ram":64,"vcpus":1,"disk":1,"description":"small one"}}`
	if resp, _ := do(t, srv, "POST", "/v2.1/flavors", "admin", create, mv("2.54")...); resp.StatusCode != 400 {
		t.Fatalf("description at 2.54: %d", resp.StatusCode)
	}
	resp, body := do(t, srv, "POST", "/v2.1/flavors", "admin", create, mv("2.55")...)
	if resp.StatusCode != 200 || body["flavor"].(map[string]any)["description"] != "small one" {
		t.Fatalf("create at 2.55: %d %v", resp.StatusCode, body)
	}
	_, body = do(t, srv, "GET", "/v2.1/flavors/d1", "member", "", mv("2.54")...)
	if _, has := body["flavor"].(map[string]any)["description"]; has {
		t.Errorf("2.54 shows a description: %v", body)
	}
	_, body = do(t, srv, "GET", "/v2.1/flavors/1", "member", "", mv("2.55")...)
	if d, has := body["flavor"].(map[string]any)["description"]; !has || d != nil {
		t.Errorf("no description at 2.55 is null: %v", body)
	}
	_, body = do(t, srv, "GET", "/v2.1/flavors", "member", "", mv("2.55")...)
	if !strings.Contains(mustJSON(body), `"description":"small one"`) {
		t.Errorf("brief list at 2.55: %v", body)
	}
	if resp, body := do(t, srv, "GET", "/v2.1/flavors/detail?sort_key=description&sort_dir=desc", "member", "", mv("2.55")...); resp.StatusCode != 200 ||
		body["flavors"].([]any)[0].(map[string]any)["description"] != "small one" {
		t.Errorf("sorted by description: %d %v", resp.StatusCode, body)
	}
	upd := `{"flavor":{"description":"renamed"}}`
	for _, c := range []struct {
		version, token, body string
		status               int
	}{
		{"2.54", "admin", upd, 404}, {"2.55", "member", upd, 403}, {"2.55", "admin", `{"flavor":{}}`, 400},
		{"2.55", "admin", `{"flavor":{"description":"x","name":"y"}}`, 400}, {"2.55", "admin", upd, 200},
	} {
		if resp, body := do(t, srv, "PUT", "/v2.1/flavors/d1", c.token, c.body, mv(c.version)...); resp.StatusCode != c.status {
			t.Errorf("PUT at %s as %s %s: %d %v", c.version, c.token, c.body, resp.StatusCode, body)
		}
	}
	if resp, _ := do(t, srv, "PUT", "/v2.1/flavors/nope", "admin", upd, mv("2.55")...); resp.StatusCode != 404 {
		t.Errorf("PUT of an unknown flavor: %d", resp.StatusCode)
	}
	_, body = do(t, srv, "GET", "/v2.1/flavors/d1", "admin", "", mv("2.55")...)
	if body["flavor"].(map[string]any)["description"] != "renamed" {
		t.Fatalf("after update: %v", body)
	}
	do(t, srv, "PUT", "/v2.1/flavors/d1", "admin", `{"flavor":{"description":null}}`, mv("2.55")...)
	if _, body = do(t, srv, "GET", "/v2.1/flavors/d1", "admin", "", mv("2.55")...); body["flavor"].(map[string]any)["description"] != nil {
		t.Fatalf("after clearing: %v", body)
	}
}

// TestFlavorExtraSpecsAndSwapVersions: extra_specs are embedded from 2.61
// (for callers the extra-specs rule allows), swap is 0 rather than "" from
// 2.75, and 2.75 refuses unknown list parameters.
func TestFlavorExtraSpecsAndSwapVersions(t *testing.T) {
	srv := computetest.NewSetup(t, computetest.WithAPI()).Server
	do(t, srv, "POST", "/v2.1/flavors/1/os-extra_specs", "admin", `{"extra_specs":{"hw:cpu_policy":"shared"}}`)
	_, body := do(t, srv, "GET", "/v2.1/flavors/1", "member", "", mv("2.60")...)
	if f := body["flavor"].(map[string]any); f["extra_specs"] != nil || f["swap"] != "" {
		t.Errorf("2.60: %v", f)
	}
	_, body = do(t, srv, "GET", "/v2.1/flavors/1", "member", "", mv("2.61")...)
	if got := mustJSON(body["flavor"].(map[string]any)["extra_specs"]); got != `{"hw:cpu_policy":"shared"}` {
		t.Errorf("2.61 extra_specs: %s", got)
	}
	_, body = do(t, srv, "GET", "/v2.1/flavors/detail", "admin", "", mv("2.61")...)
	if !strings.Contains(mustJSON(body), `"extra_specs":{}`) || !strings.Contains(mustJSON(body), `"extra_specs":{"hw:cpu_policy":"shared"}`) {
		t.Errorf("2.61 detail: %v", body)
	}
	_, body = do(t, srv, "GET", "/v2.1/flavors/1", "member", "", mv("2.75")...)
	if f := body["flavor"].(map[string]any); f["swap"] != 0.0 {
		t.Errorf("2.75 swap: %v", f)
	}
	if resp, _ := do(t, srv, "GET", "/v2.1/flavors?color=red", "member", "", mv("2.74")...); resp.StatusCode != 200 {
		t.Errorf("2.74 unknown query: %d", resp.StatusCode)
	}
	if resp, _ := do(t, srv, "GET", "/v2.1/flavors?color=red", "member", "", mv("2.75")...); resp.StatusCode != 400 {
		t.Errorf("2.75 unknown query: %d", resp.StatusCode)
	}
}
