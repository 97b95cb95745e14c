package policy_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"imagestack/policy"
)

var baseRules = []policy.Rule{
	{Name: "context_is_admin", Check: "role:admin"},
	{Name: "admin_required", Check: "role:admin"},
	{Name: "owner", Check: "project_id:%(owner)s"},
	{Name: "admin_or_owner", Check: "rule:admin_required or rule:owner"},
}

// writeFile replaces path atomically (temp file, rename): a watcher on a
// loaded machine can otherwise see the file truncated for two polls in a row.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

var (
	boss    = policy.Credentials{ProjectID: "p1", Roles: []string{"boss"}}
	auditor = policy.Credentials{ProjectID: "p1", Roles: []string{"auditor"}}
)

func TestLoadFiles(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, file, content string
	}{
		{"yaml", "policy.yaml", "# comment\n\"admin_required\": \"role:boss\"\nextra: 'role:auditor'\nplain: role:auditor or role:x\n"},
		{"yaml block scalar", "policy.yaml", "admin_required: |\n  role:boss\n  or role:nobody\nextra: \"role:auditor\"\n"},
		{"json", "policy.json", "{\n  \"admin_required\": \"role:boss\",\n  \"extra\": \"role:auditor\"\n}\n"},
		{"json with tabs, as yaml", "policy.yaml", "{\n\t\"admin_required\": \"role:boss\",\n\t\"extra\": \"role:auditor\"\n}\n"},
	}
	for _, c := range cases {
		p := filepath.Join(dir, c.file)
		writeFile(t, p, c.content)
		e, err := policy.NewEnforcer(p, baseRules)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		// The override reaches rules that refer to it.
		if !e.Enforce("admin_or_owner", policy.Target{"owner": "other"}, boss) {
			t.Errorf("%s: override of admin_required not seen through rule:", c.name)
		}
		if e.Enforce("admin_required", nil, policy.Credentials{Roles: []string{"admin"}}) {
			t.Errorf("%s: the default still applies after the override", c.name)
		}
		if !e.Enforce("extra", nil, auditor) {
			t.Errorf("%s: rule defined only in the file not applied", c.name)
		}
		if got := e.Rules()["owner"]; got != "project_id:%(owner)s" {
			t.Errorf("%s: untouched default = %q", c.name, got)
		}
	}
}

func TestLoadDefaultsOnly(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"empty.yaml":    "",
		"comments.yaml": "# nothing here yet\n\n",
		"null.yaml":     "~\n",
		"empty.json":    "{}\n",
		"null.json":     "null",
	} {
		p := filepath.Join(dir, name)
		writeFile(t, p, content)
		e, err := policy.NewEnforcer(p, baseRules)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(e.Rules()) != len(baseRules) {
			t.Errorf("%s: %d rules, want the %d defaults", name, len(e.Rules()), len(baseRules))
		}
	}
	for _, p := range []string{"", filepath.Join(dir, "absent.yaml")} {
		e, err := policy.NewEnforcer(p, baseRules)
		if err != nil || !e.Enforce("admin_required", nil, policy.Credentials{Roles: []string{"admin"}}) {
			t.Errorf("path %q: want defaults only, got %v", p, err)
		}
	}
}

// TestMalformedFilesNameFileAndLine asserts the exact file:line prefix.
func TestMalformedFilesNameFileAndLine(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		file, content string
		line          string // the file:line prefix expected, after dir
		want          string // and a fragment of the message
	}{
		{"bad-check.yaml", "ok: \"role:a\"\n\n\"get_image\": \"role:admin or (role:reader\"\n", "bad-check.yaml:3", `rule "get_image": unbalanced parentheses`},
		{"close-paren.yaml", "a: '@'\nb: '!'\nc: '@'\nd: '@'\ne: '@'\nf: '@'\ng: '@'\nh: '@'\ni: '@'\nj: '@'\nk: '@'\nget_image: \"role:admin)\"\n", "close-paren.yaml:12", `rule "get_image": unexpected token ")" at column 11`},
		{"list.yaml", "a: \"role:x\"\nb:\n  - role:y\n", "list.yaml:2", `rule "b": value must be a check string, not a list (the old list-of-lists format is not supported`},
		{"mapping.yaml", "a:\n  b: c\n", "mapping.yaml:1", `rule "a": value must be a check string, not a mapping`},
		{"null.yaml", "a: \"role:x\"\nb:\n", "null.yaml:2", `rule "b": value must be a check string, not empty`},
		{"bang.yaml", "a: \"role:x\"\nb: !\n", "bang.yaml:2", `quote "!" and "@"`},
		{"bool.yaml", "x: '@'\na: true\n", "bool.yaml:2", `rule "a": value must be a check string, not bool true (quote it)`},
		{"int.yaml", "a: 5\n", "int.yaml:1", `not int 5`},
		{"syntax.yaml", "a: \"role:x\"\nb: c: d\n", "syntax.yaml:2", "mapping values are not allowed"},
		{"syntax-first-line.yaml", "a: @\n", "syntax-first-line.yaml:1", "cannot start any token"},
		{"tab.yaml", "a: x\n\tb: y\n", "tab.yaml:2", "tab character"},
		{"top-list.yaml", "- [\"role:x\"]\n", "top-list.yaml:1", "list-of-lists format is not supported"},
		{"scalar.yaml", "role:admin\n", "scalar.yaml:1", "must map rule names to check strings"},
		{"dup.yaml", "a: \"role:x\"\nb: \"@\"\na: \"role:y\"\n", "dup.yaml:3", `rule "a" is defined twice (first on line 1)`},
		{"cycle.yaml", "x: '@'\na: \"rule:b\"\nb: \"rule:a or role:x\"\n", "cycle.yaml:2", `rule "a" refers to itself: a -> b -> a`},
		{"cycle-via-default.yaml", "\nadmin_required: \"rule:admin_or_owner\"\n", "cycle-via-default.yaml:2", `admin_required -> admin_or_owner -> admin_required`},
		{"self.yaml", "\n\nme: \"role:x or rule:me\"\n", "self.yaml:3", `rule "me" refers to itself: me -> me`},
		{"bad.json", "{\n \"a\": \"role:x\",\n \"b\": \"role:y and\"\n}\n", "bad.json:3", `rule "b": unexpected end of check string after "and"`},
		{"comma.json", "{\n \"a\": \"role:x\"\n \"b\": \"role:y\"\n}\n", "comma.json:3", "invalid character"},
		{"trailing.json", "{\n \"a\": \"role:x\",\n}\n", "trailing.json:3", "invalid character"},
		{"unclosed.json", "{\n \"a\": \"role:x\",\n \"b\": \"role:y\"\n", "unclosed.json:3", "unexpected end of JSON"},
		{"number.json", "{\n \"a\": \"role:x\",\n\n \"b\": 12\n}", "number.json:4", `rule "b": value must be a check string, not 12`},
		{"lol.json", "{\n \"a\": [[\"role:x\"]]\n}", "lol.json:2", "list-of-lists format is not supported"},
		{"top-list.json", "\n[[\"role:x\"]]", "top-list.json:2", "list-of-lists format is not supported"},
		{"dup.json", "{\"a\": \"@\",\n\"a\": \"!\"}", "dup.json:2", `rule "a" is defined twice (first on line 1)`},
		{"extra.json", "{}\n{}\n", "extra.json:2", "after top-level value"},
		{"http.yaml", "a: \"http://example.com/allow\"\n", "http.yaml:1", "http and https checks are not supported"},
	}
	for _, c := range cases {
		p := filepath.Join(dir, c.file)
		writeFile(t, p, c.content)
		_, err := policy.NewEnforcer(p, baseRules)
		if err == nil {
			t.Errorf("%s: loaded without error", c.file)
			continue
		}
		prefix := filepath.Join(dir, c.line) + ": "
		if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got  %v\n want %q... containing %q", c.file, err, prefix, c.want)
		}
	}
}

func TestBrokenDefaultsAreAnError(t *testing.T) {
	_, err := policy.NewEnforcer("", []policy.Rule{{Name: "bad", Check: "role:a and"}})
	if err == nil || !strings.Contains(err.Error(), `built-in rule "bad"`) {
		t.Fatalf("err = %v", err)
	}
	_, err = policy.NewEnforcer("", []policy.Rule{{Name: "a", Check: "rule:b"}, {Name: "b", Check: "rule:a"}})
	if err == nil || !strings.Contains(err.Error(), "built-in rules: rule") {
		t.Fatalf("err = %v", err)
	}
}

func TestLaterDefaultsWin(t *testing.T) {
	e, err := policy.NewEnforcer("", []policy.Rule{{Name: "x", Check: "!"}}, []policy.Rule{{Name: "x", Check: "@"}})
	if err != nil {
		t.Fatal(err)
	}
	if !e.Enforce("x", nil, policy.Credentials{}) {
		t.Fatal("the later list must win")
	}
}

func TestReloadKeepsRulesOnError(t *testing.T) {
	p := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, p, "admin_required: \"role:admin\"\n")
	e, err := policy.NewEnforcer(p, baseRules)
	if err != nil {
		t.Fatal(err)
	}
	if e.Enforce("admin_required", nil, boss) {
		t.Fatal("boss allowed before the change")
	}
	writeFile(t, p, "admin_required: \"role:boss\"\n")
	if err := e.Reload(); err != nil {
		t.Fatal(err)
	}
	if !e.Enforce("admin_required", nil, boss) {
		t.Fatal("Reload did not apply the change")
	}
	// A broken edit, including one that would open everything up if it
	// were half-read, is rejected and changes nothing.
	writeFile(t, p, "admin_required: \"role:boss or\"\nowner: \"@\"\n")
	err = e.Reload()
	if err == nil || !strings.HasPrefix(err.Error(), p+":1: ") {
		t.Fatalf("Reload of a broken file = %v, want an error at %s:1", err, p)
	}
	if !e.Enforce("admin_required", nil, boss) || e.Enforce("owner", policy.Target{"owner": "x"}, boss) {
		t.Fatal("a failed reload changed the rules in force")
	}
	// Removing the file returns to the defaults, as at start-up.
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := e.Reload(); err != nil || e.Enforce("admin_required", nil, boss) {
		t.Fatalf("after removal: err %v, boss still allowed: %v", err, e.Enforce("admin_required", nil, boss))
	}
}

// syncBuffer collects log output written from the Watch goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestWatch(t *testing.T) {
	p := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, p, "admin_required: \"role:admin\"\n")
	e, err := policy.NewEnforcer(p, baseRules)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		e.Watch(ctx, 5*time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)))
		close(done)
	}()
	defer func() { cancel(); <-done }()

	writeFile(t, p, "admin_required: \"role:boss\"\n")
	waitFor(t, "the change to apply", func() bool { return e.Enforce("admin_required", nil, boss) })

	// A broken version is logged with its line, once, and ignored.
	writeFile(t, p, "admin_required: \"role:boss\"\nowner: \"(@\"\n")
	waitFor(t, "the error to be logged", func() bool { return strings.Contains(logs.String(), p+":2: ") })
	time.Sleep(50 * time.Millisecond) // many more polls
	if n := strings.Count(logs.String(), "policy reload failed"); n != 1 {
		t.Errorf("broken file logged %d times, want once:\n%s", n, logs.String())
	}
	if !e.Enforce("admin_required", nil, boss) || e.Enforce("owner", policy.Target{"owner": "x"}, boss) {
		t.Fatal("a broken file changed the rules in force")
	}

	// Same size and modification time, other content: still noticed.
	writeFile(t, p, "admin_required: \"role:boss\"\n")
	waitFor(t, "the fix to apply", func() bool { return strings.Count(logs.String(), "policy reloaded") == 2 })
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, p, "admin_required: \"role:xyzw\"\n")
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	xyzw := policy.Credentials{Roles: []string{"xyzw"}}
	waitFor(t, "a same-size edit to apply", func() bool { return e.Enforce("admin_required", nil, xyzw) })

	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "fallback to the defaults", func() bool {
		return e.Enforce("admin_required", nil, policy.Credentials{Roles: []string{"admin"}})
	})
}

func TestWatchStopsWithContext(t *testing.T) {
	e, err := policy.NewEnforcer(filepath.Join(t.TempDir(), "p.yaml"), baseRules)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Watch(ctx, time.Millisecond, nil); close(done) }()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not return after cancel")
	}
}

// TestConcurrentEnforceAndReload is for the race detector: decisions keep
// coming while the policy is swapped underneath them.
func TestConcurrentEnforceAndReload(t *testing.T) {
	p := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, p, "admin_required: \"role:boss\"\n")
	e, err := policy.NewEnforcer(p, baseRules)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					// Both versions of the file allow the owner.
					if !e.Enforce("admin_or_owner", policy.Target{"owner": "p1"}, auditor) {
						t.Error("owner denied mid-reload")
						return
					}
				}
			}
		})
	}
	for i := range 50 {
		writeFile(t, p, []string{"admin_required: \"role:boss\"\n", "admin_required: \"role:other\"\n"}[i%2])
		if err := e.Reload(); err != nil {
			t.Error(err)
		}
		_ = e.Rules()
	}
	close(stop)
	wg.Wait()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
