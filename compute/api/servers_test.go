package api_test

import (
	"imagestack/compute/computetest"
	"strings"
	"testing"
	"time"
)

// TestServerNameFilterPages: the name filter is applied before the limit,
// so that paging through a filtered listing reaches every match, however
// many newer servers do not match (the first pages used to come back empty
// and without servers_links, and listing stopped there).
func TestServerNameFilterPages(t *testing.T) {
	srv := computetest.NewSetup(t, computetest.WithAPI()).Server
	for _, name := range []string{"wanted", "other-1", "other-2"} {
		if resp, body := do(t, srv, "POST", "/v2.1/servers", "member", `{"server":{"name":"`+name+`","imageRef":"img","flavorRef":"42"}}`); resp.StatusCode != 202 {
			t.Fatalf("create %s: %d %v", name, resp.StatusCode, body)
		}
		time.Sleep(2 * time.Millisecond) // newest first: "wanted" is last
	}
	for _, list := range []string{"/v2.1/servers", "/v2.1/servers/detail"} {
		var names []string
		next := list + "?name=ant&limit=1"
		for pages := 0; next != ""; pages++ {
			if pages > 5 {
				t.Fatalf("%s: paging does not end", list)
			}
			resp, body := do(t, srv, "GET", next, "member", "")
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d %v", next, resp.StatusCode, body)
			}
			for _, s := range body["servers"].([]any) {
				names = append(names, s.(map[string]any)["name"].(string))
			}
			next = ""
			if links, ok := body["servers_links"].([]any); ok {
				next = strings.TrimPrefix(links[0].(map[string]any)["href"].(string), srv.URL)
			}
		}
		if strings.Join(names, ",") != "wanted" {
			t.Fatalf("%s?name=ant&limit=1, paged: %v", list, names)
		}
	}
	// Case-sensitive, as Nova's re.search; an invalid pattern is 400.
	if _, body := do(t, srv, "GET", "/v2.1/servers?name=WANTED", "member", ""); len(body["servers"].([]any)) != 0 {
		t.Fatalf("name=WANTED: %v", body)
	}
	if resp, body := do(t, srv, "GET", "/v2.1/servers?name=a(b", "member", ""); resp.StatusCode != 400 || body["badRequest"] == nil {
		t.Fatalf("invalid pattern: %d %v", resp.StatusCode, body)
	}
}

// TestServerLifecycle drives one server through the router with the fake
// hypervisor: create, show, list, every action, delete.
func TestServerLifecycle(t *testing.T) {
	s := computetest.NewSetup(t, computetest.WithAPI())
	srv := s.Server
	resp, body := do(t, srv, "POST", "/v2.1/servers", "member", `{"server":{"name":"vm","imageRef":"img","flavorRef":"42","metadata":{"k":"v"}}}`)
	created, _ := body["server"].(map[string]any)
	if resp.StatusCode != 202 || created["adminPass"] == "" || resp.Header.Get("Location") != srv.URL+"/v2.1/servers/"+created["id"].(string) {
		t.Fatalf("create: %d %v %v", resp.StatusCode, resp.Header, body)
	}
	id := created["id"].(string)
	path := "/v2.1/servers/" + id
	s.Service.Wait()
	status := func(want string) {
		t.Helper()
		s.Service.Wait()
		resp, body := do(t, srv, "GET", path, "member", "")
		sv, _ := body["server"].(map[string]any)
		if resp.StatusCode != 200 || sv["status"] != want {
			t.Fatalf("show: %d %v, want status %s", resp.StatusCode, body, want)
		}
	}
	status("ACTIVE")
	_, body = do(t, srv, "GET", "/v2.1/servers/detail", "member", "")
	if list := body["servers"].([]any); len(list) != 1 || list[0].(map[string]any)["metadata"].(map[string]any)["k"] != "v" {
		t.Fatalf("detail list: %v", body)
	}
	if resp, _ := do(t, srv, "GET", path, "admin", ""); resp.StatusCode != 200 {
		t.Fatalf("an admin showing the server: %d", resp.StatusCode)
	}
	s.Hypervisor.SetConsole(id, []byte("line 1\nline 2\n"))
	action := func(body string, want int) map[string]any {
		t.Helper()
		resp, got := do(t, srv, "POST", path+"/action", "member", body)
		if resp.StatusCode != want {
			t.Fatalf("action %s: %d %v, want %d", body, resp.StatusCode, got, want)
		}
		return got
	}
	action(`{"os-stop":null}`, 202)
	status("SHUTOFF")
	action(`{"os-stop":null}`, 409)
	action(`{"os-start":null}`, 202)
	status("ACTIVE")
	action(`{"reboot":{"type":"SOFT"}}`, 202)
	action(`{"reboot":{"type":"MAYBE"}}`, 400)
	status("ACTIVE")
	if out := action(`{"os-getConsoleOutput":{"length":1}}`, 200); out["output"] != "line 2\n" {
		t.Fatalf("console output: %v", out)
	}
	action(`{"os-getConsoleOutput":{"length":-2}}`, 400)
	if rb := action(`{"rebuild":{"imageRef":"img","name":"vm2"}}`, 202)["server"].(map[string]any); rb["name"] != "vm2" || rb["adminPass"] == "" {
		t.Fatalf("rebuild: %v", rb)
	}
	action(`{"rebuild":{}}`, 400)
	status("ACTIVE")
	if resp, _ := do(t, srv, "POST", path+"/action", "member", `{"createImage":{"name":"snap"}}`); resp.StatusCode != 202 || resp.Header.Get("Location") != "http://image/v2/images/snap" {
		t.Fatalf("createImage: %d %v", resp.StatusCode, resp.Header)
	}
	s.Service.Wait()
	action(`{"frobnicate":null}`, 400)
	if resp, _ := do(t, srv, "DELETE", path, "member", ""); resp.StatusCode != 204 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	s.Service.Wait()
	if resp, _ := do(t, srv, "GET", path, "member", ""); resp.StatusCode != 404 {
		t.Fatalf("show after delete: %d", resp.StatusCode)
	}
	if _, ok := s.Hypervisor.Domain(id); ok {
		t.Fatal("a domain is left after the delete")
	}
}
