package policy_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"imagestack/policy"
	"imagestack/policy/keystone"
)

var update = flag.Bool("update", false, "rewrite etc/policy.yaml.sample from the built-in defaults")

// allDefaults are the lists the server loads (cmd/imagestack), in its order.
func allDefaults() [][]policy.Rule {
	return [][]policy.Rule{policy.GlanceDefaults, policy.NovaDefaults, keystone.Defaults}
}

const samplePath = "../etc/policy.yaml.sample"

// TestSample keeps etc/policy.yaml.sample equal to the built-in defaults.
// Regenerate it with: go test ./policy -run TestSample -update
func TestSample(t *testing.T) {
	want := policy.Sample(allDefaults()...)
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
		t.Fatal("etc/policy.yaml.sample is out of date: run go test ./policy -run TestSample -update")
	}
	// As shipped, every rule is commented out: loading it changes nothing.
	e, err := policy.NewEnforcer(samplePath, allDefaults()...)
	if err != nil {
		t.Fatalf("the sample does not load: %v", err)
	}
	def, _ := policy.NewEnforcer("", allDefaults()...)
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

// TestDefaultTables guards the tables themselves: names unique within a
// list, a description for the sample, and the rules other packages (and
// operators' files) name.
func TestDefaultTables(t *testing.T) {
	for setName, set := range map[string][]policy.Rule{"glance": policy.GlanceDefaults, "nova": policy.NovaDefaults} {
		seen := map[string]bool{}
		for _, r := range set {
			if seen[r.Name] {
				t.Errorf("%s: %q defined twice", setName, r.Name)
			}
			seen[r.Name] = true
			if strings.TrimSpace(r.Description) == "" {
				t.Errorf("%s: %q has no description", setName, r.Name)
			}
			if _, err := policy.ParseCheck(r.Check); err != nil {
				t.Errorf("%s: %q: %v", setName, r.Name, err)
			}
		}
	}
	e, err := policy.NewEnforcer("", allDefaults()...)
	if err != nil {
		t.Fatal(err)
	}
	rules := e.Rules()
	required := strings.Fields(`default context_is_admin add_image get_image get_images modify_image
		delete_image upload_image download_image publicize_image communitize_image deactivate reactivate
		copy_image delete_image_location get_image_location set_image_location add_member get_member
		get_members modify_member delete_member get_task get_tasks add_task modify_task tasks_api_access
		get_metadef_namespace get_metadef_namespaces add_metadef_namespace get_metadef_object
		get_metadef_tags get_metadef_property list_metadef_resource_types
		admin_or_owner admin_api project_member_api project_reader_api project_member_or_admin project_reader_or_admin
		os_compute_api:servers:index os_compute_api:servers:detail os_compute_api:servers:show
		os_compute_api:servers:create os_compute_api:servers:delete os_compute_api:servers:update
		os_compute_api:servers:start os_compute_api:servers:stop os_compute_api:servers:reboot
		os_compute_api:servers:rebuild os_compute_api:servers:create_image os_compute_api:servers:resize
		os_compute_api:os-flavor-manage:create os_compute_api:os-flavor-manage:delete
		os_compute_api:os-flavor-extra-specs:index os_compute_api:os-flavor-extra-specs:show
		os_compute_api:os-flavor-extra-specs:create os_compute_api:os-flavor-extra-specs:update
		os_compute_api:os-flavor-extra-specs:delete os_compute_api:os-console-output
		os_compute_api:os-keypairs:index os_compute_api:os-keypairs:create os_compute_api:os-keypairs:show
		os_compute_api:os-keypairs:delete os_compute_api:os-availability-zone:list os_compute_api:limits
		os_compute_api:server-metadata:index os_compute_api:server-metadata:show
		os_compute_api:server-metadata:create os_compute_api:server-metadata:update
		os_compute_api:server-metadata:update_all os_compute_api:server-metadata:delete
		os_compute_api:os-quota-sets:show os_compute_api:os-quota-sets:update
		os_compute_api:os-quota-sets:defaults os_compute_api:os-quota-sets:delete os_compute_api:os-quota-sets:detail`)
	for _, name := range required {
		if _, ok := rules[name]; !ok {
			t.Errorf("no default for %q", name)
		}
	}
	// Spot checks against Glance's and Nova's own check strings, verbatim,
	// so that an operator comparing with upstream documentation sees the
	// same text.
	for name, want := range map[string]string{
		"get_image":                       "role:admin or (role:reader and (project_id:%(project_id)s or project_id:%(member_id)s or 'community':%(visibility)s or 'public':%(visibility)s or 'shared':%(visibility)s))",
		"add_image":                       "role:admin or (role:member and project_id:%(project_id)s and project_id:%(owner)s)",
		"get_member":                      "role:admin or role:reader and (project_id:%(project_id)s or project_id:%(member_id)s)",
		"os_compute_api:os-keypairs:show": "(rule:context_is_admin) or user_id:%(user_id)s",
		"project_reader_or_admin":         "rule:project_reader_api or rule:context_is_admin",
	} {
		if rules[name] != want {
			t.Errorf("%s = %q, want %q", name, rules[name], want)
		}
	}
}

// Callers as the image and compute APIs see them. Keystone's token carries
// implied roles, so a member also has reader and an admin all three.
var (
	memberA = policy.Credentials{UserID: "ua", ProjectID: "A", Roles: []string{"member", "reader"}}
	readerA = policy.Credentials{UserID: "ra", ProjectID: "A", Roles: []string{"reader"}}
	memberB = policy.Credentials{UserID: "ub", ProjectID: "B", Roles: []string{"member", "reader"}}
	admin   = policy.Credentials{UserID: "adm", ProjectID: "Z", Roles: []string{"admin", "member", "reader"}}
	noRoles = policy.Credentials{UserID: "nr", ProjectID: "A"}
)

// image is Glance's target for an existing image.
func image(owner, visibility string) policy.Target {
	return policy.Target{"project_id": owner, "owner": owner, "visibility": visibility}
}

// shared is an image of A's shared with B (member_id is B's project).
var shared = policy.Target{"project_id": "A", "owner": "A", "visibility": "shared", "member_id": "B"}

func TestGlanceDefaultsAsUsersSeeThem(t *testing.T) {
	e, err := policy.NewEnforcer("", allDefaults()...)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		rule   string
		target policy.Target
		creds  policy.Credentials
		want   bool
	}{
		{"member of A gets A's private image", "get_image", image("A", "private"), memberA, true},
		{"reader of A gets A's private image", "get_image", image("A", "private"), readerA, true},
		{"member of B does not get A's private image", "get_image", image("A", "private"), memberB, false},
		{"member of A does not get B's private image", "get_image", image("B", "private"), memberA, false},
		{"admin gets any private image", "get_image", image("B", "private"), admin, true},
		{"no role, no image even in own project", "get_image", image("A", "private"), noRoles, false},
		{"public image for other projects", "get_image", image("A", "public"), memberB, true},
		{"community image for other projects", "get_image", image("A", "community"), memberB, true},
		{"image member gets shared image", "get_image", shared, memberB, true},
		{"member may not publicize", "publicize_image", image("A", "private"), memberA, false},
		{"admin may publicize", "publicize_image", image("A", "private"), admin, true},
		{"owner may communitize", "communitize_image", image("A", "private"), memberA, true},
		{"reader may not add an image", "add_image", image("A", "private"), readerA, false},
		{"member adds an image for own project", "add_image", image("A", "private"), memberA, true},
		{"member may not add an image owned by another", "add_image", policy.Target{"project_id": "A", "owner": "B"}, memberA, false},
		{"admin adds an image for another project", "add_image", policy.Target{"project_id": "B", "owner": "B"}, admin, true},
		{"reader may list images", "get_images", policy.Target{"project_id": "A"}, readerA, true},
		{"owner may modify", "modify_image", image("A", "private"), memberA, true},
		{"reader may not modify", "modify_image", image("A", "private"), readerA, false},
		{"other project may not modify a public image", "modify_image", image("A", "public"), memberB, false},
		{"owner may delete", "delete_image", image("A", "private"), memberA, true},
		{"other project may not delete a public image", "delete_image", image("A", "public"), memberB, false},
		{"owner uploads", "upload_image", image("A", "private"), memberA, true},
		{"reader may not download", "download_image", image("A", "public"), readerA, false},
		{"member of another project downloads public", "download_image", image("A", "public"), memberB, true},
		{"image member downloads shared", "download_image", shared, memberB, true},
		{"owner deactivates", "deactivate", image("A", "private"), memberA, true},
		{"other project may not reactivate", "reactivate", image("A", "public"), memberB, false},
		{"copy-image is admin only", "copy_image", image("A", "public"), memberA, false},
		{"deleting locations is admin only", "delete_image_location", image("A", "private"), memberA, false},
		{"owner shares", "add_member", shared, memberA, true},
		{"member cannot share on", "add_member", shared, memberB, false},
		{"image member accepts", "modify_member", shared, memberB, true},
		{"owner cannot accept for the member", "modify_member", shared, memberA, false},
		{"image member lists members", "get_members", shared, memberB, true},
		{"stranger lists no members", "get_members", image("A", "shared"), policy.Credentials{ProjectID: "C", Roles: []string{"reader"}}, false},
		{"tasks API is admin only", "tasks_api_access", nil, memberA, false},
		{"admin uses the tasks API", "tasks_api_access", nil, admin, true},
		{"public namespace for readers", "get_metadef_namespace", policy.Target{"project_id": "Z", "visibility": "public"}, readerA, true},
		{"private namespace of another project", "get_metadef_namespace", policy.Target{"project_id": "Z", "visibility": "private"}, readerA, false},
		{"metadef writes are admin only", "add_metadef_namespace", nil, memberA, false},
	}
	for _, c := range cases {
		if got := e.Enforce(c.rule, c.target, c.creds); got != c.want {
			t.Errorf("%s: Enforce(%s) = %v, want %v", c.name, c.rule, got, c.want)
		}
	}
}

func TestNovaDefaultsAsUsersSeeThem(t *testing.T) {
	e, err := policy.NewEnforcer("", allDefaults()...)
	if err != nil {
		t.Fatal(err)
	}
	inA := policy.Target{"project_id": "A"}
	cases := []struct {
		name   string
		rule   string
		target policy.Target
		creds  policy.Credentials
		want   bool
	}{
		{"member creates a server in own project", "os_compute_api:servers:create", inA, memberA, true},
		{"reader may not create a server", "os_compute_api:servers:create", inA, readerA, false},
		{"reader lists servers", "os_compute_api:servers:detail", inA, readerA, true},
		{"reader shows own project's server", "os_compute_api:servers:show", inA, readerA, true},
		{"other project may not show a server", "os_compute_api:servers:show", inA, memberB, false},
		{"other project may not stop a server", "os_compute_api:servers:stop", inA, memberB, false},
		{"reader may not reboot", "os_compute_api:servers:reboot", inA, readerA, false},
		{"admin deletes anyone's server", "os_compute_api:servers:delete", inA, admin, true},
		{"all_tenants is admin only", "os_compute_api:servers:detail:get_all_tenants", inA, memberA, false},
		{"forced host is admin only", "os_compute_api:servers:create:forced_host", inA, memberA, false},
		{"cross-cell resize is off", "compute:servers:resize:cross_cell", inA, admin, false},
		{"flavor create is admin only", "os_compute_api:os-flavor-manage:create", inA, memberA, false},
		{"admin creates flavors", "os_compute_api:os-flavor-manage:create", inA, admin, true},
		{"readers see extra specs", "os_compute_api:os-flavor-extra-specs:index", inA, readerA, true},
		{"extra spec writes are admin only", "os_compute_api:os-flavor-extra-specs:update", inA, memberA, false},
		{"console output needs member", "os_compute_api:os-console-output", inA, readerA, false},
		{"own key pair", "os_compute_api:os-keypairs:show", policy.Target{"user_id": "ua"}, memberA, true},
		{"another user's key pair", "os_compute_api:os-keypairs:show", policy.Target{"user_id": "ub"}, memberA, false},
		{"admin sees any key pair", "os_compute_api:os-keypairs:delete", policy.Target{"user_id": "ub"}, admin, true},
		{"anyone lists zones", "os_compute_api:os-availability-zone:list", inA, noRoles, true},
		{"zone detail is admin only", "os_compute_api:os-availability-zone:detail", inA, memberA, false},
		{"anyone sees own limits", "os_compute_api:limits", nil, noRoles, true},
		{"metadata read by reader", "os_compute_api:server-metadata:index", inA, readerA, true},
		{"metadata write needs member", "os_compute_api:server-metadata:update_all", inA, readerA, false},
		{"quota show for own project", "os_compute_api:os-quota-sets:show", inA, readerA, true},
		{"quota show for another project", "os_compute_api:os-quota-sets:show", inA, memberB, false},
		{"quota update is admin only", "os_compute_api:os-quota-sets:update", inA, memberA, false},
		{"legacy admin_or_owner", "admin_or_owner", inA, noRoles, true},
	}
	for _, c := range cases {
		if got := e.Enforce(c.rule, c.target, c.creds); got != c.want {
			t.Errorf("%s: Enforce(%s) = %v, want %v", c.name, c.rule, got, c.want)
		}
	}
}

// TestOperatorOverride: a Glance-style policy file restricting image
// creation to admins takes effect over the defaults.
func TestOperatorOverride(t *testing.T) {
	p := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(p, []byte("\"add_image\": \"rule:context_is_admin\"\n\"default\": \"!\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e, err := policy.NewEnforcer(p, allDefaults()...)
	if err != nil {
		t.Fatal(err)
	}
	if e.Enforce("add_image", image("A", "private"), memberA) || !e.Enforce("add_image", image("A", "private"), admin) {
		t.Fatal("override of add_image not applied")
	}
	// Glance's tasks rules point at "default", now "!".
	if e.Enforce("get_task", nil, admin) {
		t.Fatal("get_task should follow the overridden default rule")
	}
}
