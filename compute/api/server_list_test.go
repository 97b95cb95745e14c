package api_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"imagestack/compute/computetest"
)

// listed is the names of a listing's servers, or the status and body of
// an error.
func listed(t *testing.T, s *computetest.Setup, tok, query string, hdr ...string) string {
	t.Helper()
	resp, body := do(t, s.Server, "GET", "/v2.1/servers/detail?"+query, tok, "", hdr...)
	if resp.StatusCode != 200 {
		return fmt.Sprintf("%d %v", resp.StatusCode, body)
	}
	var names []string
	for _, sv := range body["servers"].([]any) {
		names = append(names, sv.(map[string]any)["name"].(string))
	}
	return strings.Join(names, " ")
}

// fiveServers creates s1..s5 for the member (s5 newest), one for the admin.
func fiveServers(t *testing.T, s *computetest.Setup) map[string]string {
	t.Helper()
	ids := map[string]string{}
	for i := 1; i <= 5; i++ {
		name := fmt.Sprintf("s%d", i)
		ids[name] = createServer(t, s, "member", `{"server":{"name":"`+name+`","imageRef":"img","flavorRef":"42"}}`)
		time.Sleep(2 * time.Millisecond)
	}
	ids["adm"] = createServer(t, s, "admin", `{"server":{"name":"adm","imageRef":"img","flavorRef":"42"}}`)
	return ids
}

// TestServerListSortAndPages: sort_key/sort_dir as Nova reads them, next
// links that keep the order, and Horizon's page back.
func TestServerListSortAndPages(t *testing.T) {
	s := computetest.NewSetup(t, computetest.WithAPI())
	fiveServers(t, s)
	for q, want := range map[string]string{
		"":                                       "s5 s4 s3 s2 s1",
		"sort_key=display_name&sort_dir=asc":     "s1 s2 s3 s4 s5",
		"sort_dir=asc":                           "s1 s2 s3 s4 s5",
		"sort_key=user_id&sort_key=display_name": "s5 s4 s3 s2 s1",
		"sort_key=vcpus":                         "s5 s4 s3 s2 s1", // ignored before 2.75
		"sort_key=display_name&sort_dir=sideways":  "400 map[badRequest:map[code:400 message:Invalid input received: Unknown sort direction, must be 'desc' or 'asc']]",
		"sort_key=uuid&sort_dir=asc&sort_dir=desc": "400 map[badRequest:map[code:400 message:Invalid input received: Sort direction size exceeds sort key size]]",
		"sort_key=host": "403 map[forbidden:map[code:403 message:Only administrators can sort servers by host]]",
	} {
		if got := listed(t, s, "member", q); got != want {
			t.Errorf("%s: %s, want %s", q, got, want)
		}
	}
	if got := listed(t, s, "member", "sort_key=nope"); !strings.HasPrefix(got, "400 map[badRequest:map[code:400 message:Invalid input for query parameters sort_key. Value: nope. 'nope' is not one of ['access_ip_v4'") {
		t.Errorf("unknown sort key: %s", got)
	}
	if got := listed(t, s, "member", "sort_key=vcpus", v("75")...); !strings.HasPrefix(got, "400") {
		t.Errorf("ignored sort key at 2.75: %s", got)
	}
	// Next links page through the asked order.
	var paged []string
	next := "/v2.1/servers/detail?sort_key=display_name&sort_dir=asc&limit=2"
	for next != "" && len(paged) < 10 {
		_, body := do(t, s.Server, "GET", next, "member", "")
		for _, sv := range body["servers"].([]any) {
			paged = append(paged, sv.(map[string]any)["name"].(string))
		}
		next = ""
		if links, ok := body["servers_links"].([]any); ok {
			next = strings.TrimPrefix(links[0].(map[string]any)["href"].(string), s.Server.URL)
		}
	}
	if strings.Join(paged, " ") != "s1 s2 s3 s4 s5" {
		t.Fatalf("paged by next links: %v", paged)
	}
	// Horizon: page 2 (limit 2), then Prev: sort_dir=asc, marker = the
	// first server of page 2, reversed.
	ids := pageIDs(t, s, "limit=2")
	page2 := pageIDs(t, s, "limit=2&marker="+ids[1])
	back := pageIDs(t, s, "limit=2&sort_dir=asc&marker="+page2[0])
	slices.Reverse(back)
	if !slices.Equal(back, ids) {
		t.Fatalf("Prev from page 2: %v, want page 1 %v", back, ids)
	}
	if got := listed(t, s, "member", "marker=nope"); got != "400 map[badRequest:map[code:400 message:marker [nope] not found]]" {
		t.Fatalf("unknown marker: %s", got)
	}
}

func pageIDs(t *testing.T, s *computetest.Setup, query string) []string {
	t.Helper()
	_, body := do(t, s.Server, "GET", "/v2.1/servers?"+query, "member", "")
	var ids []string
	for _, sv := range body["servers"].([]any) {
		ids = append(ids, sv.(map[string]any)["id"].(string))
	}
	return ids
}

// TestServerListFilters: who may list what, and each filter at the
// microversion that brings it.
func TestServerListFilters(t *testing.T) {
	s := computetest.NewSetup(t, computetest.WithAPI())
	ids := fiveServers(t, s)
	since := url.QueryEscape(time.Now().UTC().Add(-time.Hour).Format(time.RFC3339))
	later := url.QueryEscape(time.Now().UTC().Add(time.Hour).Format(time.RFC3339))
	if resp, _ := do(t, s.Server, "DELETE", "/v2.1/servers/"+ids["s1"], "member", ""); resp.StatusCode != 204 {
		t.Fatal("delete s1")
	}
	s.Service.Wait()
	for _, tag := range []string{"s2/tags/red", "s3/tags/red", "s3/tags/blue", "s4/tags/blue"} {
		parts := strings.SplitN(tag, "/", 2)
		if resp, _ := do(t, s.Server, "PUT", "/v2.1/servers/"+ids[parts[0]]+"/"+parts[1], "member", "", v("26")...); resp.StatusCode != 201 {
			t.Fatalf("tag %s: %d", tag, resp.StatusCode)
		}
	}
	if resp, _ := do(t, s.Server, "POST", "/v2.1/servers/"+ids["s5"]+"/action", "member", `{"lock":null}`); resp.StatusCode != 202 {
		t.Fatal("lock s5")
	}
	forbidden := "403 map[forbidden:map[code:403 message:Policy doesn't allow os_compute_api:servers:detail:get_all_tenants to be performed.]]"
	for _, c := range []struct {
		tok, query string
		hdr        []string
		want       string
	}{
		{"member", "", nil, "s5 s4 s3 s2"},
		{"admin", "", nil, "adm"},
		{"admin", "all_tenants=1", nil, "adm s5 s4 s3 s2"},
		{"admin", "all_tenants", nil, "adm s5 s4 s3 s2"},
		{"admin", "all_tenants=1&project_id=A", nil, "s5 s4 s3 s2"},
		{"admin", "all_tenants=1&tenant_id=Z", nil, "adm"},
		{"admin", "project_id=A", nil, "adm"}, // without all_tenants: one's own project
		{"admin", "all_tenants=maybe", nil, "400 map[badRequest:map[code:400 message:Invalid input received: Unrecognized value 'maybe', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes']]"},
		{"member", "all_tenants=1", nil, forbidden},
		{"admin", "all_tenants=1&deleted=true", nil, "s1"},
		{"member", "deleted=true", nil, "s5 s4 s3 s2"}, // not a member's filter: ignored
		{"admin", "all_tenants=1&status=DELETED", nil, "s1"},
		{"member", "status=DELETED", nil, "403 map[forbidden:map[code:403 message:Only administrators may list deleted instances]]"},
		{"member", "status=active", nil, "s5 s4 s3 s2"},
		{"member", "status=BOGUS", nil, ""},
		{"member", "status=BOGUS", v("38"), "400 map[badRequest:map[code:400 message:Invalid status value]]"},
		{"member", "status=SUSPENDED", v("38"), ""},
		{"member", "changes-since=" + since, nil, "s5 s4 s3 s2 s1"},
		{"member", "changes-since=" + later, nil, ""},
		{"member", "changes-before=" + since, v("66"), ""},
		{"member", "changes-since=" + later + "&changes-before=" + since, v("66"), "400 map[badRequest:map[code:400 message:The value of changes-since must be less than or equal to changes-before.]]"},
		{"member", "tags=red", v("26"), "s3 s2"},
		{"member", "tags=red,blue", v("26"), "s3"},
		{"member", "tags-any=red,blue", v("26"), "s4 s3 s2"},
		{"member", "not-tags=red,blue", v("26"), "s5 s4 s2"},
		{"member", "not-tags-any=red,blue", v("26"), "s5"},
		{"member", "tags=red", nil, "s5 s4 s3 s2"}, // before 2.26: ignored
		{"member", "locked=true", v("73"), "s5"},
		{"member", "locked=false", v("73"), "s4 s3 s2"},
		{"member", "locked=maybe", v("73"), "400 map[badRequest:map[code:400 message:Invalid input received: Unrecognized value 'maybe', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes']]"},
		{"member", "frobnicate=1", v("74"), "s5 s4 s3 s2"},
		{"member", "frobnicate=1", v("75"), "400 map[badRequest:map[code:400 message:Additional properties are not allowed ('frobnicate' was unexpected)]]"},
		{"member", "user_id=nobody", v("82"), "s5 s4 s3 s2"},
		{"member", "user_id=nobody", v("83"), ""},
		{"member", "availability_zone=^nova$", v("83"), "s5 s4 s3 s2"},
		{"member", "availability_zone=elsewhere", v("83"), ""},
		{"member", "key_name=.", v("83"), ""},
		{"member", "vm_state=stopped", v("83"), ""},
		{"member", "vm_state=active", v("82"), "s5 s4 s3 s2"}, // not a member's filter before 2.83
		{"admin", "all_tenants=1&vm_state=deleted", nil, "s1"},
		{"admin", "all_tenants=1&host=not-this-host", nil, ""},
		{"admin", "all_tenants=1&metadata=x", nil, "400 map[badRequest:map[code:400 message:Invalid filter field: metadata.]]"},
		{"member", "ip=10", nil, ""},
	} {
		if got := listed(t, s, c.tok, c.query, c.hdr...); got != c.want {
			t.Errorf("%s %s %v: %s, want %s", c.tok, c.query, c.hdr, got, c.want)
		}
	}
}
