package api_test

import (
	"slices"
	"strings"
	"testing"

	"imagestack/compute/computetest"
)

func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestQuotaSetKeysPerMicroversion: the network quotas go at 2.36, the
// injected-file ones at 2.57, as Nova's filters; quota classes drop the
// network ones at 2.50 and show server groups only from it.
func TestQuotaSetKeysPerMicroversion(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithAPI())
	cases := []struct {
		path, version string
		has, hasNot   []string
	}{
		{"/v2.1/os-quota-sets/A", "2.35", []string{"fixed_ips", "security_groups", "injected_files", "server_groups"}, nil},
		{"/v2.1/os-quota-sets/A", "2.36", []string{"injected_files", "server_group_members"}, []string{"fixed_ips", "floating_ips", "security_groups", "security_group_rules"}},
		{"/v2.1/os-quota-sets/A", "2.57", []string{"cores", "ram", "instances", "key_pairs", "metadata_items", "server_groups"}, []string{"injected_files", "injected_file_content_bytes", "injected_file_path_bytes", "floating_ips"}},
		{"/v2.1/os-quota-class-sets/default", "2.49", []string{"fixed_ips", "injected_files"}, []string{"server_groups", "server_group_members"}},
		{"/v2.1/os-quota-class-sets/default", "2.50", []string{"server_groups", "injected_files"}, []string{"fixed_ips"}},
	}
	for _, c := range cases {
		resp, body := do(t, e.Server, "GET", c.path, "admin", "", "OpenStack-API-Version", "compute "+c.version)
		set, _ := body["quota_set"].(map[string]any)
		if set == nil {
			set, _ = body["quota_class_set"].(map[string]any)
		}
		keys := keysOf(set)
		for _, k := range c.has {
			if !slices.Contains(keys, k) {
				t.Errorf("%s at %s lacks %s: %d %v", c.path, c.version, k, resp.StatusCode, keys)
			}
		}
		for _, k := range c.hasNot {
			if slices.Contains(keys, k) {
				t.Errorf("%s at %s shows %s", c.path, c.version, k)
			}
		}
	}
}

// TestQuotaSetUpdate: admins set limits (numbers or digit strings, -1
// unlimited); a limit below usage is 400 unless forced; members may not;
// the stored limits are enforced on create; DELETE goes back to the
// defaults; the default class's limits are every project's defaults.
func TestQuotaSetUpdate(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithAPI())
	e.Boot(t, e.Member) // 1 instance, 1 core
	if resp, _ := do(t, e.Server, "PUT", "/v2.1/os-quota-sets/A", "member", `{"quota_set": {"cores": 5}}`); resp.StatusCode != 403 {
		t.Fatalf("member update: %d", resp.StatusCode)
	}
	resp, body := do(t, e.Server, "PUT", "/v2.1/os-quota-sets/A", "admin", `{"quota_set": {"cores": "1", "instances": 3, "ram": -1}}`)
	set, _ := body["quota_set"].(map[string]any)
	if resp.StatusCode != 200 || set["cores"] != 1.0 || set["instances"] != 3.0 || set["ram"] != -1.0 || set["id"] != nil {
		t.Fatalf("update: %d %v", resp.StatusCode, body)
	}
	resp, body = do(t, e.Server, "PUT", "/v2.1/os-quota-sets/A", "admin", `{"quota_set": {"instances": 0}}`)
	if resp.StatusCode != 400 || body["badRequest"].(map[string]any)["message"] != "Quota limit 0 for instances must be greater than or equal to already used and reserved 1." {
		t.Fatalf("below usage: %d %v", resp.StatusCode, body)
	}
	for _, bad := range []string{`{"quota_set": {"cores": -2}}`, `{"quota_set": {"cores": "x"}}`, `{"quota_set": {"bogus": 1}}`} {
		if resp, _ := do(t, e.Server, "PUT", "/v2.1/os-quota-sets/A", "admin", bad); resp.StatusCode != 400 {
			t.Fatalf("%s: %d", bad, resp.StatusCode)
		}
	}
	if resp, _ := do(t, e.Server, "PUT", "/v2.1/os-quota-sets/A", "admin", `{"quota_set": {"fixed_ips": 1}}`, "OpenStack-API-Version", "compute 2.36"); resp.StatusCode != 400 {
		t.Fatalf("fixed_ips at 2.36: %d", resp.StatusCode)
	}
	resp, body = do(t, e.Server, "POST", "/v2.1/servers", "member", `{"server": {"name": "vm", "imageRef": "img", "flavorRef": "42"}}`)
	if resp.StatusCode != 403 || !strings.HasPrefix(body["forbidden"].(map[string]any)["message"].(string), "Quota exceeded for cores") {
		t.Fatalf("create beyond the stored cores quota: %d %v", resp.StatusCode, body)
	}
	_, body = do(t, e.Server, "GET", "/v2.1/os-quota-sets/A/detail", "member", "")
	if c := body["quota_set"].(map[string]any)["cores"].(map[string]any); c["limit"] != 1.0 || c["in_use"] != 1.0 {
		t.Fatalf("detail: %v", body)
	}
	if resp, _ := do(t, e.Server, "PUT", "/v2.1/os-quota-sets/A", "admin", `{"quota_set": {"instances": 0, "force": "True"}}`); resp.StatusCode != 200 {
		t.Fatalf("forced: %d", resp.StatusCode)
	}
	if resp, _ := do(t, e.Server, "DELETE", "/v2.1/os-quota-sets/A", "admin", ""); resp.StatusCode != 202 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	_, body = do(t, e.Server, "GET", "/v2.1/os-quota-sets/A", "member", "")
	if set := body["quota_set"].(map[string]any); set["cores"] != 20.0 || set["instances"] != 10.0 {
		t.Fatalf("after delete: %v", body)
	}
	resp, body = do(t, e.Server, "PUT", "/v2.1/os-quota-class-sets/default", "admin", `{"quota_class_set": {"cores": 7, "server_groups": 3}}`, "OpenStack-API-Version", "compute 2.50")
	if resp.StatusCode != 200 || body["quota_class_set"].(map[string]any)["cores"] != 7.0 {
		t.Fatalf("class update: %d %v", resp.StatusCode, body)
	}
	_, body = do(t, e.Server, "GET", "/v2.1/os-quota-sets/A/defaults", "member", "")
	if set := body["quota_set"].(map[string]any); set["cores"] != 7.0 || set["server_groups"] != 3.0 {
		t.Fatalf("defaults after the class update: %v", body)
	}
}

// TestLimitsPerMicroversion: /limits drops the network limits at 2.36,
// maxImageMeta at 2.39, maxPersonality* at 2.57; unknown parameters are
// 400 from 2.75; tenant_id is for admins.
func TestLimitsPerMicroversion(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithAPI())
	e.Boot(t, e.Member)
	_, body := do(t, e.Server, "GET", "/v2.1/limits?reserved=1", "member", "", "OpenStack-API-Version", "compute 2.57")
	abs := body["limits"].(map[string]any)["absolute"].(map[string]any)
	want := []string{"maxServerGroupMembers", "maxServerGroups", "maxServerMeta", "maxTotalCores", "maxTotalInstances", "maxTotalKeypairs",
		"maxTotalRAMSize", "totalCoresUsed", "totalInstancesUsed", "totalRAMUsed", "totalServerGroupsUsed"}
	if got := keysOf(abs); !slices.Equal(got, want) || abs["totalInstancesUsed"] != 1.0 {
		t.Fatalf("limits at 2.57: %v", abs)
	}
	_, body = do(t, e.Server, "GET", "/v2.1/limits", "member", "", "OpenStack-API-Version", "compute 2.38")
	abs = body["limits"].(map[string]any)["absolute"].(map[string]any)
	if _, has := abs["maxImageMeta"]; !has || abs["maxSecurityGroups"] != nil || abs["maxPersonality"] == nil {
		t.Fatalf("limits at 2.38: %v", abs)
	}
	resp, body := do(t, e.Server, "GET", "/v2.1/limits?reserved=1", "member", "", "OpenStack-API-Version", "compute 2.75")
	if resp.StatusCode != 400 || body["badRequest"].(map[string]any)["message"] != "Additional properties are not allowed ('reserved' was unexpected)" {
		t.Fatalf("unknown query parameter at 2.75: %d %v", resp.StatusCode, body)
	}
	if resp, _ := do(t, e.Server, "GET", "/v2.1/limits?tenant_id=Z", "member", ""); resp.StatusCode != 403 {
		t.Fatalf("member asking for another project: %d", resp.StatusCode)
	}
	_, body = do(t, e.Server, "GET", "/v2.1/limits?tenant_id=A", "admin", "")
	if abs := body["limits"].(map[string]any)["absolute"].(map[string]any); abs["totalInstancesUsed"] != 1.0 {
		t.Fatalf("admin reading project A's limits: %v", abs)
	}
}

// TestKeyPairAndMetadataQuotas: key_pairs and metadata_items are enforced
// from the stored limits (403, Nova's words).
func TestKeyPairAndMetadataQuotas(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithAPI())
	do(t, e.Server, "PUT", "/v2.1/os-quota-sets/A", "admin", `{"quota_set": {"key_pairs": 1, "metadata_items": 1}}`)
	if resp, body := do(t, e.Server, "POST", "/v2.1/os-keypairs", "member", `{"keypair": {"name": "k1"}}`); resp.StatusCode != 200 {
		t.Fatalf("first key: %d %v", resp.StatusCode, body)
	}
	resp, body := do(t, e.Server, "POST", "/v2.1/os-keypairs", "member", `{"keypair": {"name": "k2"}}`)
	if resp.StatusCode != 403 || body["forbidden"].(map[string]any)["message"] != "Quota exceeded, too many key pairs." {
		t.Fatalf("key beyond quota: %d %v", resp.StatusCode, body)
	}
	resp, body = do(t, e.Server, "POST", "/v2.1/servers", "member", `{"server": {"name": "vm", "imageRef": "img", "flavorRef": "42", "metadata": {"a": "1", "b": "2"}}}`)
	if resp.StatusCode != 403 || body["forbidden"].(map[string]any)["message"] != "Maximum number of metadata items exceeds 1" {
		t.Fatalf("metadata beyond quota: %d %v", resp.StatusCode, body)
	}
	sv := e.Boot(t, e.Member)
	resp, body = do(t, e.Server, "POST", "/v2.1/servers/"+sv.ID+"/metadata", "member", `{"metadata": {"a": "1", "b": "2"}}`)
	if resp.StatusCode != 403 || body["forbidden"].(map[string]any)["message"] != "Maximum number of metadata items exceeds 1" {
		t.Fatalf("server metadata beyond quota: %d %v", resp.StatusCode, body)
	}
}

// TestTenantUsagePaging: from 2.40 usage pages by server with limit and
// marker, and a full page links to the next.
func TestTenantUsagePaging(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithAPI())
	a, b := e.Boot(t, e.Member), e.Boot(t, e.Member)
	hdr := []string{"OpenStack-API-Version", "compute 2.40"}
	_, body := do(t, e.Server, "GET", "/v2.1/os-simple-tenant-usage/A?limit=1", "member", "", hdr...)
	servers := body["tenant_usage"].(map[string]any)["server_usages"].([]any)
	links, _ := body["tenant_usage_links"].([]any)
	if len(servers) != 1 || servers[0].(map[string]any)["instance_id"] != a.ID || len(links) != 1 ||
		!strings.Contains(links[0].(map[string]any)["href"].(string), "marker="+a.ID) {
		t.Fatalf("first page: %v", body)
	}
	_, body = do(t, e.Server, "GET", "/v2.1/os-simple-tenant-usage?detailed=1&limit=1&marker="+a.ID, "admin", "", hdr...)
	us := body["tenant_usages"].([]any)
	if len(us) != 1 || us[0].(map[string]any)["server_usages"].([]any)[0].(map[string]any)["instance_id"] != b.ID || body["tenant_usages_links"] == nil {
		t.Fatalf("second page of all: %v", body)
	}
	if resp, _ := do(t, e.Server, "GET", "/v2.1/os-simple-tenant-usage?marker=nope", "admin", "", hdr...); resp.StatusCode != 400 {
		t.Fatalf("unknown marker: %d", resp.StatusCode)
	}
	_, body = do(t, e.Server, "GET", "/v2.1/os-simple-tenant-usage/A?limit=1", "member", "")
	if body["tenant_usage_links"] != nil || len(body["tenant_usage"].(map[string]any)["server_usages"].([]any)) != 2 {
		t.Fatalf("paging before 2.40: %v", body)
	}
}
