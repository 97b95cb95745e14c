package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"imagestack/policy"
)

var update = flag.Bool("update", false, "rewrite etc/policy.yaml.sample from the built-in defaults")

const samplePath = "../../etc/policy.yaml.sample"

// TestPolicySample keeps etc/policy.yaml.sample equal to the defaults the
// server loads. Regenerate it with:
// go test ./cmd/imagestack -run TestPolicySample -update
func TestPolicySample(t *testing.T) {
	want := policy.Sample(policyDefaults...)
	if *update {
		if err := os.WriteFile(samplePath, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("etc/policy.yaml.sample is out of date: run go test ./cmd/imagestack -run TestPolicySample -update")
	}
	// As shipped, every rule is commented out: loading it changes nothing.
	e, err := policy.NewEnforcer(samplePath, policyDefaults...)
	if err != nil {
		t.Fatalf("the sample does not load: %v", err)
	}
	def, _ := policy.NewEnforcer("", policyDefaults...)
	if len(e.Rules()) != len(def.Rules()) {
		t.Fatalf("the commented-out sample defines rules: %d vs %d", len(e.Rules()), len(def.Rules()))
	}
	// Uncommented, it is a complete policy: with no built-in defaults at
	// all it yields exactly the built-in rules.
	p := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(p, bytes.ReplaceAll(want, []byte("\n#\""), []byte("\n\"")), 0o600); err != nil {
		t.Fatal(err)
	}
	un, err := policy.NewEnforcer(p)
	if err != nil {
		t.Fatalf("the uncommented sample does not load: %v", err)
	}
	for name, check := range def.Rules() {
		if un.Rules()[name] != check {
			t.Errorf("rule %q: sample says %q, built-in is %q", name, un.Rules()[name], check)
		}
	}
}

// Glance's "default" ("": allow) serves undefined Glance rule names only,
// in the server's combination of the three families: Nova denies rules it
// has not registered, and Keystone has no default.
func TestDefaultRuleIsGlancesOnly(t *testing.T) {
	e, err := policy.NewEnforcer("", policyDefaults...)
	if err != nil {
		t.Fatal(err)
	}
	member := policy.Credentials{UserID: "u", ProjectID: "p", Roles: []string{"member", "reader"}}
	target := policy.Target{"project_id": "p", "user_id": "u"}
	if !e.Enforce("some_future_glance_rule", target, member) {
		t.Error("an undefined Glance rule no longer takes Glance's default")
	}
	for _, rule := range []string{"os_compute_api:servers:no-such-rule", "identity:no_such_rule"} {
		if e.Enforce(rule, target, member) {
			t.Errorf("undefined rule %s was allowed by Glance's default", rule)
		}
	}
}
