package compute_test

import (
	"testing"

	"imagestack/compute"
	"imagestack/policy"
	"imagestack/policy/policytest"
)

// TestPolicyDefaultTable guards the table itself and the rules the compute
// service (and operators' files) name, with Nova's own check strings
// verbatim where spot-checked.
func TestPolicyDefaultTable(t *testing.T) {
	policytest.CheckTable(t, compute.PolicyDefaults)
	policytest.Required(t, compute.PolicyDefaults, `context_is_admin admin_or_owner admin_api project_member_api project_reader_api
		project_member_or_admin project_reader_or_admin os_compute_api:servers:index
		os_compute_api:servers:detail os_compute_api:servers:show os_compute_api:servers:create
		os_compute_api:servers:delete os_compute_api:servers:update os_compute_api:servers:start
		os_compute_api:servers:stop os_compute_api:servers:reboot os_compute_api:servers:rebuild
		os_compute_api:servers:create_image os_compute_api:servers:resize
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
		os_compute_api:os-quota-sets:defaults os_compute_api:os-quota-sets:delete
		os_compute_api:os-quota-sets:detail os_compute_api:os-evacuate os_compute_api:os-migrate-server:migrate
		os_compute_api:os-migrate-server:migrate_live os_compute_api:os-migrations:index
		os_compute_api:servers:migrations:index os_compute_api:servers:migrations:show`,
		map[string]string{
			"os_compute_api:os-keypairs:show": "(rule:context_is_admin) or user_id:%(user_id)s",
			"project_reader_or_admin":         "rule:project_reader_api or rule:context_is_admin",
		})
}

func TestPolicyDefaultsAsUsersSeeThem(t *testing.T) {
	inA := policy.Target{"project_id": "A"}
	policytest.Decide(t, compute.PolicyDefaults, []policytest.Case{
		{"member creates a server in own project", "os_compute_api:servers:create", inA, policytest.MemberA, true},
		{"reader may not create a server", "os_compute_api:servers:create", inA, policytest.ReaderA, false},
		{"reader lists servers", "os_compute_api:servers:detail", inA, policytest.ReaderA, true},
		{"reader shows own project's server", "os_compute_api:servers:show", inA, policytest.ReaderA, true},
		{"other project may not show a server", "os_compute_api:servers:show", inA, policytest.MemberB, false},
		{"other project may not stop a server", "os_compute_api:servers:stop", inA, policytest.MemberB, false},
		{"reader may not reboot", "os_compute_api:servers:reboot", inA, policytest.ReaderA, false},
		{"admin deletes anyone's server", "os_compute_api:servers:delete", inA, policytest.Admin, true},
		{"all_tenants is admin only", "os_compute_api:servers:detail:get_all_tenants", inA, policytest.MemberA, false},
		{"forced host is admin only", "os_compute_api:servers:create:forced_host", inA, policytest.MemberA, false},
		{"cross-cell resize is off", "compute:servers:resize:cross_cell", inA, policytest.Admin, false},
		{"flavor create is admin only", "os_compute_api:os-flavor-manage:create", inA, policytest.MemberA, false},
		{"evacuate is admin only", "os_compute_api:os-evacuate", inA, policytest.MemberA, false},
		{"server migrations are admin only", "os_compute_api:servers:migrations:index", inA, policytest.MemberA, false},
		{"admin lists migrations", "os_compute_api:os-migrations:index", inA, policytest.Admin, true},
		{"admin creates flavors", "os_compute_api:os-flavor-manage:create", inA, policytest.Admin, true},
		{"readers see extra specs", "os_compute_api:os-flavor-extra-specs:index", inA, policytest.ReaderA, true},
		{"extra spec writes are admin only", "os_compute_api:os-flavor-extra-specs:update", inA, policytest.MemberA, false},
		{"console output needs member", "os_compute_api:os-console-output", inA, policytest.ReaderA, false},
		{"own key pair", "os_compute_api:os-keypairs:show", policy.Target{"user_id": "ua"}, policytest.MemberA, true},
		{"another user's key pair", "os_compute_api:os-keypairs:show", policy.Target{"user_id": "ub"}, policytest.MemberA, false},
		{"admin sees any key pair", "os_compute_api:os-keypairs:delete", policy.Target{"user_id": "ub"}, policytest.Admin, true},
		{"anyone lists zones", "os_compute_api:os-availability-zone:list", inA, policytest.NoRoles, true},
		{"zone detail is admin only", "os_compute_api:os-availability-zone:detail", inA, policytest.MemberA, false},
		{"anyone sees own limits", "os_compute_api:limits", nil, policytest.NoRoles, true},
		{"metadata read by reader", "os_compute_api:server-metadata:index", inA, policytest.ReaderA, true},
		{"metadata write needs member", "os_compute_api:server-metadata:update_all", inA, policytest.ReaderA, false},
		{"quota show for own project", "os_compute_api:os-quota-sets:show", inA, policytest.ReaderA, true},
		{"quota show for another project", "os_compute_api:os-quota-sets:show", inA, policytest.MemberB, false},
		{"quota update is admin only", "os_compute_api:os-quota-sets:update", inA, policytest.MemberA, false},
		{"legacy admin_or_owner", "admin_or_owner", inA, policytest.NoRoles, true},
	})
}
