package api_test

import (
	"strings"
	"testing"
	"time"
)

// TestServerNameFilterPages: the name filter is applied before the limit,
// so that paging through a filtered listing reaches every match, however
// many newer servers do not match (the first pages used to come back empty
// and without servers_links, and listing stopped there).
func TestServerNameFilterPages(t *testing.T) {
	srv := newServer(t)
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
