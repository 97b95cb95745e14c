package api_test

import (
	"strings"
	"testing"

	"imagestack/compute/computetest"
)

// TestKeyPairVersions: admins reach other users' key pairs with user_id
// from 2.10 (members may not), lists page by limit and marker from 2.35,
// and unknown create fields are 400 as Nova's schemas say.
func TestKeyPairVersions(t *testing.T) {
	srv := computetest.NewSetup(t, computetest.WithAPI()).Server
	for _, name := range []string{"a", "b", "c"} {
		if resp, body := do(t, srv, "POST", "/v2.1/os-keypairs", "member", `{"keypair":{"name":"`+name+`"}}`); resp.StatusCode != 200 {
			t.Fatalf("create %s: %d %v", name, resp.StatusCode, body)
		}
	}
	member := computetest.MemberCreds.UserID
	for _, c := range []struct {
		version, token, method, path, body string
		status                             int
	}{
		{"2.1", "member", "POST", "/os-keypairs", `{"keypair":{"name":"t","type":"ssh"}}`, 400},
		{"2.2", "member", "POST", "/os-keypairs", `{"keypair":{"name":"t","user_id":"x"}}`, 400},
		{"2.10", "member", "POST", "/os-keypairs", `{"keypair":{"name":"t","user_id":"someone"}}`, 403},
		{"2.10", "admin", "POST", "/os-keypairs", `{"keypair":{"name":"for-member","user_id":"` + member + `"}}`, 201},
		{"2.10", "member", "GET", "/os-keypairs?user_id=someone", "", 403},
		{"2.10", "admin", "GET", "/os-keypairs/a?user_id=" + member, "", 200},
		{"2.9", "admin", "GET", "/os-keypairs/a?user_id=" + member, "", 404},
		{"2.35", "member", "GET", "/os-keypairs?marker=zzz", "", 400},
		{"2.35", "member", "GET", "/os-keypairs?limit=x", "", 400},
	} {
		if resp, body := do(t, srv, c.method, "/v2.1"+c.path, c.token, c.body, mv(c.version)...); resp.StatusCode != c.status {
			t.Errorf("%s %s %s at %s as %s: %d %v, want %d", c.method, c.path, c.body, c.version, c.token, resp.StatusCode, body, c.status)
		}
	}
	_, body := do(t, srv, "GET", "/v2.1/os-keypairs?user_id="+member, "admin", "", mv("2.10")...)
	if got := mustJSON(body); strings.Count(got, `"name"`) != 4 || !strings.Contains(got, `"for-member"`) {
		t.Errorf("admin lists the member's: %s", got)
	}
	_, body = do(t, srv, "GET", "/v2.1/os-keypairs?limit=2", "member", "", mv("2.35")...)
	got := mustJSON(body)
	if strings.Count(got, `"name"`) != 2 || !strings.Contains(got, `"keypairs_links":[{"href":"`) || !strings.Contains(got, "marker=b") {
		t.Errorf("first page: %s", got)
	}
	_, body = do(t, srv, "GET", "/v2.1/os-keypairs?limit=2&marker=b", "member", "", mv("2.35")...)
	if got := mustJSON(body); !strings.Contains(got, `"name":"c"`) || !strings.Contains(got, `"name":"for-member"`) || strings.Contains(got, `"name":"a"`) {
		t.Errorf("second page: %s", got)
	}
}
