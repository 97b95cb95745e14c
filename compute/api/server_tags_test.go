package api_test

import (
	"fmt"
	"strings"
	"testing"

	"imagestack/compute/computetest"
)

// v is the header pair asking for microversion 2.x.
func v(minor string) []string { return []string{"OpenStack-API-Version", "compute 2." + minor} }

// createServer creates a server as tok and returns its id, once booted.
func createServer(t *testing.T, s *computetest.Setup, tok, body string, hdr ...string) string {
	t.Helper()
	resp, got := do(t, s.Server, "POST", "/v2.1/servers", tok, body, hdr...)
	if resp.StatusCode != 202 {
		t.Fatalf("create %s: %d %v", body, resp.StatusCode, got)
	}
	s.Service.Wait()
	return got["server"].(map[string]any)["id"].(string)
}

// TestServerTags: the 2.26 tag routes with Nova's codes, limits and
// messages; tags in the server view from 2.26 and on create from 2.52.
func TestServerTags(t *testing.T) {
	s := computetest.NewSetup(t, computetest.WithAPI())
	id := createServer(t, s, "member", `{"server":{"name":"vm","imageRef":"img","flavorRef":"42"}}`)
	tags := "/v2.1/servers/" + id + "/tags"
	check := func(method, path, body string, want int, hdr []string, wantBody string) {
		t.Helper()
		resp, got := do(t, s.Server, method, path, "member", body, hdr...)
		if resp.StatusCode != want || !strings.Contains(fmt.Sprint(got), wantBody) {
			t.Fatalf("%s %s %s: %d %v, want %d with %q", method, path, body, resp.StatusCode, got, want, wantBody)
		}
	}
	check("GET", tags, "", 404, v("25"), "")
	check("PUT", tags, `{"tags":["b","a"]}`, 200, v("26"), "tags:[a b]")
	resp, _ := do(t, s.Server, "PUT", tags+"/c", "member", "", v("26")...)
	if resp.StatusCode != 201 || resp.Header.Get("Location") != s.Server.URL+tags+"/c" {
		t.Fatalf("add a tag: %d %v", resp.StatusCode, resp.Header)
	}
	check("PUT", tags+"/c", "", 204, v("26"), "")
	check("GET", tags+"/c", "", 204, v("26"), "")
	check("GET", tags+"/zz", "", 404, v("26"), "Server "+id+" has no tag 'zz'")
	check("DELETE", tags+"/zz", "", 404, v("26"), "Instance "+id+" has no tag 'zz'")
	check("DELETE", tags+"/c", "", 204, v("26"), "")
	check("GET", tags, "", 200, v("26"), "tags:[a b]")
	check("PUT", tags+"/a,b", "", 400, v("26"), "Tag 'a,b' is invalid. It must be a non empty string without characters '/' and ','.")
	check("PUT", tags+"/"+strings.Repeat("x", 61), "", 400, v("26"), "is too long")
	check("PUT", tags, `{"tags":["ok","no/slash"]}`, 400, v("26"), "Invalid input for field/attribute tags/1")
	check("PUT", tags, `{}`, 400, v("26"), "'tags' is a required property")
	fifty := make([]string, 50)
	for i := range fifty {
		fifty[i] = fmt.Sprintf(`"t%02d"`, i)
	}
	check("PUT", tags, `{"tags":[`+strings.Join(fifty, ",")+`,"t50"]}`, 400, v("26"), "is too long")
	check("PUT", tags, `{"tags":[`+strings.Join(fifty, ",")+`]}`, 200, v("26"), "t49")
	check("PUT", tags+"/t00", "", 400, v("26"), "The number of tags exceeded the per-server limit 50")
	check("DELETE", tags, "", 204, v("26"), "")
	check("PUT", tags+"/shown", "", 201, v("26"), "")
	// The server view has tags from 2.26 only, list and show alike.
	check("GET", "/v2.1/servers/"+id, "", 200, v("26"), "tags:[shown]")
	check("GET", "/v2.1/servers/detail", "", 200, v("26"), "tags:[shown]")
	if _, got := do(t, s.Server, "GET", "/v2.1/servers/"+id, "member", "", v("25")...); strings.Contains(fmt.Sprint(got), "tags") {
		t.Fatalf("tags at 2.25: %v", got)
	}
	// Only an admin of another project sees them; its member 404s.
	if resp, _ := do(t, s.Server, "GET", tags, "admin", "", v("26")...); resp.StatusCode != 200 {
		t.Fatalf("an admin listing tags: %d", resp.StatusCode)
	}
	// Tags on create from 2.52.
	body := `{"server":{"name":"tagged","imageRef":"img","flavorRef":"42","networks":"none","tags":["x","y"]}}`
	check("POST", "/v2.1/servers", body, 400, v("51"), "Additional properties are not allowed ('tags' was unexpected)")
	check("POST", "/v2.1/servers", `{"server":{"name":"t","imageRef":"img","flavorRef":"42","networks":"none","tags":["a/b"]}}`, 400, v("52"), "tags/0")
	tagged := createServer(t, s, "member", body, v("52")...)
	check("GET", "/v2.1/servers/"+tagged+"/tags", "", 200, v("52"), "tags:[x y]")
}

// TestServerTagsStates: tags change only in Nova's states (active,
// paused, suspended, stopped); a building server is 409, a locked one
// may still be tagged (Nova checks no lock here).
func TestServerTagsStates(t *testing.T) {
	s := computetest.NewSetup(t, computetest.WithAPI())
	gate := s.Hypervisor.Hold("spawn")
	resp, got := do(t, s.Server, "POST", "/v2.1/servers", "member", `{"server":{"name":"vm","imageRef":"img","flavorRef":"42"}}`)
	if resp.StatusCode != 202 {
		t.Fatalf("create: %d %v", resp.StatusCode, got)
	}
	id := got["server"].(map[string]any)["id"].(string)
	gate.Entered(t)
	resp, got = do(t, s.Server, "PUT", "/v2.1/servers/"+id+"/tags/x", "member", "", v("26")...)
	if want := "Cannot 'update tag' instance " + id + " while it is in vm_state building"; resp.StatusCode != 409 || !strings.Contains(fmt.Sprint(got), want) {
		t.Fatalf("tag while building: %d %v", resp.StatusCode, got)
	}
	gate.Release(nil)
	s.Service.Wait()
	if resp, got := do(t, s.Server, "POST", "/v2.1/servers/"+id+"/action", "member", `{"lock":null}`); resp.StatusCode != 202 {
		t.Fatalf("lock: %d %v", resp.StatusCode, got)
	}
	if resp, got := do(t, s.Server, "PUT", "/v2.1/servers/"+id+"/tags/x", "member", "", v("26")...); resp.StatusCode != 201 {
		t.Fatalf("tag a locked server: %d %v", resp.StatusCode, got)
	}
}
