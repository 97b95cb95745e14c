package api_test

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// mdCall sends a metadefs request as tok and checks the status; it returns
// the decoded JSON body (nil when empty).
func (e *env) mdCall(t *testing.T, method, path, tok, body string, status int, hdr ...string) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
		hdr = append(hdr, "Content-Type", "application/json")
	}
	resp, b := e.req(method, path, tok, rd, hdr...)
	if resp.StatusCode != status {
		t.Fatalf("%s %s as %s: %d %s, want %d", method, path, tok, resp.StatusCode, b, status)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func names(list any, key string) []string {
	var out []string
	for _, x := range list.([]any) {
		out = append(out, x.(map[string]any)[key].(string))
	}
	return out
}

// TestMetadefSchemas: every /v2/schemas/metadefs/* document glanceclient
// reads answers, named as in Glance.
func TestMetadefSchemas(t *testing.T) {
	e := newEnv(t, 1<<30)
	for name, want := range map[string]string{"namespace": "namespace", "namespaces": "namespaces", "object": "object",
		"objects": "objects", "property": "property", "properties": "properties", "tag": "tag", "tags": "tags",
		"resource_type": "resource_type_association", "resource_types": "resource_type_associations"} {
		if m := e.mdCall(t, "GET", "/v2/schemas/metadefs/"+name, "a", "", 200); m["name"] != want || m["properties"] == nil {
			t.Errorf("schema %s: %v", name, m)
		}
	}
	e.mdCall(t, "GET", "/v2/schemas/metadefs/resource_type_association", "a", "", 404)
}

// TestMetadefNamespaceLifecycle: an admin creates a namespace with nested
// contents; readers see public ones only, with prefixes per resource type;
// protected namespaces resist deletion; duplicates are 409.
func TestMetadefNamespaceLifecycle(t *testing.T) {
	e := newEnv(t, 1<<30)
	created := e.mdCall(t, "POST", "/v2/metadefs/namespaces", "adm", `{"namespace":"N1","display_name":"One","visibility":"public",
		"resource_type_associations":[{"name":"OS::Glance::Image","prefix":"hw_"}],
		"properties":{"cpu":{"type":"integer","title":"CPUs","minimum":1}},
		"objects":[{"name":"o","required":["x"],"properties":{"x":{"type":"string","title":"X","enum":["a","b"]}}}],
		"tags":[{"name":"t1"}]}`, 201)
	if created["owner"] != "Z" || created["self"] != "/v2/metadefs/namespaces/N1" ||
		created["objects"].([]any)[0].(map[string]any)["created_at"] != created["created_at"] {
		t.Fatalf("created: %v", created)
	}
	e.mdCall(t, "POST", "/v2/metadefs/namespaces", "adm", `{"namespace":"N1"}`, 409)
	e.mdCall(t, "POST", "/v2/metadefs/namespaces", "adm", `{"namespace":"P","bogus":1}`, 400)
	e.mdCall(t, "POST", "/v2/metadefs/namespaces", "adm", `{"namespace":"P","self":"x"}`, 403)
	e.mdCall(t, "POST", "/v2/metadefs/namespaces", "adm", `{"namespace":"P","visibility":"x"}`, 400)
	e.mdCall(t, "POST", "/v2/metadefs/namespaces", "a", `{"namespace":"P"}`, 403)
	e.mdCall(t, "POST", "/v2/metadefs/namespaces", "adm", `{"namespace":"Priv","protected":true}`, 201)

	// Prefixed view for a resource type.
	show := e.mdCall(t, "GET", "/v2/metadefs/namespaces/N1?resource_type=OS::Glance::Image", "a", "", 200)
	props := show["properties"].(map[string]any)
	obj := show["objects"].([]any)[0].(map[string]any)
	if props["hw_cpu"] == nil || obj["properties"].(map[string]any)["hw_x"] == nil || obj["required"].([]any)[0] != "hw_x" {
		t.Fatalf("prefixed show: %v", show)
	}
	if plain := e.mdCall(t, "GET", "/v2/metadefs/namespaces/N1", "a", "", 200); plain["properties"].(map[string]any)["cpu"] == nil {
		t.Fatalf("plain show: %v", plain)
	}
	// Private namespaces: 404 to others, listed for admins only.
	e.mdCall(t, "GET", "/v2/metadefs/namespaces/Priv", "a", "", 404)
	e.mdCall(t, "DELETE", "/v2/metadefs/namespaces/Priv", "a", "", 404)
	if l := e.mdCall(t, "GET", "/v2/metadefs/namespaces", "a", "", 200); strings.Join(names(l["namespaces"], "namespace"), ",") != "N1" {
		t.Fatalf("reader's list: %v", l)
	}
	l := e.mdCall(t, "GET", "/v2/metadefs/namespaces?limit=1&sort_key=namespace&sort_dir=asc", "adm", "", 200)
	if strings.Join(names(l["namespaces"], "namespace"), ",") != "N1" || l["next"] == nil {
		t.Fatalf("first page: %v", l)
	}
	if l := e.mdCall(t, "GET", l["next"].(string), "adm", "", 200); strings.Join(names(l["namespaces"], "namespace"), ",") != "Priv" {
		t.Fatalf("second page: %v", l)
	}
	if l := e.mdCall(t, "GET", "/v2/metadefs/namespaces?resource_types=OS::Glance::Image,OS::Nova::Flavor", "adm", "", 200); len(l["namespaces"].([]any)) != 1 {
		t.Fatalf("resource type filter: %v", l)
	}
	e.mdCall(t, "GET", "/v2/metadefs/namespaces?sort_dir=up", "adm", "", 400)
	e.mdCall(t, "GET", "/v2/metadefs/namespaces?limit=x", "adm", "", 400)
	e.mdCall(t, "GET", "/v2/metadefs/namespaces?marker=nope", "adm", "", 404)
	e.mdCall(t, "GET", "/v2/metadefs/namespaces?visibility=all", "adm", "", 400)

	// Protected: no deleting it or its contents until unprotected.
	e.mdCall(t, "DELETE", "/v2/metadefs/namespaces/Priv", "adm", "", 403)
	e.mdCall(t, "DELETE", "/v2/metadefs/namespaces/Priv/tags", "adm", "", 403)
	upd := e.mdCall(t, "PUT", "/v2/metadefs/namespaces/Priv", "adm", `{"namespace":"Priv2","description":"d"}`, 200)
	if upd["protected"] != false || upd["visibility"] != "private" || upd["description"] != "d" {
		t.Fatalf("update: %v", upd)
	}
	e.mdCall(t, "PUT", "/v2/metadefs/namespaces/Priv2", "adm", `{"namespace":"N1"}`, 409)
	e.mdCall(t, "DELETE", "/v2/metadefs/namespaces/Priv2", "adm", "", 204)
	e.mdCall(t, "GET", "/v2/metadefs/namespaces/Priv2", "adm", "", 404)
}

// TestMetadefContents: properties, objects, tags (create-multiple with and
// without append) and resource type associations.
func TestMetadefContents(t *testing.T) {
	e := newEnv(t, 1<<30)
	const ns = "/v2/metadefs/namespaces/N"
	e.mdCall(t, "POST", "/v2/metadefs/namespaces", "adm", `{"namespace":"N","visibility":"public"}`, 201)

	p := e.mdCall(t, "POST", ns+"/properties", "adm", `{"name":"p","type":"string","title":"P","enum":["a"]}`, 201)
	if p["name"] != "p" || p["enum"] == nil {
		t.Fatalf("property: %v", p)
	}
	e.mdCall(t, "POST", ns+"/properties", "adm", `{"name":"p","type":"string","title":"P"}`, 409)
	e.mdCall(t, "POST", ns+"/properties", "adm", `{"name":"q","type":"strin","title":"Q"}`, 400)
	e.mdCall(t, "POST", ns+"/properties", "adm", `{"name":"q","type":"string"}`, 400)
	e.mdCall(t, "POST", ns+"/properties", "a", `{"name":"q","type":"string","title":"Q"}`, 403)
	e.mdCall(t, "PUT", ns+"/properties/p", "adm", `{"name":"p2","type":"boolean","title":"P2"}`, 200)
	if got := e.mdCall(t, "GET", ns+"/properties/p2", "a", "", 200); got["type"] != "boolean" {
		t.Fatalf("renamed property: %v", got)
	}
	e.mdCall(t, "GET", ns+"/properties/p", "a", "", 404)
	if l := e.mdCall(t, "GET", ns+"/properties", "a", "", 200); len(l["properties"].(map[string]any)) != 1 {
		t.Fatalf("properties: %v", l)
	}

	o := e.mdCall(t, "POST", ns+"/objects", "adm", `{"name":"o","required":["x"],"properties":{"x":{"type":"integer","title":"X"}}}`, 201)
	if o["self"] != ns+"/objects/o" || o["created_at"] == nil {
		t.Fatalf("object: %v", o)
	}
	e.mdCall(t, "POST", ns+"/objects", "adm", `{"name":"o"}`, 409)
	e.mdCall(t, "PUT", ns+"/objects/o", "adm", `{"name":"o","description":"d"}`, 200)
	if l := e.mdCall(t, "GET", ns+"/objects", "a", "", 200); names(l["objects"], "description")[0] != "d" {
		t.Fatalf("objects: %v", l)
	}
	e.mdCall(t, "DELETE", ns+"/objects/o", "adm", "", 204)
	e.mdCall(t, "GET", ns+"/objects/o", "adm", "", 404)

	e.mdCall(t, "POST", ns+"/tags/t1", "adm", "", 201)
	e.mdCall(t, "POST", ns+"/tags/T1", "adm", "", 409)
	e.mdCall(t, "POST", ns+"/tags", "adm", `{"tags":[{"name":"t2"},{"name":"t3"}]}`, 201, "X-Openstack-Append", "true")
	if l := e.mdCall(t, "GET", ns+"/tags", "a", "", 200); len(l["tags"].([]any)) != 3 {
		t.Fatalf("appended tags: %v", l)
	}
	e.mdCall(t, "POST", ns+"/tags", "adm", `{"tags":[{"name":"a"},{"name":"A"}]}`, 409)
	e.mdCall(t, "POST", ns+"/tags", "adm", `{"tags":[{"name":"t4"}]}`, 201)
	if l := e.mdCall(t, "GET", ns+"/tags", "a", "", 200); strings.Join(names(l["tags"], "name"), ",") != "t4" {
		t.Fatalf("replaced tags: %v", l)
	}
	if tg := e.mdCall(t, "PUT", ns+"/tags/t4", "adm", `{"name":"t5"}`, 200); tg["name"] != "t5" || tg["created_at"] == nil {
		t.Fatalf("renamed tag: %v", tg)
	}
	e.mdCall(t, "DELETE", ns+"/tags/t5", "adm", "", 204)
	e.mdCall(t, "DELETE", ns+"/tags/t5", "adm", "", 404)

	e.mdCall(t, "POST", ns+"/resource_types", "adm", `{"name":"OS::Nova::Flavor","prefix":"hw:"}`, 201)
	e.mdCall(t, "POST", ns+"/resource_types", "adm", `{"name":"OS::Nova::Flavor"}`, 409)
	if l := e.mdCall(t, "GET", ns+"/resource_types", "a", "", 200); names(l["resource_type_associations"], "prefix")[0] != "hw:" {
		t.Fatalf("associations: %v", l)
	}
	if l := e.mdCall(t, "GET", "/v2/metadefs/resource_types", "a", "", 200); names(l["resource_types"], "name")[0] != "OS::Nova::Flavor" {
		t.Fatalf("resource types: %v", l)
	}
	e.mdCall(t, "DELETE", ns+"/resource_types/OS::Nova::Flavor", "adm", "", 204)
	e.mdCall(t, "DELETE", ns+"/resource_types/OS::Nova::Flavor", "adm", "", 404)
	e.mdCall(t, "DELETE", ns+"/properties", "adm", "", 204)
	e.mdCall(t, "GET", "/v2/metadefs/namespaces/missing/properties", "a", "", 404)
}

// TestMetadefNamespacesLimitZero: limit=0 is an empty page, as in Glance,
// not the whole list.
func TestMetadefNamespacesLimitZero(t *testing.T) {
	e := newEnv(t, 1<<30)
	e.mdCall(t, "POST", "/v2/metadefs/namespaces", "adm", `{"namespace":"Z1","visibility":"public"}`, 201)
	m := e.mdCall(t, "GET", "/v2/metadefs/namespaces?limit=0", "adm", "", 200)
	if got := m["namespaces"].([]any); len(got) != 0 || m["next"] != nil {
		t.Fatalf("limit=0 listed %v (next %v)", got, m["next"])
	}
}

// TestMetadefForbiddenMessage: a change the policy refuses is 403 in
// Glance's words, naming the rule.
func TestMetadefForbiddenMessage(t *testing.T) {
	e := newEnv(t, 1<<30)
	e.mdCall(t, "POST", "/v2/metadefs/namespaces", "adm", `{"namespace":"F1","visibility":"public"}`, 201)
	for _, c := range []struct{ method, path, body, rule string }{
		{"POST", "/v2/metadefs/namespaces", `{"namespace":"F2"}`, "add_metadef_namespace"},
		{"DELETE", "/v2/metadefs/namespaces/F1", "", "delete_metadef_namespace"},
		{"POST", "/v2/metadefs/namespaces/F1/properties", `{"name":"x","title":"x","type":"string"}`, "add_metadef_property"},
	} {
		m := e.mdCall(t, c.method, c.path, "a", c.body, 403)
		if msg, _ := json.Marshal(m); !strings.Contains(string(msg), "You are not authorized to complete "+c.rule+" action.") {
			t.Errorf("%s %s: %s", c.method, c.path, msg)
		}
	}
}

// TestMetadefNotFoundMessages: a missing object, tag, property or
// association is 404 in Glance's words.
func TestMetadefNotFoundMessages(t *testing.T) {
	e := newEnv(t, 1<<30)
	const ns = "/v2/metadefs/namespaces/M"
	e.mdCall(t, "POST", "/v2/metadefs/namespaces", "adm", `{"namespace":"M"}`, 201)
	for _, c := range []struct{ method, path, body, want string }{
		{"GET", ns + "/objects/nope", "", "Could not find metadata object nope"},
		{"DELETE", ns + "/objects/nope", "", "Could not find metadata object nope"},
		{"PUT", ns + "/objects/nope", `{"name":"nope"}`, "Could not find metadata object nope"},
		{"GET", ns + "/tags/nope", "", "Could not find metadata tag nope"},
		{"DELETE", ns + "/tags/nope", "", "Could not find metadata tag nope"},
		{"PUT", ns + "/tags/nope", `{"name":"x"}`, "Could not find metadata tag nope"},
		{"GET", ns + "/properties/nope", "", "Could not find property nope"},
		{"DELETE", ns + "/resource_types/OS::Glance::Image", "", "Failed to find resource type OS::Glance::Image to delete"},
	} {
		if m := e.mdCall(t, c.method, c.path, "adm", c.body, 404); m["message"] != c.want {
			t.Errorf("%s %s: %v, want %q", c.method, c.path, m, c.want)
		}
	}
}

// TestMetadefDefinitionTooLarge: a property or object whose definition is
// larger than the database column holds is 400, not a database error (500
// on MariaDB); nothing is stored.
func TestMetadefDefinitionTooLarge(t *testing.T) {
	e := newEnv(t, 1<<30)
	const ns = "/v2/metadefs/namespaces/L"
	e.mdCall(t, "POST", "/v2/metadefs/namespaces", "adm", `{"namespace":"L"}`, 201)
	enum := `"` + strings.Repeat("v", 70000) + `"`
	prop := `{"name":"big","title":"B","type":"string","enum":[` + enum + `]}`
	e.mdCall(t, "POST", ns+"/properties", "adm", prop, 400)
	e.mdCall(t, "POST", ns+"/objects", "adm", `{"name":"o","properties":{"big":`+prop+`}}`, 400)
	e.mdCall(t, "POST", "/v2/metadefs/namespaces", "adm", `{"namespace":"L2","properties":{"big":`+prop+`}}`, 400)
	e.mdCall(t, "GET", "/v2/metadefs/namespaces/L2", "adm", "", 404)
	if l := e.mdCall(t, "GET", ns+"/properties", "adm", "", 200); len(l["properties"].(map[string]any)) != 0 {
		t.Fatalf("stored: %v", l)
	}
}

// TestMetadefCreateDuplicateContents: a new namespace whose body names an
// object, tag or resource type twice is 409 naming that content, as in
// Glance (not "the namespace already exists"), and nothing is stored.
func TestMetadefCreateDuplicateContents(t *testing.T) {
	e := newEnv(t, 1<<30)
	for body, want := range map[string]string{
		`"objects":[{"name":"o"},{"name":"o"}]`:                                                    "A metadata definition object with name=o already exists in namespace=D.",
		`"tags":[{"name":"t"},{"name":"T"}]`:                                                       "A metadata tag with name=T already exists in namespace=D. (Please note that metadata tag names are case insensitive).",
		`"resource_type_associations":[{"name":"OS::Glance::Image"},{"name":"OS::Glance::Image"}]`: "The metadata definition resource-type association of resource-type=OS::Glance::Image to namespace=D already exists.",
	} {
		if m := e.mdCall(t, "POST", "/v2/metadefs/namespaces", "adm", `{"namespace":"D",`+body+`}`, 409); m["message"] != want {
			t.Errorf("%s: %v, want %q", body, m["message"], want)
		}
		e.mdCall(t, "GET", "/v2/metadefs/namespaces/D", "adm", "", 404)
	}
}
