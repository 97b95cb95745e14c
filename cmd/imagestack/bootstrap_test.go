package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"imagestack/policy/keystone"
)

// TestBootstrapPasswordsKept: passwords are made once, kept private, and a
// name added later gets one without changing the others.
func TestBootstrapPasswordsKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "bootstrap-passwords.json")
	first, err := loadOrCreatePasswords(path, []string{"admin"})
	if err != nil || len(first["admin"]) != 24 {
		t.Fatalf("first: %v %q", err, first)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("password file: %v %v", fi, err)
	}
	again, err := loadOrCreatePasswords(path, []string{"admin", "demo"})
	if err != nil || again["admin"] != first["admin"] || again["demo"] == "" || again["demo"] == again["admin"] {
		t.Fatalf("second: %v %q (first %q)", err, again, first)
	}
}

// TestCloudsYAML: one cloud per account, written privately (it holds passwords).
func TestCloudsYAML(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clouds.yaml")
	pw := map[string]string{"admin": "a-pw", "demo": "d-pw"}
	if err := writeCloudsYAML(path, "http://id/v3", "RegionOne", keystone.DefaultAccounts, pw); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"  admin:\n", "  demo:\n", `password: "d-pw"`, `auth_url: "http://id/v3"`, `region_name: "RegionOne"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("clouds.yaml lacks %q:\n%s", want, data)
		}
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("clouds.yaml mode %v", fi.Mode().Perm())
	}
}
