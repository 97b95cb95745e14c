package glance_test

import (
	"os"
	"path/filepath"
	"testing"

	"imagestack/glance"
	"imagestack/policy"
	"imagestack/policy/policytest"
)

// TestPolicyDefaultTable guards the table itself and the rules the image
// service (and operators' files) name, with Glance's own check strings
// verbatim where spot-checked, so that an operator comparing with upstream
// documentation sees the same text.
func TestPolicyDefaultTable(t *testing.T) {
	policytest.CheckTable(t, glance.PolicyDefaults)
	policytest.Required(t, glance.PolicyDefaults, `default context_is_admin add_image get_image get_images modify_image delete_image upload_image
		download_image publicize_image communitize_image deactivate reactivate copy_image
		delete_image_location get_image_location set_image_location add_member get_member get_members
		modify_member delete_member get_task get_tasks add_task modify_task tasks_api_access
		get_metadef_namespace get_metadef_namespaces add_metadef_namespace get_metadef_object
		get_metadef_tags get_metadef_property list_metadef_resource_types`,
		map[string]string{
			"get_image":  "role:admin or (role:reader and (project_id:%(project_id)s or project_id:%(member_id)s or 'community':%(visibility)s or 'public':%(visibility)s or 'shared':%(visibility)s))",
			"add_image":  "role:admin or (role:member and project_id:%(project_id)s and project_id:%(owner)s)",
			"get_member": "role:admin or role:reader and (project_id:%(project_id)s or project_id:%(member_id)s)",
		})
}

// image is Glance's target for an existing image.
func image(owner, visibility string) policy.Target {
	return policy.Target{"project_id": owner, "owner": owner, "visibility": visibility}
}

// shared is an image of A's shared with B (member_id is B's project).
var shared = policy.Target{"project_id": "A", "owner": "A", "visibility": "shared", "member_id": "B"}

func TestPolicyDefaultsAsUsersSeeThem(t *testing.T) {
	policytest.Decide(t, glance.PolicyDefaults, []policytest.Case{
		{"member of A gets A's private image", "get_image", image("A", "private"), policytest.MemberA, true},
		{"reader of A gets A's private image", "get_image", image("A", "private"), policytest.ReaderA, true},
		{"member of B does not get A's private image", "get_image", image("A", "private"), policytest.MemberB, false},
		{"member of A does not get B's private image", "get_image", image("B", "private"), policytest.MemberA, false},
		{"admin gets any private image", "get_image", image("B", "private"), policytest.Admin, true},
		{"no role, no image even in own project", "get_image", image("A", "private"), policytest.NoRoles, false},
		{"public image for other projects", "get_image", image("A", "public"), policytest.MemberB, true},
		{"community image for other projects", "get_image", image("A", "community"), policytest.MemberB, true},
		{"image member gets shared image", "get_image", shared, policytest.MemberB, true},
		{"member may not publicize", "publicize_image", image("A", "private"), policytest.MemberA, false},
		{"admin may publicize", "publicize_image", image("A", "private"), policytest.Admin, true},
		{"owner may communitize", "communitize_image", image("A", "private"), policytest.MemberA, true},
		{"reader may not add an image", "add_image", image("A", "private"), policytest.ReaderA, false},
		{"member adds an image for own project", "add_image", image("A", "private"), policytest.MemberA, true},
		{"member may not add an image owned by another", "add_image", policy.Target{"project_id": "A", "owner": "B"}, policytest.MemberA, false},
		{"admin adds an image for another project", "add_image", policy.Target{"project_id": "B", "owner": "B"}, policytest.Admin, true},
		{"reader may list images", "get_images", policy.Target{"project_id": "A"}, policytest.ReaderA, true},
		{"owner may modify", "modify_image", image("A", "private"), policytest.MemberA, true},
		{"reader may not modify", "modify_image", image("A", "private"), policytest.ReaderA, false},
		{"other project may not modify a public image", "modify_image", image("A", "public"), policytest.MemberB, false},
		{"owner may delete", "delete_image", image("A", "private"), policytest.MemberA, true},
		{"other project may not delete a public image", "delete_image", image("A", "public"), policytest.MemberB, false},
		{"owner uploads", "upload_image", image("A", "private"), policytest.MemberA, true},
		{"reader may not download", "download_image", image("A", "public"), policytest.ReaderA, false},
		{"member of another project downloads public", "download_image", image("A", "public"), policytest.MemberB, true},
		{"image member downloads shared", "download_image", shared, policytest.MemberB, true},
		{"owner deactivates", "deactivate", image("A", "private"), policytest.MemberA, true},
		{"other project may not reactivate", "reactivate", image("A", "public"), policytest.MemberB, false},
		{"copy-image is admin only", "copy_image", image("A", "public"), policytest.MemberA, false},
		{"deleting locations is admin only", "delete_image_location", image("A", "private"), policytest.MemberA, false},
		{"owner shares", "add_member", shared, policytest.MemberA, true},
		{"member cannot share on", "add_member", shared, policytest.MemberB, false},
		{"image member accepts", "modify_member", shared, policytest.MemberB, true},
		{"owner cannot accept for the member", "modify_member", shared, policytest.MemberA, false},
		{"image member lists members", "get_members", shared, policytest.MemberB, true},
		{"stranger lists no members", "get_members", image("A", "shared"), policy.Credentials{ProjectID: "C", Roles: []string{"reader"}}, false},
		{"tasks API is admin only", "tasks_api_access", nil, policytest.MemberA, false},
		{"admin uses the tasks API", "tasks_api_access", nil, policytest.Admin, true},
		{"public namespace for readers", "get_metadef_namespace", policy.Target{"project_id": "Z", "visibility": "public"}, policytest.ReaderA, true},
		{"private namespace of another project", "get_metadef_namespace", policy.Target{"project_id": "Z", "visibility": "private"}, policytest.ReaderA, false},
		{"metadef writes are admin only", "add_metadef_namespace", nil, policytest.MemberA, false},
	})
}

// TestPolicyOperatorOverride: a Glance-style policy file restricting image
// creation to admins takes effect over the defaults.
func TestPolicyOperatorOverride(t *testing.T) {
	p := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(p, []byte("\"add_image\": \"rule:context_is_admin\"\n\"default\": \"!\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e, err := policy.NewEnforcer(p, glance.PolicyDefaults)
	if err != nil {
		t.Fatal(err)
	}
	if e.Enforce("add_image", image("A", "private"), policytest.MemberA) || !e.Enforce("add_image", image("A", "private"), policytest.Admin) {
		t.Fatal("override of add_image not applied")
	}
	// Glance's tasks rules point at "default", now "!".
	if e.Enforce("get_task", nil, policytest.Admin) {
		t.Fatal("get_task should follow the overridden default rule")
	}
}
