// Package policytest holds what the tests of each family's default rules
// share: the checks every default table must pass and the callers the
// rules are tried with; and, for the families' test setups, their policy
// engine.
package policytest

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"imagestack/policy"
)

// Callers as the image and compute APIs see them. Keystone's token carries
// implied roles, so a member also has reader and an admin all three.
var (
	MemberA = policy.Credentials{UserID: "ua", ProjectID: "A", Roles: []string{"member", "reader"}}
	ReaderA = policy.Credentials{UserID: "ra", ProjectID: "A", Roles: []string{"reader"}}
	MemberB = policy.Credentials{UserID: "ub", ProjectID: "B", Roles: []string{"member", "reader"}}
	Admin   = policy.Credentials{UserID: "adm", ProjectID: "Z", Roles: []string{"admin", "member", "reader"}}
	NoRoles = policy.Credentials{UserID: "nr", ProjectID: "A"}
)

// CheckTable guards a family's default rules: names unique within the
// list, a description for the sample, and each check string parsing, and
// rendering back to a string that parses to the same check (the sample
// file and Rules() must mean what the defaults mean).
func CheckTable(t *testing.T, rules []policy.Rule) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range rules {
		if seen[r.Name] {
			t.Errorf("%q defined twice", r.Name)
		}
		seen[r.Name] = true
		if strings.TrimSpace(r.Description) == "" {
			t.Errorf("%q has no description", r.Name)
		}
		c, err := policy.ParseCheck(r.Check)
		if err != nil {
			t.Errorf("%q: %v", r.Name, err)
			continue
		}
		again, err := policy.ParseCheck(c.String())
		if err != nil || !reflect.DeepEqual(c, again) {
			t.Errorf("%s: %q renders as %q, which parses differently (%v)", r.Name, r.Check, c.String(), err)
		}
	}
}

// Case is one decision of a family's defaults, as a user sees it. It is an
// unnamed struct type so that the families' tables list cases positionally.
type Case = struct {
	Name   string
	Rule   string
	Target policy.Target
	Creds  policy.Credentials
	Want   bool
}

// Decide runs the cases on an enforcer of rules (no policy file), each as
// a named subtest.
func Decide(t *testing.T, rules []policy.Rule, cases []Case) {
	t.Helper()
	e, err := policy.NewEnforcer("", rules)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if got := e.Enforce(c.Rule, c.Target, c.Creds); got != c.Want {
				t.Errorf("Enforce(%s) = %v, want %v", c.Rule, got, c.Want)
			}
		})
	}
}

// Required fails for each name that rules do not define, and for each
// spot-checked rule whose check string differs from the upstream one.
func Required(t *testing.T, rules []policy.Rule, names string, verbatim map[string]string) {
	t.Helper()
	e, err := policy.NewEnforcer("", rules)
	if err != nil {
		t.Fatal(err)
	}
	defined := e.Rules()
	for _, name := range strings.Fields(names) {
		if _, ok := defined[name]; !ok {
			t.Errorf("no default for %q", name)
		}
	}
	for name, want := range verbatim {
		if defined[name] != want {
			t.Errorf("%s = %q, want %q", name, defined[name], want)
		}
	}
}

// NewEnforcer is an engine of a family's default rules, with yaml's rules
// (a policy file's content, none when empty) over them.
func NewEnforcer(t testing.TB, defaults []policy.Rule, yaml string) *policy.Enforcer {
	t.Helper()
	path := ""
	if yaml != "" {
		path = filepath.Join(t.TempDir(), "policy.yaml")
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	enf, err := policy.NewEnforcer(path, defaults)
	if err != nil {
		t.Fatal(err)
	}
	return enf
}

// Enforcer is a policy engine as the families' services use it.
type Enforcer interface {
	Enforce(rule string, target policy.Target, creds policy.Credentials) bool
}

// DefinedRules wraps e and fails the test whenever the service asks for a
// rule that defaults (upstream's, e.g. "Nova"'s) do not define: the engine
// denies an undefined rule name, so a typo would deny everyone.
func DefinedRules(t testing.TB, e Enforcer, defaults []policy.Rule, upstream string) Enforcer {
	defined := map[string]bool{}
	for _, r := range defaults {
		defined[r.Name] = true
	}
	return definedRules{t, e, defined, upstream}
}

type definedRules struct {
	t        testing.TB
	e        Enforcer
	defined  map[string]bool
	upstream string
}

func (d definedRules) Enforce(rule string, target policy.Target, creds policy.Credentials) bool {
	if !d.defined[rule] {
		d.t.Errorf("the service asked for rule %q, which %s's defaults do not define", rule, d.upstream)
	}
	return d.e.Enforce(rule, target, creds)
}
