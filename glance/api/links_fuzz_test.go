package api_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// rawGET sends path as it stands on the request line (Go's client would
// take a "#" in it for a fragment and cut it off) and returns the answer.
func (e *env) rawGET(path, tok string) (int, []byte) {
	e.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	_, err = io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: image\r\nX-Auth-Token: "+tok+
		"\r\nAccept: application/json\r\nConnection: close\r\n\r\n")
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestPageLinksFollowToTheEnd pages through three images one at a time,
// following next links as a client does, from requests whose marker key is
// percent-encoded and whose filter value holds a raw "#" (both reached the
// handler as such). FuzzPageLinks found that such a marker stayed in the
// links ahead of the new one, so the next page was the same page forever,
// and that the "#" cut the links' query short, dropping the parameters after
// it.
func TestPageLinksFollowToTheEnd(t *testing.T) {
	e := newEnv(t, 1<<30)
	var want []string
	for range 3 {
		want = append(want, e.create("a", `{"name":"n#1","color":"red"}`)["id"].(string))
	}
	slices.Sort(want)
	for _, path := range []string{"/v2/images?limit=1&sort=id:asc&%6Darker=" + want[0],
		"/v2/images?name=n#1&limit=1&sort=id:asc&color=red"} {
		var seen []string
		for next := path; next != ""; {
			if len(seen) > len(want) {
				t.Fatalf("%s: paging does not end: %v", path, seen)
			}
			status, b := e.rawGET(next, "a")
			var page struct {
				Images []struct{ ID string }
				First  string
				Next   string
			}
			if err := json.Unmarshal(b, &page); err != nil || status != 200 {
				t.Fatalf("GET %s: %d %s", next, status, b)
			}
			for _, im := range page.Images {
				seen = append(seen, im.ID)
			}
			if u, err := url.Parse(page.First); err != nil || u.Query().Get("limit") != "1" || u.Query().Get("sort") != "id:asc" || u.Query().Has("marker") {
				t.Fatalf("first link %q of %s", page.First, next)
			}
			next = page.Next
		}
		wantSeen := want
		if strings.HasSuffix(path, want[0]) {
			wantSeen = want[1:] // the request itself starts after the first
		}
		if !slices.Equal(seen, wantSeen) {
			t.Fatalf("%s: pages showed %v, want %v", path, seen, wantSeen)
		}
	}
}
