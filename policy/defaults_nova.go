package policy

// Nova's persona rules (Zed); the compute rules below refer to them.
const (
	novaAdmin          = "rule:context_is_admin"
	novaMemberOrAdmin  = "rule:project_member_or_admin"
	novaReaderOrAdmin  = "rule:project_reader_or_admin"
	novaAny            = "@"
	novaKeypairOwner   = "(rule:context_is_admin) or user_id:%(user_id)s"
	novaServersPrefix  = "os_compute_api:servers:"
	novaFlavorExtraPfx = "os_compute_api:os-flavor-extra-specs:"
)

// NovaDefaults are Nova's (Zed) default rules for the compute API subset. In
// Nova's targets %(project_id)s is the server's (or requested) project and
// %(user_id)s the owning user.
var NovaDefaults = []Rule{
	{"context_is_admin", "role:admin", "Who is an administrator (what is_admin:True tests)."},
	{"admin_or_owner", "is_admin:True or project_id:%(project_id)s", "Legacy rule: admins or the owning project."},
	{"admin_api", "is_admin:True", "Legacy rule for admin APIs."},
	{"project_member_api", "role:member and project_id:%(project_id)s", "Members of the owning project."},
	{"project_reader_api", "role:reader and project_id:%(project_id)s", "Readers of the owning project."},
	{"project_member_or_admin", "rule:project_member_api or rule:context_is_admin", "Project members or admins."},
	{"project_reader_or_admin", "rule:project_reader_api or rule:context_is_admin", "Project readers or admins."},

	{novaServersPrefix + "index", novaReaderOrAdmin, "List servers."},
	{novaServersPrefix + "detail", novaReaderOrAdmin, "List servers with details."},
	{novaServersPrefix + "index:get_all_tenants", novaAdmin, "List servers of all projects."},
	{novaServersPrefix + "detail:get_all_tenants", novaAdmin, "List servers of all projects with details."},
	{novaServersPrefix + "allow_all_filters", novaAdmin, "Use every server list filter."},
	{novaServersPrefix + "show", novaReaderOrAdmin, "Show a server."},
	{novaServersPrefix + "show:host_status", novaAdmin, "See a server's host status."},
	{novaServersPrefix + "create", novaMemberOrAdmin, "Create servers."},
	{novaServersPrefix + "create:forced_host", novaAdmin, "Create a server on a given host."},
	{novaServersPrefix + "create:requested_destination", novaAdmin, "Create a server on a requested destination."},
	{novaServersPrefix + "create:attach_volume", novaMemberOrAdmin, "Create a server with volumes."},
	{novaServersPrefix + "create:attach_network", novaMemberOrAdmin, "Create a server with networks."},
	{novaServersPrefix + "create:trusted_certs", novaMemberOrAdmin, "Create a server with trusted certificates."},
	{novaServersPrefix + "create:zero_disk_flavor", novaAdmin, "Create a server from a flavor with no root disk."},
	{novaServersPrefix + "delete", novaMemberOrAdmin, "Delete a server."},
	{novaServersPrefix + "update", novaMemberOrAdmin, "Update a server."},
	{novaServersPrefix + "reboot", novaMemberOrAdmin, "Reboot a server."},
	{novaServersPrefix + "rebuild", novaMemberOrAdmin, "Rebuild a server."},
	{novaServersPrefix + "rebuild:trusted_certs", novaMemberOrAdmin, "Rebuild a server with trusted certificates."},
	{novaServersPrefix + "resize", novaMemberOrAdmin, "Resize a server."},
	{novaServersPrefix + "confirm_resize", novaMemberOrAdmin, "Confirm a resize."},
	{novaServersPrefix + "revert_resize", novaMemberOrAdmin, "Revert a resize."},
	{novaServersPrefix + "create_image", novaMemberOrAdmin, "Snapshot a server into an image."},
	{novaServersPrefix + "create_image:allow_volume_backed", novaMemberOrAdmin, "Snapshot a volume-backed server."},
	{novaServersPrefix + "start", novaMemberOrAdmin, "Start a server."},
	{novaServersPrefix + "stop", novaMemberOrAdmin, "Stop a server."},
	{novaServersPrefix + "trigger_crash_dump", novaMemberOrAdmin, "Trigger a crash dump."},

	{"os_compute_api:os-flavor-manage:create", novaAdmin, "Create a flavor."},
	{"os_compute_api:os-flavor-manage:update", novaAdmin, "Update a flavor."},
	{"os_compute_api:os-flavor-manage:delete", novaAdmin, "Delete a flavor."},
	{novaFlavorExtraPfx + "index", novaReaderOrAdmin, "List a flavor's extra specs."},
	{novaFlavorExtraPfx + "show", novaReaderOrAdmin, "Show a flavor extra spec."},
	{novaFlavorExtraPfx + "create", novaAdmin, "Create flavor extra specs."},
	{novaFlavorExtraPfx + "update", novaAdmin, "Update a flavor extra spec."},
	{novaFlavorExtraPfx + "delete", novaAdmin, "Delete a flavor extra spec."},
	{"os_compute_api:os-flavor-access", novaAdmin, "List flavor access."},
	{"os_compute_api:os-flavor-access:add_tenant_access", novaAdmin, "Grant a project access to a flavor."},
	{"os_compute_api:os-flavor-access:remove_tenant_access", novaAdmin, "Revoke a project's access to a flavor."},

	{"os_compute_api:os-console-output", novaMemberOrAdmin, "Show a server's console output."},
	{"os_compute_api:os-keypairs:index", novaKeypairOwner, "List key pairs."},
	{"os_compute_api:os-keypairs:create", novaKeypairOwner, "Create a key pair."},
	{"os_compute_api:os-keypairs:delete", novaKeypairOwner, "Delete a key pair."},
	{"os_compute_api:os-keypairs:show", novaKeypairOwner, "Show a key pair."},
	{"os_compute_api:os-availability-zone:list", novaReaderOrAdmin, "List availability zones."},
	{"os_compute_api:os-availability-zone:detail", novaAdmin, "List availability zones with hosts."},
	{"os_compute_api:limits", novaAny, "Show rate and absolute limits."},
	{"os_compute_api:limits:other_project", novaAdmin, "Show another project's limits."},
	{"os_compute_api:server-metadata:index", novaReaderOrAdmin, "List server metadata."},
	{"os_compute_api:server-metadata:show", novaReaderOrAdmin, "Show a server metadata item."},
	{"os_compute_api:server-metadata:create", novaMemberOrAdmin, "Add server metadata."},
	{"os_compute_api:server-metadata:update", novaMemberOrAdmin, "Update a server metadata item."},
	{"os_compute_api:server-metadata:update_all", novaMemberOrAdmin, "Replace server metadata."},
	{"os_compute_api:server-metadata:delete", novaMemberOrAdmin, "Delete a server metadata item."},
	{"os_compute_api:os-quota-sets:show", novaReaderOrAdmin, "Show a project's quotas."},
	{"os_compute_api:os-quota-sets:detail", novaReaderOrAdmin, "Show a project's quota usage."},
	{"os_compute_api:os-quota-sets:defaults", novaAny, "Show default quotas."},
	{"os_compute_api:os-quota-sets:update", novaAdmin, "Update quotas."},
	{"os_compute_api:os-quota-sets:delete", novaAdmin, "Reset quotas to defaults."},
	{"os_compute_api:os-simple-tenant-usage:show", novaReaderOrAdmin, "Show a project's usage."},
	{"os_compute_api:os-simple-tenant-usage:list", novaAdmin, "List all projects' usage."},
	{"os_compute_api:os-server-groups:index", novaReaderOrAdmin, "List server groups."},
	{"os_compute_api:os-server-groups:index:all_projects", novaAdmin, "List server groups of all projects."},
	{"os_compute_api:os-server-groups:show", novaReaderOrAdmin, "Show a server group."},
	{"os_compute_api:os-server-groups:create", novaMemberOrAdmin, "Create a server group."},
	{"os_compute_api:os-server-groups:delete", novaMemberOrAdmin, "Delete a server group."},
	{"os_compute_api:os-extended-server-attributes", novaAdmin, "See extended server attributes."},
	{"os_compute_api:ips:index", novaReaderOrAdmin, "List server addresses."},
	{"os_compute_api:ips:show", novaReaderOrAdmin, "Show server addresses of a network."},
	{"os_compute_api:os-instance-actions:list", novaReaderOrAdmin, "List a server's actions."},
	{"os_compute_api:os-instance-actions:show", novaReaderOrAdmin, "Show a server action."},
	{"os_compute_api:os-instance-actions:events", novaAdmin, "See a server action's events."},
	{"os_compute_api:os-admin-actions:reset_state", novaAdmin, "Reset a server's state."},
	{"os_compute_api:os-lock-server:lock", novaMemberOrAdmin, "Lock a server."},
	{"os_compute_api:os-lock-server:unlock", novaMemberOrAdmin, "Unlock a server."},
	{"os_compute_api:os-lock-server:unlock:unlock_override", novaAdmin, "Unlock a server locked by someone else."},
	{"os_compute_api:os-hypervisors:list", novaAdmin, "List hypervisors."},
	{"os_compute_api:os-services:list", novaAdmin, "List compute services."},
	{"os_compute_api:extensions", novaAny, "List API extensions."},
}
