package network

import "imagestack/policy"

// Neutron's targets, which the network service builds and these rules read:
//
//	project_id, tenant_id  the project owning the resource (for a create,
//	                       the project it is created in)
//	network:project_id,    the project owning the resource's network
//	network:tenant_id
//	shared                 "True" when the resource's network is shared
//
// Neutron's "shared" rule reads field:networks:shared=True, a check this
// policy language does not have; here it reads the target's shared key.
// Neutron's admin_or_owner and default are left to Nova's and Glance's
// definitions, which mean the same for these targets; its "owner" is
// Keystone's name for another rule, so it is spelled out where Neutron
// uses it.
//
// The check strings are Neutron's new defaults (2023.2), with one
// deliberate change: networks and subnets are created, changed and deleted
// by admins only (imagestack manages their host side), where Neutron lets
// project members manage their own.
const (
	qAdmin        = "rule:admin_only"
	qMember       = "(rule:admin_only) or (role:member and project_id:%(project_id)s)"
	qReader       = "(rule:admin_only) or (role:reader and project_id:%(project_id)s)"
	qNetMember    = "(rule:admin_only) or (role:member and project_id:%(network:project_id)s)"
	qReaderShared = qReader + " or rule:shared"
	qAdvsvc       = " or rule:context_is_advsvc"
)

// PolicyDefaults are Neutron's default rules for the resources served,
// named as Neutron names them so that a Neutron policy.yaml's rules for
// them apply.
var PolicyDefaults = append(append(append(baseRules, networkRules...), portRules...), groupRules...)

var baseRules = []policy.Rule{
	{Name: "context_is_admin", Check: "role:admin", Description: "Who is an administrator: what is_admin:True tests."},
	{Name: "context_is_advsvc", Check: "role:advsvc", Description: "Advanced services (may manage any port)."},
	{Name: "admin_or_network_owner", Check: "rule:context_is_admin or tenant_id:%(network:tenant_id)s", Description: "Admins, or the owner of the resource's network."},
	{Name: "admin_owner_or_network_owner", Check: "tenant_id:%(tenant_id)s or rule:admin_or_network_owner", Description: "Admins, the resource's owner or its network's owner."},
	{Name: "network_owner", Check: "tenant_id:%(network:tenant_id)s", Description: "The owner of the resource's network."},
	{Name: "admin_only", Check: "rule:context_is_admin", Description: "Admins only."},
	{Name: "regular_user", Check: "", Description: "Anyone with a token."},
	{Name: "shared", Check: "'True':%(shared)s", Description: "The resource's network is shared."},
}

var networkRules = []policy.Rule{
	{Name: "create_network", Check: qAdmin, Description: "Create a network (POST /v2.0/networks)."},
	{Name: "create_network:shared", Check: qAdmin, Description: "Create a shared network."},
	{Name: "create_network:router:external", Check: qAdmin, Description: "Create an external network."},
	{Name: "get_network", Check: qReaderShared + qAdvsvc, Description: "Show or list networks (GET /v2.0/networks)."},
	{Name: "update_network", Check: qAdmin, Description: "Update a network (PUT /v2.0/networks/{id})."},
	{Name: "update_network:shared", Check: qAdmin, Description: "Share or unshare a network."},
	{Name: "delete_network", Check: qAdmin, Description: "Delete a network (DELETE /v2.0/networks/{id})."},
	{Name: "get_network_ip_availability", Check: qAdmin, Description: "Show network IP availability (GET /v2.0/network-ip-availabilities)."},
	{Name: "create_subnet", Check: qAdmin, Description: "Create a subnet (POST /v2.0/subnets)."},
	{Name: "get_subnet", Check: qReaderShared, Description: "Show or list subnets (GET /v2.0/subnets)."},
	{Name: "update_subnet", Check: qAdmin, Description: "Update a subnet (PUT /v2.0/subnets/{id})."},
	{Name: "delete_subnet", Check: qAdmin, Description: "Delete a subnet (DELETE /v2.0/subnets/{id})."},
	{Name: "get_quota", Check: qReader, Description: "Show a project's quotas (GET /v2.0/quotas/{project_id})."},
	{Name: "update_quota", Check: qAdmin, Description: "Set a project's quotas (PUT /v2.0/quotas/{project_id})."},
	{Name: "delete_quota", Check: qAdmin, Description: "Reset a project's quotas (DELETE /v2.0/quotas/{project_id})."},
	{Name: "get_floatingip", Check: qReader, Description: "Show or list floating IPs (GET /v2.0/floatingips)."},
	{Name: "create_floatingip", Check: qMember, Description: "Create a floating IP (POST /v2.0/floatingips)."},
}

var portRules = []policy.Rule{
	{Name: "create_port", Check: qMember + qAdvsvc, Description: "Create a port (POST /v2.0/ports)."},
	{Name: "create_port:device_owner", Check: "rule:context_is_advsvc or rule:admin_or_network_owner", Description: "Create a port whose device_owner starts with network: (checked only then, as Neutron's not rule:network_device does)."},
	{Name: "create_port:mac_address", Check: qNetMember + qAdvsvc, Description: "Create a port with a given MAC address."},
	{Name: "create_port:fixed_ips", Check: qNetMember + qAdvsvc + " or rule:shared", Description: "Create a port with given fixed IPs."},
	{Name: "create_port:fixed_ips:ip_address", Check: qNetMember + qAdvsvc, Description: "Create a port with a given IP address."},
	{Name: "create_port:fixed_ips:subnet_id", Check: qNetMember + qAdvsvc + " or rule:shared", Description: "Create a port on a given subnet."},
	{Name: "create_port:port_security_enabled", Check: qNetMember + qAdvsvc, Description: "Create a port with port security set."},
	{Name: "create_port:binding:host_id", Check: qAdmin, Description: "Create a port bound to a host."},
	{Name: "get_port", Check: qReader + qAdvsvc, Description: "Show or list ports (GET /v2.0/ports)."},
	{Name: "get_port:binding:host_id", Check: qAdmin, Description: "See a port's binding:host_id."},
	{Name: "update_port", Check: qMember + qAdvsvc, Description: "Update a port (PUT /v2.0/ports/{id})."},
	{Name: "update_port:device_id", Check: qMember + qAdvsvc, Description: "Change a port's device_id."},
	{Name: "update_port:device_owner", Check: "rule:context_is_advsvc or rule:admin_or_network_owner", Description: "Give a port a device_owner starting with network: (checked only then)."},
	{Name: "update_port:mac_address", Check: qAdmin + qAdvsvc, Description: "Change a port's MAC address."},
	{Name: "update_port:fixed_ips", Check: qNetMember + qAdvsvc, Description: "Change a port's fixed IPs."},
	{Name: "update_port:binding:host_id", Check: qAdmin, Description: "Bind a port to a host."},
	{Name: "delete_port", Check: qMember + qAdvsvc, Description: "Delete a port (DELETE /v2.0/ports/{id})."},
}

var groupRules = []policy.Rule{
	{Name: "create_security_group", Check: qMember, Description: "Create a security group (POST /v2.0/security-groups)."},
	{Name: "get_security_group", Check: qReader, Description: "Show or list security groups."},
	{Name: "update_security_group", Check: qMember, Description: "Update a security group."},
	{Name: "delete_security_group", Check: qMember, Description: "Delete a security group."},
	{Name: "create_security_group_rule", Check: qMember, Description: "Create a security group rule (POST /v2.0/security-group-rules)."},
	{Name: "get_security_group_rule", Check: qReader, Description: "Show or list security group rules."},
	{Name: "delete_security_group_rule", Check: qMember, Description: "Delete a security group rule."},
}
