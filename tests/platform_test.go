package tests

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack"

	"imagestack/common/db/dbtest"
)

// getJSON sends a request and returns status, headers and decoded body.
func getJSON(t *testing.T, method, url, token string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &m)
	}
	return resp.StatusCode, resp.Header, m
}

// TestCommonHTTPBehaviour checks request ids, 404s and 405s in each API
// family's own error format, and the version documents.
func TestCommonHTTPBehaviour(t *testing.T) {
	s := NewServer(t, nil, "")
	cases := []struct {
		name, method, url string
		status            int
		check             func(map[string]any) bool
	}{
		{"identity 404", "GET", s.IdentityURL + "/v3/nope", 404, func(m map[string]any) bool { return m["error"].(map[string]any)["code"] == 404.0 }},
		{"image 404", "GET", s.ImageURL + "/v2/nope", 404, func(m map[string]any) bool { return m["code"] == "404 Not Found" }},
		{"compute 404", "GET", s.ComputeURL + "/v2.1/nope", 404, func(m map[string]any) bool { return m["itemNotFound"].(map[string]any)["code"] == 404.0 }},
		{"identity 405", "DELETE", s.IdentityURL + "/v3", 405, func(m map[string]any) bool { return m["error"].(map[string]any)["code"] == 405.0 }},
		{"image 405", "POST", s.ImageURL + "/versions", 405, func(m map[string]any) bool { return m["title"] == "Method Not Allowed" }},
		{"compute 405", "DELETE", s.ComputeURL + "/", 405, func(m map[string]any) bool { return m["badMethod"].(map[string]any)["code"] == 405.0 }},
		{"identity versions", "GET", s.IdentityURL + "/", 300, func(m map[string]any) bool { return m["versions"] != nil }},
		{"image versions", "GET", s.ImageURL + "/", 300, func(m map[string]any) bool { return len(m["versions"].([]any)) > 0 }},
		{"compute versions", "GET", s.ComputeURL + "/", 200, func(m map[string]any) bool { return len(m["versions"].([]any)) == 2 }},
	}
	for _, c := range cases {
		status, hdr, body := getJSON(t, c.method, c.url, "")
		if status != c.status {
			t.Errorf("%s: status %d, want %d", c.name, status, c.status)
			continue
		}
		if !strings.HasPrefix(hdr.Get("X-Openstack-Request-Id"), "req-") {
			t.Errorf("%s: no request id", c.name)
		}
		if status == 405 && hdr.Get("Allow") == "" {
			t.Errorf("%s: 405 without Allow", c.name)
		}
		if body == nil || !c.check(body) {
			t.Errorf("%s: body %v", c.name, body)
		}
	}
	// Access log: one structured line per request with the request id.
	_, hdr, _ := getJSON(t, "GET", s.ComputeURL+"/v2.1", "")
	id := hdr.Get("X-Openstack-Request-Id")
	waitLog(t, s, "request_id="+id)
}

func waitLog(t *testing.T, s *Server, want string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if strings.Contains(s.log.String(), want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("server log lacks %q", want)
}

// TestTokenExpiry uses a short configured lifetime: the token works, then 401.
func TestTokenExpiry(t *testing.T) {
	s := NewServer(t, nil, "identity: {token_expiration: 2s}")
	provider, err := openstack.AuthenticatedClient(t.Context(), authOptions(s, "demo"))
	if err != nil {
		t.Fatal(err)
	}
	if status, _, _ := getJSON(t, "GET", s.IdentityURL+"/v3/auth/projects", provider.Token()); status != 200 {
		t.Fatalf("fresh token = %d", status)
	}
	time.Sleep(2500 * time.Millisecond)
	status, hdr, _ := getJSON(t, "GET", s.IdentityURL+"/v3/auth/projects", provider.Token())
	if status != 401 || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Keystone uri=") {
		t.Fatalf("expired token = %d (%v)", status, hdr)
	}
}

// TestPolicyFile: a malformed file stops start-up naming the line; a valid
// edit while running takes effect; a broken edit keeps the rules in force.
func TestPolicyFile(t *testing.T) {
	dir := t.TempDir()
	policyPath := filepath.Join(dir, "policy.yaml")
	cfgPath := filepath.Join(dir, "imagestack.yaml")
	os.WriteFile(policyPath, []byte("\"identity:list_users\": \"role:admin\"\n\"identity:list_roles\": \"role:admin or (role:member\"\n"), 0o600)
	os.WriteFile(cfgPath, []byte("identity: {listen: \"127.0.0.1:0\"}\nimage: {listen: \"127.0.0.1:0\"}\ncompute: {listen: \"127.0.0.1:0\", console: {listen: \"127.0.0.1:0\"}}\nmetrics: {listen: \"127.0.0.1:0\"}\npolicy: {file: policy.yaml}\n"), 0o600)
	cmd := exec.Command(serverBin, "-config", cfgPath)
	cmd.Env = append(os.Environ(), "STATE_DIR="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("server started with a malformed policy file")
		}
		if !strings.Contains(stderr.String(), "policy.yaml:2") || !strings.Contains(stderr.String(), "identity:list_roles") {
			t.Fatalf("start-up error must name file, line and rule: %q", stderr.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("server did not refuse the malformed policy file")
	}

	// A running server picks up changes.
	os.WriteFile(policyPath, []byte("\"identity:list_users\": \"role:admin\"\n"), 0o600)
	s := NewServer(t, nil, "policy: {file: "+policyPath+", reload_interval: 100ms}\n")
	demo, err := openstack.AuthenticatedClient(t.Context(), authOptions(s, "demo"))
	if err != nil {
		t.Fatal(err)
	}
	if status, _, _ := getJSON(t, "GET", s.IdentityURL+"/v3/users", demo.Token()); status != 403 {
		t.Fatalf("member lists users before policy change: %d", status)
	}
	os.WriteFile(policyPath, []byte("\"identity:list_users\": \"role:member\"\n"), 0o600)
	waitStatus(t, s.IdentityURL+"/v3/users", demo.Token(), 200)
	os.WriteFile(policyPath, []byte("\"identity:list_users\": \"role:member or\"\n"), 0o600)
	waitLog(t, s, "policy reload failed")
	if status, _, _ := getJSON(t, "GET", s.IdentityURL+"/v3/users", demo.Token()); status != 200 {
		t.Fatalf("a broken edit changed the rules in force: %d", status)
	}
}

func waitStatus(t *testing.T, url, token string, want int) {
	t.Helper()
	var status int
	for i := 0; i < 100; i++ {
		if status, _, _ = getJSON(t, "GET", url, token); status == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("GET %s stayed %d, want %d", url, status, want)
}

// TestServerOnMariaDB runs the server on MySQL/MariaDB metadata: bootstrap,
// authentication, identity writes and a restart.
func TestServerOnMariaDB(t *testing.T) {
	dsn := dbtest.MySQLDSN(t)
	s := NewServer(t, []string{"IMAGESTACK_DATABASE_DSN=" + dsn}, "")
	admin, err := openstack.AuthenticatedClient(t.Context(), authOptions(s, "admin"))
	if err != nil {
		t.Fatal(err)
	}
	s.MustCLI("admin", "project", "create", "onmaria")
	s.Stop()
	s.Start()
	if status, _, _ := getJSON(t, "GET", s.IdentityURL+"/v3/projects?name=onmaria", admin.Token()); status != 200 {
		t.Fatalf("token or data lost across restart on MariaDB: %d", status)
	}
	out := s.MustCLI("admin", "project", "list", "-f", "value", "-c", "Name")
	if !strings.Contains(out, "onmaria") {
		t.Fatalf("project list on MariaDB: %q", out)
	}
}

// TestPortInUse: a second instance on the same ports fails before it touches
// its state (no clouds.yaml pointing at the other instance's identity).
func TestPortInUse(t *testing.T) {
	s := NewServer(t, nil, "")
	state := t.TempDir()
	cmd := exec.Command(serverBin, "-config", s.ConfigPath)
	cmd.Env = append(os.Environ(), "STATE_DIR="+state)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "address already in use") {
		t.Fatalf("second instance: err=%v output=%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(state, "clouds.yaml")); !os.IsNotExist(err) {
		t.Fatalf("second instance wrote clouds.yaml: %v", err)
	}
}
