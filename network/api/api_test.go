package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"

	"imagestack/network/networktest"
)

type client struct {
	t    *testing.T
	base string
}

// do sends a request with token ("" none) and returns the status and the
// decoded body.
func (c client) do(method, path, token string, body any) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: body %q is not JSON", method, path, raw)
		}
	}
	return resp.StatusCode, out
}

func setup(t *testing.T) (client, string) {
	s := networktest.NewSetup(t, networktest.WithAPI())
	n := s.DefaultNetwork(t)
	return client{t, s.Server.URL}, n.ID
}

func neutronError(t *testing.T, body map[string]any) (typ, msg string) {
	t.Helper()
	e, ok := body["NeutronError"].(map[string]any)
	if !ok || e["detail"] != "" {
		t.Fatalf("not a NeutronError: %v", body)
	}
	return e["type"].(string), e["message"].(string)
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func list(body map[string]any, key string) []map[string]any {
	var out []map[string]any
	for _, v := range body[key].([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

func TestVersionsAndErrors(t *testing.T) {
	c, _ := setup(t)
	st, body := c.do("GET", "/", "", nil)
	v := list(body, "versions")
	if st != 200 || len(v) != 1 || v[0]["id"] != "v2.0" || v[0]["status"] != "CURRENT" {
		t.Fatalf("GET /: %d %v", st, body)
	}
	if st, body = c.do("GET", "/v2.0", "", nil); st != 200 || len(list(body, "resources")) < 5 {
		t.Fatalf("GET /v2.0: %d %v", st, body)
	}
	st, body = c.do("GET", "/v2.0/networks", "", nil)
	if typ, _ := neutronError(t, body); st != 401 || typ != "HTTPUnauthorized" {
		t.Fatalf("no token: %d %v", st, body)
	}
	st, body = c.do("GET", "/v2.0/routers/x/bogus", "member", nil)
	if typ, _ := neutronError(t, body); st != 404 || typ != "HTTPNotFound" {
		t.Fatalf("unknown path: %d %v", st, body)
	}
	st, body = c.do("GET", "/v2.0/networks/nope", "member", nil)
	want := map[string]any{"NeutronError": map[string]any{"type": "NetworkNotFound", "message": "Network nope could not be found.", "detail": ""}}
	if st != 404 || !reflect.DeepEqual(body, want) {
		t.Fatalf("unknown network: %d %v", st, body)
	}
	st, body = c.do("DELETE", "/v2.0/networks", "admin", nil)
	if typ, _ := neutronError(t, body); st != 405 || typ != "HTTPMethodNotAllowed" {
		t.Fatalf("DELETE on the collection: %d %v", st, body)
	}
	st, body = c.do("POST", "/v2.0/floatingips", "member", map[string]any{"floatingip": map[string]any{"floating_network_id": "x"}})
	if typ, _ := neutronError(t, body); st != 400 || typ != "BadRequest" {
		t.Fatalf("floating IP create: %d %v", st, body)
	}
	if st, body = c.do("GET", "/v2.0/floatingips", "member", nil); st != 200 || len(body["floatingips"].([]any)) != 0 {
		t.Fatalf("floating IPs: %d %v", st, body)
	}
}

func TestNetworkBodies(t *testing.T) {
	c, id := setup(t)
	st, body := c.do("GET", "/v2.0/networks/"+id, "member", nil)
	n := body["network"].(map[string]any)
	wantKeys := []string{"admin_state_up", "availability_zone_hints", "availability_zones", "created_at", "description", "id", "mtu", "name",
		"port_security_enabled", "project_id", "revision_number", "router:external", "shared", "status", "subnets", "tenant_id", "updated_at"}
	if st != 200 || !reflect.DeepEqual(keys(n), wantKeys) || n["status"] != "ACTIVE" || n["shared"] != true || n["mtu"] != 1500.0 ||
		n["router:external"] != false || n["tenant_id"] != n["project_id"] || len(n["subnets"].([]any)) != 1 {
		t.Fatalf("network: %d %v", st, body)
	}
	if _, err := stamp(n["created_at"]); err != nil {
		t.Fatal(err)
	}
	st, body = c.do("GET", "/v2.0/networks?fields=id&fields=name", "member", nil)
	if got := list(body, "networks"); st != 200 || len(got) != 1 || !reflect.DeepEqual(keys(got[0]), []string{"id", "name"}) {
		t.Fatalf("fields: %d %v", st, body)
	}
	st, body = c.do("POST", "/v2.0/networks", "member", map[string]any{"network": map[string]any{"name": "x"}})
	if typ, msg := neutronError(t, body); st != 403 || typ != "PolicyNotAuthorized" || msg != "(rule:create_network) is disallowed by policy" {
		t.Fatalf("member creates a network: %d %v", st, body)
	}
	st, body = c.do("POST", "/v2.0/networks", "admin", map[string]any{"network": map[string]any{"name": "x", "foo": 1}})
	if typ, msg := neutronError(t, body); st != 400 || typ != "HTTPBadRequest" || msg != "Unrecognized attribute(s) 'foo'" {
		t.Fatalf("unknown attribute: %d %v", st, body)
	}
}

func stamp(v any) (string, error) {
	s, _ := v.(string)
	if len(s) != 20 || !strings.HasSuffix(s, "Z") {
		return s, &json.UnsupportedValueError{Str: "timestamp " + s}
	}
	return s, nil
}

func TestListQueries(t *testing.T) {
	c, _ := setup(t)
	for _, name := range []string{"b", "c", "a"} {
		if st, body := c.do("POST", "/v2.0/networks", "admin", map[string]any{"network": map[string]any{"name": name}}); st != 201 {
			t.Fatalf("create: %d %v", st, body)
		}
	}
	names := func(path string) ([]string, map[string]any) {
		st, body := c.do("GET", path, "admin", nil)
		if st != 200 {
			t.Fatalf("%s: %d %v", path, st, body)
		}
		var out []string
		for _, n := range list(body, "networks") {
			out = append(out, n["name"].(string))
		}
		return out, body
	}
	if got, _ := names("/v2.0/networks?name=a&name=c&sort_key=name&sort_dir=desc"); !reflect.DeepEqual(got, []string{"c", "a"}) {
		t.Fatalf("filter (repeat = or) and sort: %v", got)
	}
	if got, _ := names("/v2.0/networks?shared=True"); !reflect.DeepEqual(got, []string{"private"}) {
		t.Fatalf("shared=True: %v", got)
	}
	got, body := names("/v2.0/networks?sort_key=name&limit=2")
	links := body["networks_links"].([]any)
	next := links[0].(map[string]any)
	if !reflect.DeepEqual(got, []string{"a", "b"}) || len(links) != 1 || next["rel"] != "next" {
		t.Fatalf("first page: %v %v", got, body)
	}
	href := next["href"].(string)
	got, _ = names(href[strings.Index(href, "/v2.0"):])
	if !reflect.DeepEqual(got, []string{"c", "private"}) {
		t.Fatalf("second page: %v", got)
	}
	st, body := c.do("GET", "/v2.0/networks?bogus=1", "admin", nil)
	if typ, _ := neutronError(t, body); st != 400 || typ != "HTTPBadRequest" {
		t.Fatalf("unknown filter: %d %v", st, body)
	}
}

func TestSubnetsPortsGroups(t *testing.T) {
	c, id := setup(t)
	st, body := c.do("POST", "/v2.0/networks", "admin", map[string]any{"network": map[string]any{"name": "n2"}})
	n2 := body["network"].(map[string]any)["id"].(string)
	st, body = c.do("POST", "/v2.0/subnets", "admin", map[string]any{"subnet": map[string]any{"network_id": n2, "cidr": "192.0.2.0/24",
		"ip_version": 4, "gateway_ip": nil, "dns_nameservers": []string{"192.0.2.53"}}})
	sub, _ := body["subnet"].(map[string]any)
	if st != 201 || sub["gateway_ip"] != nil || sub["enable_dhcp"] != true || sub["ipv6_ra_mode"] != nil {
		t.Fatalf("subnet create: %d %v", st, body)
	}
	st, body = c.do("POST", "/v2.0/subnets", "admin", map[string]any{"subnet": map[string]any{"network_id": n2, "cidr": "192.0.2.0/25", "ip_version": 4}})
	if typ, _ := neutronError(t, body); st != 400 || typ != "InvalidInput" {
		t.Fatalf("overlap: %d %v", st, body)
	}
	st, body = c.do("POST", "/v2.0/ports", "member", map[string]any{"port": map[string]any{"network_id": id, "name": "p"}})
	p, _ := body["port"].(map[string]any)
	if _, hidden := p["binding:host_id"]; st != 201 || p["binding:vnic_type"] != "normal" || len(p["fixed_ips"].([]any)) != 1 ||
		p["device_owner"] != "" || hidden {
		t.Fatalf("port create (binding:host_id is the admin's): %d %v", st, body)
	}
	st, body = c.do("GET", "/v2.0/ports/"+p["id"].(string), "admin", nil)
	if ap := body["port"].(map[string]any); st != 200 || ap["binding:host_id"] != "" || ap["binding:vif_type"] != "unbound" ||
		!reflect.DeepEqual(ap["binding:profile"], map[string]any{}) {
		t.Fatalf("the admin's view of the port: %d %v", st, body)
	}
	st, body = c.do("GET", "/v2.0/ports?binding:host_id=", "admin", nil)
	if st != 200 || len(list(body, "ports")) != 3 { // p and the two DHCP ports
		t.Fatalf("admins filter by binding:host_id: %d %v", st, body)
	}
	st, body = c.do("GET", "/v2.0/ports?fixed_ips=ip_address%3D10.0.0.3", "member", nil)
	if got := list(body, "ports"); st != 200 || len(got) != 1 || got[0]["id"] != p["id"] {
		t.Fatalf("fixed_ips filter: %d %v", st, body)
	}
	st, body = c.do("GET", "/v2.0/ports?device_owner=network:dhcp", "member", nil)
	if got := list(body, "ports"); st != 200 || len(got) != 0 {
		t.Fatalf("the DHCP port is the admin project's: %d %v", st, body)
	}
	st, body = c.do("DELETE", "/v2.0/subnets/"+p["fixed_ips"].([]any)[0].(map[string]any)["subnet_id"].(string), "admin", nil)
	if typ, _ := neutronError(t, body); st != 409 || typ != "SubnetInUse" {
		t.Fatalf("subnet in use: %d %v", st, body)
	}
	st, body = c.do("GET", "/v2.0/security-groups", "member", nil)
	groups := list(body, "security_groups")
	if st != 200 || len(groups) != 1 || groups[0]["name"] != "default" || len(groups[0]["security_group_rules"].([]any)) != 4 {
		t.Fatalf("default group: %d %v", st, body)
	}
	st, body = c.do("POST", "/v2.0/security-group-rules", "member", map[string]any{"security_group_rule": map[string]any{
		"security_group_id": groups[0]["id"], "direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22,
		"remote_ip_prefix": "0.0.0.0/0", "ethertype": "IPv4"}})
	if r, _ := body["security_group_rule"].(map[string]any); st != 201 || r["port_range_min"] != 22.0 || r["remote_group_id"] != nil {
		t.Fatalf("rule: %d %v", st, body)
	}
	if st, _ := c.do("DELETE", "/v2.0/ports/"+p["id"].(string), "member", nil); st != 204 {
		t.Fatalf("port delete: %d", st)
	}
}

func TestQuotasExtensionsAvailability(t *testing.T) {
	c, id := setup(t)
	st, body := c.do("GET", "/v2.0/quotas/A", "member", nil)
	if q, _ := body["quota"].(map[string]any); st != 200 || q["network"] != 100.0 || q["port"] != 500.0 {
		t.Fatalf("quotas: %d %v", st, body)
	}
	if st, _ = c.do("GET", "/v2.0/quotas/B", "member", nil); st != 403 {
		t.Fatalf("another project's quotas: %d", st)
	}
	st, body = c.do("PUT", "/v2.0/quotas/A", "admin", map[string]any{"quota": map[string]any{"network": 5}})
	if q, _ := body["quota"].(map[string]any); st != 200 || q["network"] != 5.0 {
		t.Fatalf("quota update: %d %v", st, body)
	}
	st, body = c.do("GET", "/v2.0/quotas", "admin", nil)
	if qs := list(body, "quotas"); st != 200 || len(qs) != 1 || qs[0]["project_id"] != "A" || qs[0]["network"] != 5.0 {
		t.Fatalf("quota list: %d %v", st, body)
	}
	if st, body = c.do("GET", "/v2.0/quotas", "other", nil); st != 200 || len(body["quotas"].([]any)) != 0 {
		t.Fatalf("project B lists no other project's quotas: %d %v", st, body)
	}
	st, body = c.do("GET", "/v2.0/quotas/A/details.json", "member", nil)
	if q, _ := body["quota"].(map[string]any); st != 200 || q["network"].(map[string]any)["limit"] != 5.0 {
		t.Fatalf("quota details: %d %v", st, body)
	}
	st, body = c.do("GET", "/v2.0/extensions", "member", nil)
	aliases := map[string]bool{}
	for _, e := range list(body, "extensions") {
		aliases[e["alias"].(string)] = true
	}
	if st != 200 || !aliases["security-group"] || !aliases["quotas"] || !aliases["network-ip-availability"] || aliases["router"] {
		t.Fatalf("extensions: %v", aliases)
	}
	st, body = c.do("GET", "/v2.0/network-ip-availabilities/"+id, "admin", nil)
	a, _ := body["network_ip_availability"].(map[string]any)
	if st != 200 || a["total_ips"] != 253.0 || a["used_ips"] != 1.0 {
		t.Fatalf("availability: %d %v", st, body)
	}
	if st, body = c.do("GET", "/v2.0/network-ip-availabilities", "member", nil); st != 200 || len(body["network_ip_availabilities"].([]any)) != 0 {
		t.Fatalf("members see no availabilities: %d %v", st, body)
	}
}
