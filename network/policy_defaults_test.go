package network_test

import (
	"testing"

	"imagestack/network"
	"imagestack/policy"
	"imagestack/policy/policytest"
)

// TestPolicyDefaultTable guards the table and the rule names the service
// (and operators' Neutron files) use.
func TestPolicyDefaultTable(t *testing.T) {
	policytest.CheckTable(t, network.PolicyDefaults)
	policytest.Required(t, network.PolicyDefaults, `context_is_admin admin_only regular_user shared admin_or_network_owner
		create_network create_network:shared get_network update_network delete_network get_network_ip_availability
		create_subnet get_subnet update_subnet delete_subnet create_port create_port:fixed_ips create_port:mac_address
		create_port:binding:host_id get_port get_port:binding:host_id update_port update_port:device_id delete_port
		create_security_group get_security_group update_security_group delete_security_group create_security_group_rule
		get_security_group_rule delete_security_group_rule get_quota update_quota delete_quota get_floatingip`,
		map[string]string{"admin_only": "rule:context_is_admin", "context_is_advsvc": "role:advsvc"})
}

func TestPolicyDefaultsAsUsersSeeThem(t *testing.T) {
	ownA := policy.Target{"project_id": "A", "tenant_id": "A", "network:project_id": "A", "network:tenant_id": "A", "shared": "False"}
	sharedZ := policy.Target{"project_id": "Z", "tenant_id": "Z", "network:project_id": "Z", "network:tenant_id": "Z", "shared": "True"}
	privateZ := policy.Target{"project_id": "Z", "tenant_id": "Z", "network:project_id": "Z", "network:tenant_id": "Z", "shared": "False"}
	portOnShared := policy.Target{"project_id": "A", "tenant_id": "A", "network:project_id": "Z", "network:tenant_id": "Z", "shared": "True"}
	policytest.Decide(t, network.PolicyDefaults, []policytest.Case{
		{"a reader sees the project's network", "get_network", ownA, policytest.ReaderA, true},
		{"anyone sees a shared network", "get_network", sharedZ, policytest.MemberA, true},
		{"another project's network is unseen", "get_network", privateZ, policytest.MemberA, false},
		{"members create no networks here", "create_network", ownA, policytest.MemberA, false},
		{"admins create networks", "create_network", ownA, policytest.Admin, true},
		{"members create ports", "create_port", portOnShared, policytest.MemberA, true},
		{"readers create no ports", "create_port", portOnShared, policytest.ReaderA, false},
		{"a port on a shared network may name its subnet", "create_port:fixed_ips:subnet_id", portOnShared, policytest.MemberA, true},
		{"but not its address", "create_port:fixed_ips:ip_address", portOnShared, policytest.MemberA, false},
		{"binding is for admins", "create_port:binding:host_id", ownA, policytest.MemberA, false},
		{"members set their port's device", "update_port:device_id", ownA, policytest.MemberA, true},
		{"other projects' groups are unseen", "get_security_group", ownA, policytest.MemberB, false},
		{"quotas are set by admins", "update_quota", ownA, policytest.MemberA, false},
	})
}
