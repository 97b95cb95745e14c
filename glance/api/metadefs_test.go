package api_test

import (
	"encoding/json"
	"testing"
)

// TestMetadefNamespaces: glanceclient's namespace list (schema first, then
// the list) works and is empty, as on a Glance without loaded definitions;
// a request without a token is refused.
func TestMetadefNamespaces(t *testing.T) {
	e := newEnv(t, 1<<30)
	for _, name := range []string{"namespace", "namespaces"} {
		resp, b := e.req("GET", "/v2/schemas/metadefs/"+name, "a", nil)
		var m map[string]any
		if resp.StatusCode != 200 || json.Unmarshal(b, &m) != nil || m["name"] != name || m["properties"] == nil {
			t.Errorf("schema metadefs/%s: %d %s", name, resp.StatusCode, b)
		}
	}
	if resp, _ := e.req("GET", "/v2/schemas/metadefs/object", "a", nil); resp.StatusCode != 404 {
		t.Errorf("schema metadefs/object: %d, want 404", resp.StatusCode)
	}
	resp, b := e.req("GET", "/v2/metadefs/namespaces?resource_types=OS::Glance::Image&limit=20&sort_key=namespace&sort_dir=asc", "a", nil)
	var body struct {
		Namespaces []any  `json:"namespaces"`
		Schema     string `json:"schema"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &body) != nil || body.Namespaces == nil || len(body.Namespaces) != 0 ||
		body.Schema != "/v2/schemas/metadefs/namespaces" {
		t.Fatalf("namespaces: %d %s", resp.StatusCode, b)
	}
	if resp, _ := e.req("GET", "/v2/metadefs/namespaces", "", nil); resp.StatusCode != 401 {
		t.Errorf("namespaces without a token: %d, want 401", resp.StatusCode)
	}
}
