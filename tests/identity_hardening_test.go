package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// manage runs `imagestack -config <server's> manage args...` against the
// server's state directory and database, returning its output.
func (s *Server) manage(args ...string) (string, error) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, serverBin, append([]string{"-config", s.ConfigPath, "manage"}, args...)...)
	cmd.Env = append(append(os.Environ(), "STATE_DIR="+s.StateDir), s.Env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// passwordLogin posts a password authentication for a user of the Default
// domain scoped to project, returning the status and Keystone's error text.
func passwordLogin(t *testing.T, s *Server, user, password, project string) (int, string) {
	t.Helper()
	body := fmt.Sprintf(`{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": %q, "domain": {"name": "Default"}, "password": %q}}},
		"scope": {"project": {"name": %q, "domain": {"name": "Default"}}}}}`, user, password, project)
	resp, err := http.Post(s.IdentityURL+"/v3/auth/tokens", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var e struct {
		Error struct{ Message string } `json:"error"`
	}
	_ = json.Unmarshal(data, &e)
	return resp.StatusCode, e.Error.Message
}

// TestRestartKeepsIdentityChanges: a restart does not bring back a deleted
// demo user and project or a removed admin grant; `imagestack manage
// bootstrap` does.
func TestRestartKeepsIdentityChanges(t *testing.T) {
	s := NewServer(t, nil, "")
	// A second administrator does the removals and checks the result.
	s.MustCLI("admin", "user", "create", "--project", "admin", "--password", "opspw", "ops")
	s.MustCLI("admin", "role", "add", "--user", "ops", "--project", "admin", "admin")
	ops := func(args ...string) string {
		t.Helper()
		out, errOut, err := s.CLIAs("ops", "opspw", "admin", args...)
		if err != nil {
			t.Fatalf("openstack %s as ops: %v\n%s", strings.Join(args, " "), err, errOut)
		}
		return out
	}
	ops("user", "delete", "demo")
	ops("project", "delete", "demo")
	ops("role", "remove", "--user", "admin", "--project", "admin", "admin")

	gone := func(when string) {
		t.Helper()
		if out := ops("user", "list", "-f", "value", "-c", "Name"); strings.Contains(out, "demo") {
			t.Fatalf("%s: demo user is back: %q", when, out)
		}
		if out := ops("project", "list", "-f", "value", "-c", "Name"); strings.Contains(out, "demo") {
			t.Fatalf("%s: demo project is back: %q", when, out)
		}
		if out := ops("role", "assignment", "list", "--user", "admin", "--project", "admin", "-f", "value"); strings.TrimSpace(out) != "" {
			t.Fatalf("%s: admin's role on project admin is back: %q", when, out)
		}
		if _, errOut, err := s.CLI("admin", "token", "issue"); err == nil || !strings.Contains(errOut, "401") {
			t.Fatalf("%s: admin still gets a token for project admin: %v %s", when, err, errOut)
		}
	}
	gone("before restart")
	s.Stop()
	s.Start()
	if p := s.PrintedCloudsPath(); p != s.CloudsPath() {
		t.Fatalf("restarted server printed clouds.yaml path %q, want %q", p, s.CloudsPath())
	}
	gone("after restart")

	out, err := s.manage("bootstrap")
	if err != nil {
		t.Fatalf("manage bootstrap: %v\n%s", err, out)
	}
	for _, want := range []string{"granted role admin on project admin to user admin", "created project demo",
		"created user demo", "granted role member on project demo to user demo", "clouds.yaml written to " + s.CloudsPath()} {
		if !strings.Contains(out, want) {
			t.Fatalf("manage bootstrap output lacks %q:\n%s", want, out)
		}
	}
	for _, cloud := range []string{"admin", "demo"} {
		if _, errOut, err := s.CLI(cloud, "token", "issue"); err != nil {
			t.Fatalf("%s after manage bootstrap: %v %s", cloud, err, errOut)
		}
	}
	if out, err := s.manage("bootstrap"); err != nil || !strings.Contains(out, "nothing to do") {
		t.Fatalf("second manage bootstrap: %v\n%s", err, out)
	}
	if out, err := s.manage("nonsense"); err == nil || !strings.Contains(out, "usage: imagestack") {
		t.Fatalf("unknown manage command: %v\n%s", err, out)
	}
}

// TestLoginLockout: with identity.lockout_failure_attempts set, a user who
// failed that many times in a row is refused, even with the right password,
// across a restart, until an admin sets the user enabled again.
func TestLoginLockout(t *testing.T) {
	s := NewServer(t, nil, "identity:\n  lockout_failure_attempts: 2\n  lockout_duration: 1h\n")
	demo := s.Cloud("demo")
	for i := range 2 {
		if code, msg := passwordLogin(t, s, "demo", "wrong", "demo"); code != 401 || msg != "The request you have made requires authentication." {
			t.Fatalf("wrong password %d: %d %q", i+1, code, msg)
		}
	}
	s.Stop()
	s.Start()
	// As Keystone without insecure_debug, the answer is the generic one:
	// it must not tell that the user exists.
	code, msg := passwordLogin(t, s, "demo", demo["password"], "demo")
	if code != 401 || msg != "The request you have made requires authentication." {
		t.Fatalf("right password while locked out: %d %q", code, msg)
	}
	if _, errOut, err := s.CLI("demo", "token", "issue"); err == nil || !strings.Contains(errOut, "requires authentication") {
		t.Fatalf("openstack CLI while locked out: %v %s", err, errOut)
	}
	userID := strings.TrimSpace(s.MustCLI("admin", "user", "show", "-f", "value", "-c", "id", "demo"))
	// Other users are unaffected; an admin unlocks by setting enabled.
	if code, msg := passwordLogin(t, s, "admin", s.Cloud("admin")["password"], "admin"); code != 201 {
		t.Fatalf("admin while demo is locked out: %d %q", code, msg)
	}
	s.MustCLI("admin", "user", "set", "--enable", userID)
	if code, msg := passwordLogin(t, s, "demo", demo["password"], "demo"); code != 201 {
		t.Fatalf("after the admin enabled demo: %d %q", code, msg)
	}
	// A success reset the count: one more failure does not lock.
	passwordLogin(t, s, "demo", "wrong", "demo")
	if code, msg := passwordLogin(t, s, "demo", demo["password"], "demo"); code != 201 {
		t.Fatalf("one failure after a success locked demo: %d %q", code, msg)
	}
}
