package policy_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"imagestack/policy"
)

var testRules = []policy.Rule{
	{Name: "context_is_admin", Check: "role:admin"},
	{Name: "admin_required", Check: "role:admin"},
	{Name: "owner", Check: "project_id:%(owner)s"},
	{Name: "admin_or_owner", Check: "rule:admin_required or rule:owner"},
	{Name: "is_admin_flag", Check: "is_admin:True"},
	{Name: "public", Check: "'public':%(visibility)s"},
	{Name: "quoted_double", Check: `"shared":%(visibility)s`},
	{Name: "role_from_target", Check: "role:%(target.role.name)s"},
	{Name: "self", Check: "user_id:%(target.user.id)s"},
	{Name: "never", Check: "!"},
	{Name: "always", Check: "@"},
	{Name: "empty", Check: ""},
	{Name: "missing_ref", Check: "rule:no_such_rule"},
	{Name: "negated", Check: "not role:reader"},
	{Name: "prec", Check: "role:a or role:b and role:c"},
	{Name: "grouped", Check: "(role:a or role:b) and role:c"},
	{Name: "domain", Check: "domain_id:d1 or user_domain_id:ud or project_domain_id:pd"},
}

func TestEvaluation(t *testing.T) {
	e, err := policy.NewEnforcer("", testRules)
	if err != nil {
		t.Fatal(err)
	}
	member := policy.Credentials{UserID: "u1", ProjectID: "p1", Roles: []string{"Member", "reader"}}
	admin := policy.Credentials{UserID: "u0", ProjectID: "p0", Roles: []string{"ADMIN"}}
	cases := []struct {
		rule   string
		target policy.Target
		creds  policy.Credentials
		want   bool
	}{
		{"admin_required", nil, admin, true}, // role names are case-insensitive
		{"admin_required", nil, member, false},
		{"owner", policy.Target{"owner": "p1"}, member, true},
		{"owner", policy.Target{"owner": "p2"}, member, false},
		{"owner", policy.Target{}, member, false}, // missing target key fails
		{"admin_or_owner", policy.Target{"owner": "p2"}, admin, true},
		{"admin_or_owner", policy.Target{"owner": "p2"}, member, false},
		{"is_admin_flag", nil, admin, true}, // set from context_is_admin
		{"is_admin_flag", nil, member, false},
		{"is_admin_flag", nil, policy.Credentials{IsAdmin: true}, true},
		{"public", policy.Target{"visibility": "public"}, member, true},
		{"public", policy.Target{"visibility": "private"}, member, false},
		{"quoted_double", policy.Target{"visibility": "shared"}, member, true},
		{"role_from_target", policy.Target{"target.role.name": "member"}, member, true},
		{"role_from_target", policy.Target{"target.role.name": "admin"}, member, false},
		{"self", policy.Target{"target.user.id": "u1"}, member, true},
		{"self", policy.Target{"target.user.id": "u2"}, member, false},
		{"never", nil, admin, false},
		{"always", nil, policy.Credentials{}, true},
		{"empty", nil, policy.Credentials{}, true},
		{"missing_ref", nil, admin, false},
		{"undefined_rule_no_default", nil, admin, false},
		{"negated", nil, member, false},
		{"negated", nil, admin, true},
		{"prec", nil, policy.Credentials{Roles: []string{"a"}}, true},
		{"prec", nil, policy.Credentials{Roles: []string{"b"}}, false},
		{"prec", nil, policy.Credentials{Roles: []string{"b", "c"}}, true},
		{"grouped", nil, policy.Credentials{Roles: []string{"a"}}, false},
		{"grouped", nil, policy.Credentials{Roles: []string{"a", "c"}}, true},
		{"domain", nil, policy.Credentials{DomainID: "d1"}, true},
		{"domain", nil, policy.Credentials{UserDomainID: "ud"}, true},
		{"domain", nil, policy.Credentials{ProjectDomainID: "pd"}, true},
		{"domain", nil, policy.Credentials{DomainID: "other"}, false},
	}
	for _, c := range cases {
		if got := e.Enforce(c.rule, c.target, c.creds); got != c.want {
			t.Errorf("Enforce(%s, %v, roles=%v) = %v, want %v", c.rule, c.target, c.creds.Roles, got, c.want)
		}
	}
	if err := e.Authorize("never", nil, admin); !errors.Is(err, policy.ErrForbidden) {
		t.Fatalf("Authorize denial = %v", err)
	}
}

func TestDefaultRuleFallback(t *testing.T) {
	e, err := policy.NewEnforcer("", []policy.Rule{{Name: "default", Check: "role:admin"}})
	if err != nil {
		t.Fatal(err)
	}
	if e.Enforce("anything", nil, policy.Credentials{Roles: []string{"member"}}) {
		t.Fatal("undefined rule must use default (role:admin) and deny a member")
	}
	if !e.Enforce("anything", nil, policy.Credentials{Roles: []string{"admin"}}) {
		t.Fatal("undefined rule must use default and allow an admin")
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestFileLoading(t *testing.T) {
	dir := t.TempDir()
	yamlPath := filepath.Join(dir, "policy.yaml")
	writeFile(t, yamlPath, "# comment\n\"owner\": \"project_id:%(project_id)s\"\nextra: \"role:auditor\"\n")
	e, err := policy.NewEnforcer(yamlPath, testRules)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Enforce("owner", policy.Target{"project_id": "p1"}, policy.Credentials{ProjectID: "p1"}) {
		t.Fatal("file override not applied")
	}
	if !e.Enforce("extra", nil, policy.Credentials{Roles: []string{"auditor"}}) {
		t.Fatal("rule defined only in the file not applied")
	}
	if e.Rules()["admin_required"] != "role:admin" {
		t.Fatal("defaults not kept beside file rules")
	}

	jsonPath := filepath.Join(dir, "policy.json")
	writeFile(t, jsonPath, "{\n  \"admin_required\": \"role:boss\"\n}\n")
	e, err = policy.NewEnforcer(jsonPath, testRules)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Enforce("admin_or_owner", policy.Target{"owner": "x"}, policy.Credentials{Roles: []string{"boss"}}) {
		t.Fatal("JSON policy not applied through rule: reference")
	}

	if _, err := policy.NewEnforcer(filepath.Join(dir, "absent.yaml"), testRules); err != nil {
		t.Fatalf("a missing file means defaults only: %v", err)
	}
	empty := filepath.Join(dir, "empty.yaml")
	writeFile(t, empty, "")
	if _, err := policy.NewEnforcer(empty, testRules); err != nil {
		t.Fatalf("an empty file is fine: %v", err)
	}
}

func TestMalformedFilesNameTheLine(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, content, want string
	}{
		{"bad-check.yaml", "ok: \"role:a\"\n\n\"get_image\": \"role:admin or (role:reader\"\n", `bad-check.yaml:3: rule "get_image": missing )`},
		{"not-string.yaml", "a: \"role:x\"\nb:\n  - role:y\n", `not-string.yaml:3: rule "b": value must be a check string`},
		{"null.yaml", "a: \"role:x\"\nb:\n", `null.yaml:2: rule "b"`},
		{"bool.yaml", "a: true\n", `bool.yaml:1: rule "a": value must be a check string`},
		{"syntax.yaml", "a: \"role:x\"\nb: c: d\n", `syntax.yaml:2: mapping values are not allowed`},
		{"list.yaml", "- [role:x]\n", "list-of-lists format is not supported"},
		{"bad.json", "{\n \"a\": \"role:x\",\n \"b\": \"role:y and\"\n}\n", `bad.json:3: rule "b": unexpected end`},
		{"dup.yaml", "a: \"role:x\"\nb: \"@\"\na: \"role:y\"\n", `dup.yaml:3: rule "a" is defined twice`},
		{"cycle.yaml", "a: \"rule:b\"\nb: \"rule:a or role:x\"\n", `refers to itself`},
	}
	for _, c := range cases {
		p := filepath.Join(dir, c.name)
		writeFile(t, p, c.content)
		_, err := policy.NewEnforcer(p, testRules)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want containing %q", c.name, err, c.want)
		}
	}
}

func TestReloadAndWatch(t *testing.T) {
	p := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, p, "admin_required: \"role:admin\"\n")
	e, err := policy.NewEnforcer(p, testRules)
	if err != nil {
		t.Fatal(err)
	}
	boss := policy.Credentials{Roles: []string{"boss"}}
	if e.Enforce("admin_required", nil, boss) {
		t.Fatal("boss allowed before change")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.Watch(ctx, 10*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))

	writeFile(t, p, "admin_required: \"role:boss\"\n")
	waitFor(t, func() bool { return e.Enforce("admin_required", nil, boss) }, "watch to apply the change")

	// A broken edit is ignored: the previous rules stay, nothing is opened up.
	writeFile(t, p, "admin_required: \"role:boss or\"\n")
	if err := e.Reload(); err == nil {
		t.Fatal("Reload of a broken file must fail")
	}
	time.Sleep(50 * time.Millisecond)
	if !e.Enforce("admin_required", nil, boss) || e.Enforce("admin_required", nil, policy.Credentials{}) {
		t.Fatal("broken reload changed the rules in force")
	}
	// Removing the file returns to the defaults.
	os.Remove(p)
	waitFor(t, func() bool { return !e.Enforce("admin_required", nil, boss) }, "watch to fall back to defaults")
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
