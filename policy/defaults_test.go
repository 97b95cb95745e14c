package policy_test

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"imagestack/policy"
	"imagestack/policy/keystone"
)

var update = flag.Bool("update", false, "rewrite etc/policy.yaml.sample from the built-in defaults")

func allDefaults() [][]policy.Rule {
	return [][]policy.Rule{policy.GlanceDefaults, policy.NovaDefaults, keystone.Defaults}
}

// TestSample keeps etc/policy.yaml.sample equal to the built-in defaults
// (regenerate with `go test ./policy -run TestSample -update`).
func TestSample(t *testing.T) {
	want := policy.Sample(allDefaults()...)
	const path = "../etc/policy.yaml.sample"
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("etc/policy.yaml.sample is out of date: run go test ./policy -run TestSample -update")
	}
	// The sample, uncommented, must itself be a valid policy file.
	p := t.TempDir() + "/policy.yaml"
	uncommented := bytes.ReplaceAll(want, []byte("\n#\""), []byte("\n\""))
	if err := os.WriteFile(p, uncommented, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := policy.NewEnforcer(p); err != nil {
		t.Fatalf("uncommented sample does not load: %v", err)
	}
}

// TestGlanceDefaultsAsUsersSeeThem checks the image rules with Glance's target
// keys: project_id is the image owner, member_id the caller's membership.
func TestGlanceDefaultsAsUsersSeeThem(t *testing.T) {
	e, err := policy.NewEnforcer("", allDefaults()...)
	if err != nil {
		t.Fatal(err)
	}
	memberA := policy.Credentials{ProjectID: "A", Roles: []string{"member", "reader"}}
	readerA := policy.Credentials{ProjectID: "A", Roles: []string{"reader"}}
	memberB := policy.Credentials{ProjectID: "B", Roles: []string{"member", "reader"}}
	admin := policy.Credentials{ProjectID: "Z", Roles: []string{"admin", "member", "reader"}}
	img := func(owner, vis string) policy.Target {
		return policy.Target{"project_id": owner, "owner": owner, "visibility": vis}
	}
	cases := []struct {
		name   string
		rule   string
		target policy.Target
		creds  policy.Credentials
		want   bool
	}{
		{"owner sees private", "get_image", img("A", "private"), memberA, true},
		{"other project does not see private", "get_image", img("A", "private"), memberB, false},
		{"admin sees private", "get_image", img("A", "private"), admin, true},
		{"anyone sees public", "get_image", img("A", "public"), memberB, true},
		{"accepted member sees shared", "get_image", policy.Target{"project_id": "A", "visibility": "shared", "member_id": "B"}, memberB, true},
		{"member may not publicize", "publicize_image", img("A", "private"), memberA, false},
		{"admin may publicize", "publicize_image", img("A", "private"), admin, true},
		{"owner may communitize", "communitize_image", img("A", "private"), memberA, true},
		{"reader may not create", "add_image", policy.Target{"project_id": "A", "owner": "A"}, readerA, false},
		{"member creates own image", "add_image", policy.Target{"project_id": "A", "owner": "A"}, memberA, true},
		{"member cannot create for another owner", "add_image", policy.Target{"project_id": "A", "owner": "B"}, memberA, false},
		{"owner may delete", "delete_image", img("A", "private"), memberA, true},
		{"other may not delete public", "delete_image", img("A", "public"), memberB, false},
		{"reader may not download... unless member role", "download_image", img("A", "public"), readerA, false},
		{"member downloads public", "download_image", img("A", "public"), memberB, true},
		{"image member accepts", "modify_member", policy.Target{"project_id": "A", "member_id": "B"}, memberB, true},
		{"owner cannot accept for member", "modify_member", policy.Target{"project_id": "A", "member_id": "B"}, memberA, false},
		{"copy-image is admin only", "copy_image", img("A", "public"), memberA, false},
		{"server create in own project", "os_compute_api:servers:create", policy.Target{"project_id": "A"}, memberA, true},
		{"server create as reader", "os_compute_api:servers:create", policy.Target{"project_id": "A"}, readerA, false},
		{"server show in other project", "os_compute_api:servers:show", policy.Target{"project_id": "A"}, memberB, false},
		{"flavor create is admin only", "os_compute_api:os-flavor-manage:create", policy.Target{"project_id": "A"}, memberA, false},
		{"flavor create as admin", "os_compute_api:os-flavor-manage:create", policy.Target{"project_id": "A"}, admin, true},
		{"limits for anyone", "os_compute_api:limits", nil, readerA, true},
		{"identity admin rule", "identity:create_project", nil, memberA, false},
	}
	for _, c := range cases {
		if got := e.Enforce(c.rule, c.target, c.creds); got != c.want {
			t.Errorf("%s: Enforce(%s) = %v, want %v", c.name, c.rule, got, c.want)
		}
	}
}
