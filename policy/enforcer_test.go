package policy

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// evalRules exercise each kind of check on its own.
var evalRules = []Rule{
	{Name: "context_is_admin", Check: "role:admin"},
	{Name: "admin_required", Check: "role:admin"},
	{Name: "owner", Check: "project_id:%(owner)s"},
	{Name: "not_owner", Check: "not project_id:%(owner)s"},
	{Name: "admin_or_owner", Check: "rule:admin_required or rule:owner"},
	{Name: "chain", Check: "rule:admin_or_owner"},
	{Name: "is_admin", Check: "is_admin:True"},
	{Name: "is_not_admin", Check: "is_admin:False"},
	{Name: "public", Check: "'public':%(visibility)s"},
	{Name: "shared_dq", Check: `"shared":%(visibility)s`},
	{Name: "enabled", Check: "True:%(enabled)s"},
	{Name: "role_from_target", Check: "role:%(target.role.name)s"},
	{Name: "self", Check: "user_id:%(target.user.id)s"},
	{Name: "user_bare", Check: "user_id:u1"},
	{Name: "user_quoted", Check: "user_id:'u1'"},
	{Name: "domain_dq", Check: `domain_id:"d1"`},
	{Name: "roles_generic", Check: "roles:auditor"},
	{Name: "tenant", Check: "tenant:%(project_id)s"},
	{Name: "prefixed", Check: "user_id:user-%(suffix)s"},
	{Name: "never", Check: "!"},
	{Name: "always", Check: "@"},
	{Name: "empty", Check: ""},
	{Name: "missing_ref", Check: "rule:no_such_rule"},
	{Name: "not_missing_ref", Check: "not rule:no_such_rule"},
	{Name: "negated", Check: "not role:reader"},
	{Name: "prec", Check: "role:a or role:b and role:c"},
	{Name: "grouped", Check: "(role:a or role:b) and role:c"},
	{Name: "not_and", Check: "not role:a and role:b"},
	{Name: "domains", Check: "domain_id:d1 or user_domain_id:ud or project_domain_id:pd"},
}

func TestEvaluation(t *testing.T) {
	e, err := NewEnforcer("", evalRules)
	if err != nil {
		t.Fatal(err)
	}
	member := Credentials{UserID: "u1", ProjectID: "p1", Roles: []string{"Member", "reader"}}
	admin := Credentials{UserID: "u0", ProjectID: "p0", Roles: []string{"ADMIN"}}
	roles := func(r ...string) Credentials { return Credentials{Roles: r} }
	cases := []struct {
		name   string
		rule   string
		target Target
		creds  Credentials
		want   bool
	}{
		{"role is case-insensitive (token upper)", "admin_required", nil, admin, true},
		{"role is case-insensitive (rule upper)", "role_from_target", Target{"target.role.name": "MEMBER"}, member, true},
		{"role missing", "admin_required", nil, member, false},
		{"role from target, not held", "role_from_target", Target{"target.role.name": "admin"}, member, false},
		{"role from target, key missing", "role_from_target", Target{}, member, false},
		{"substitution matches", "owner", Target{"owner": "p1"}, member, true},
		{"substitution differs", "owner", Target{"owner": "p2"}, member, false},
		{"missing target key fails", "owner", Target{}, member, false},
		{"nil target fails", "owner", nil, member, false},
		// oslo.policy semantics: the failed check is negated like any other.
		{"not of missing key passes", "not_owner", Target{}, member, true},
		{"empty project matches nothing", "owner", Target{"owner": ""}, Credentials{}, false},
		{"embedded substitution", "prefixed", Target{"suffix": "1"}, Credentials{UserID: "user-1"}, true},
		{"embedded substitution differs", "prefixed", Target{"suffix": "2"}, Credentials{UserID: "user-1"}, false},
		{"literal left single quotes", "public", Target{"visibility": "public"}, member, true},
		{"literal left, other value", "public", Target{"visibility": "private"}, member, false},
		{"literal left, key missing", "public", Target{}, member, false},
		{"literal left double quotes", "shared_dq", Target{"visibility": "shared"}, member, true},
		{"python literal left", "enabled", Target{"enabled": "True"}, member, true},
		{"python literal left differs", "enabled", Target{"enabled": "False"}, member, false},
		{"bare literal right", "user_bare", nil, member, true},
		// oslo.policy compares the right side as written: quotes are part of it.
		{"quoted literal right", "user_quoted", nil, member, false},
		{"double-quoted literal right", "domain_dq", nil, Credentials{DomainID: "d1"}, false},
		{"quoted target value", "owner", Target{"owner": "'p1'"}, member, false},
		{"double-quoted target value", "owner", Target{"owner": `"p1"`}, member, false},
		{"roles as a generic key", "roles_generic", nil, roles("reader", "auditor"), true},
		{"roles as a generic key is exact", "roles_generic", nil, roles("Auditor"), false},
		{"tenant means project_id", "tenant", Target{"project_id": "p1"}, member, true},
		{"target user", "self", Target{"target.user.id": "u1"}, member, true},
		{"other target user", "self", Target{"target.user.id": "u2"}, member, false},
		{"is_admin from context_is_admin", "is_admin", nil, admin, true},
		{"is_admin false for member", "is_admin", nil, member, false},
		{"is_admin:False for member", "is_not_admin", nil, member, true},
		{"is_admin:False for admin", "is_not_admin", nil, admin, false},
		{"IsAdmin preset by caller", "is_admin", nil, Credentials{IsAdmin: true}, true},
		{"rule chain to admin", "chain", Target{"owner": "p9"}, admin, true},
		{"rule chain to owner", "chain", Target{"owner": "p1"}, member, true},
		{"rule chain denies", "chain", Target{"owner": "p9"}, member, false},
		{"unknown rule is false", "missing_ref", nil, admin, false},
		{"not unknown rule", "not_missing_ref", nil, member, true},
		{"undefined rule, no default", "no_such_rule", nil, admin, false},
		{"never", "never", nil, admin, false},
		{"always", "always", nil, Credentials{}, true},
		{"empty check", "empty", nil, Credentials{}, true},
		{"not", "negated", nil, member, false},
		{"not passes", "negated", nil, admin, true},
		{"or of and: left", "prec", nil, roles("a"), true},
		{"or of and: half", "prec", nil, roles("b"), false},
		{"or of and: right", "prec", nil, roles("b", "c"), true},
		{"group: left only", "grouped", nil, roles("a"), false},
		{"group: both", "grouped", nil, roles("a", "c"), true},
		{"not binds tighter than and", "not_and", nil, roles("b"), true},
		{"not binds tighter than and, denied", "not_and", nil, roles("a", "b"), false},
		{"domain-scoped token", "domains", nil, Credentials{DomainID: "d1"}, true},
		{"user domain", "domains", nil, Credentials{UserDomainID: "ud"}, true},
		{"project domain", "domains", nil, Credentials{ProjectDomainID: "pd"}, true},
		{"other domain", "domains", nil, Credentials{DomainID: "d2"}, false},
	}
	for _, c := range cases {
		if got := e.Enforce(c.rule, c.target, c.creds); got != c.want {
			t.Errorf("%s: Enforce(%s, %v, %+v) = %v, want %v", c.name, c.rule, c.target, c.creds, got, c.want)
		}
	}
}

func TestAuthorize(t *testing.T) {
	e, err := NewEnforcer("", evalRules)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Authorize("always", nil, Credentials{}); err != nil {
		t.Fatalf("allowed action: %v", err)
	}
	err = e.Authorize("never", nil, Credentials{Roles: []string{"admin"}})
	if !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "never") {
		t.Fatalf("denied action: %v, want ErrForbidden naming the rule", err)
	}
}

// TestContextIsAdminUsesCallersIdentity: like Glance and Nova, admin-ness is
// decided against the caller's own project, not against the object acted on.
func TestContextIsAdminUsesCallersIdentity(t *testing.T) {
	e, err := NewEnforcer("", []Rule{
		{Name: "context_is_admin", Check: "role:admin and project_id:%(project_id)s"},
		{Name: "admin_only", Check: "is_admin:True"},
	})
	if err != nil {
		t.Fatal(err)
	}
	adm := Credentials{ProjectID: "admin-project", Roles: []string{"admin"}}
	if !e.Enforce("admin_only", Target{"project_id": "someone-else"}, adm) {
		t.Fatal("admin acting on another project's object must count as admin")
	}
	if e.Enforce("admin_only", nil, Credentials{Roles: []string{"admin"}}) {
		t.Fatal("an unscoped token matched project_id:%(project_id)s")
	}
}

// TestContextIsAdminReferringToIsAdmin: Nova's old context_is_admin was
// itself written with is_admin:True; deriving IsAdmin must not recurse.
func TestContextIsAdminReferringToIsAdmin(t *testing.T) {
	e, err := NewEnforcer("", []Rule{
		{Name: "context_is_admin", Check: "is_admin:True or role:admin"},
		{Name: "x", Check: "is_admin:True"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !e.Enforce("x", nil, Credentials{Roles: []string{"admin"}}) || e.Enforce("x", nil, Credentials{Roles: []string{"member"}}) {
		t.Fatal("wrong verdicts")
	}
}

// Glance's "default" ("": allow) serves undefined Glance rule names only:
// Nova denies rules it has not registered, and Keystone has no default.
// (cmd/imagestack runs the same test on the families' real defaults.)
func TestDefaultRuleIsGlancesOnly(t *testing.T) {
	glance := []Rule{{Name: "default", Check: ""}, {Name: "get_image", Check: "role:reader"}}
	nova := []Rule{{Name: "os_compute_api:servers:show", Check: "role:reader"}}
	e, err := NewEnforcer("", glance, nova)
	if err != nil {
		t.Fatal(err)
	}
	member := Credentials{UserID: "u", ProjectID: "p", Roles: []string{"member", "reader"}}
	target := Target{"project_id": "p", "user_id": "u"}
	if !e.Enforce("some_future_glance_rule", target, member) {
		t.Error("an undefined Glance rule no longer takes Glance's default")
	}
	for _, rule := range []string{"os_compute_api:servers:no-such-rule", "identity:no_such_rule"} {
		if e.Enforce(rule, target, member) {
			t.Errorf("undefined rule %s was allowed by Glance's default", rule)
		}
	}
}

func TestDefaultRuleFallback(t *testing.T) {
	cases := []struct {
		name, defaultCheck string
		creds              Credentials
		want               bool
	}{
		{"default admin, admin", "role:admin", Credentials{Roles: []string{"admin"}}, true},
		{"default admin, member", "role:admin", Credentials{Roles: []string{"member"}}, false},
		{"default never", "!", Credentials{Roles: []string{"admin"}}, false},
		{"default always (Glance's)", "", Credentials{}, true},
	}
	for _, c := range cases {
		e, err := NewEnforcer("", []Rule{{Name: "default", Check: c.defaultCheck}, {Name: "defined", Check: "!"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := e.Enforce("undefined", nil, c.creds); got != c.want {
			t.Errorf("%s: undefined rule = %v, want %v", c.name, got, c.want)
		}
		if e.Enforce("defined", nil, c.creds) {
			t.Errorf("%s: a defined rule must not fall back to default", c.name)
		}
	}
}

// TestRecursionIsCutAndDenied evaluates a rule cycle directly (loading
// rejects cycles, so only a bug could bring one here): evaluation must end,
// and must deny even where a "not" would turn the cut branch into a yes.
func TestRecursionIsCutAndDenied(t *testing.T) {
	rules := map[string]node{}
	for name, check := range map[string]string{
		"a":    "not rule:b",
		"b":    "rule:a",
		"self": "rule:self or @",
		"ok":   "rule:leaf and rule:leaf",
		"leaf": "@",
	} {
		n, err := parse(check)
		if err != nil {
			t.Fatal(err)
		}
		rules[name] = n
	}
	for _, name := range []string{"a", "b", "self"} {
		if decide(rules[name], name, rules, nil, Credentials{}) {
			t.Errorf("rule %s in a cycle was allowed", name)
		}
	}
	// A rule used twice on one path is not a cycle.
	if !decide(rules["ok"], "ok", rules, nil, Credentials{}) {
		t.Error("repeated, acyclic rule reference was denied")
	}
}

func TestCheckEval(t *testing.T) {
	c, err := ParseCheck("rule:owner or is_admin:True")
	if err != nil {
		t.Fatal(err)
	}
	member := Credentials{ProjectID: "p1", Roles: []string{"member"}}
	if c.Eval(Target{"owner": "p1"}, member, nil) {
		t.Error("without an enforcer, rule: references must fail")
	}
	e, err := NewEnforcer("", evalRules)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Eval(Target{"owner": "p1"}, member, e) {
		t.Error("rule:owner not resolved through the enforcer")
	}
	if !c.Eval(Target{"owner": "p2"}, Credentials{Roles: []string{"admin"}}, e) {
		t.Error("IsAdmin not derived from the enforcer's context_is_admin")
	}
}

// TestPollAppliesOnlySettledChanges drives Watch's poll step by hand: a
// change is applied on the second poll that sees it, and a file that is
// still changing (caught mid-write) is not applied at all.
func TestPollAppliesOnlySettledChanges(t *testing.T) {
	p := filepath.Join(t.TempDir(), "policy.yaml")
	write := func(s string) {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("x: \"role:a\"\n")
	e, err := NewEnforcer(p)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	check := func(step, want string) {
		t.Helper()
		if got := e.Rules()["x"]; got != want {
			t.Fatalf("%s: x = %q, want %q", step, got, want)
		}
	}
	e.poll(log)
	check("unchanged", "role:a")
	write("x: \"")
	e.poll(log)
	check("first sight of a partial write", "role:a")
	write("x: \"role:b\"\n")
	e.poll(log)
	check("file still changing", "role:a")
	e.poll(log)
	check("settled", "role:b")
	e.poll(log)
	check("nothing new", "role:b")
}
