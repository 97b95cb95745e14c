package policy

// Nova's targets, which the compute service builds and these rules read:
//
//	project_id  the project owning the server (or server group, quota set,
//	            ...); for a create, the caller's own project
//	user_id     the user owning a key pair (keypair rules only)
//
// Flavor and other global resources are checked with the caller's own
// project as target, so only the admin part of their rules matters.
//
// The check strings are Nova's new defaults (Zed), in which project readers
// can look, project members can act and admins can do anything; Nova's
// system-scoped personas fold into "admin" here since tokens here are never
// system-scoped.
const (
	nAdmin          = "rule:context_is_admin"
	nMemberOrAdmin  = "rule:project_member_or_admin"
	nReaderOrAdmin  = "rule:project_reader_or_admin"
	nAnyone         = "@"
	nNobody         = "!"
	nKeypairOwner   = "(rule:context_is_admin) or user_id:%(user_id)s"
	nServers        = "os_compute_api:servers:"
	nFlavorExtra    = "os_compute_api:os-flavor-extra-specs:"
	nServerMetadata = "os_compute_api:server-metadata:"
	nQuotaSets      = "os_compute_api:os-quota-sets:"
	nHypervisors    = "os_compute_api:os-hypervisors:"
)

// NovaDefaults are Nova's default rules (Zed) for the compute API: the
// persona rules and the os_compute_api:* rules, named as Nova names them, so
// that a Nova policy.yaml applies here unchanged.
var NovaDefaults = []Rule{
	// Personas. admin_or_owner and admin_api are Nova's deprecated
	// pre-Wallaby rules; old policy files still refer to them.
	{"context_is_admin", "role:admin", "Who is an administrator: what is_admin:True tests."},
	{"admin_or_owner", "is_admin:True or project_id:%(project_id)s", "Deprecated: admins, or anyone in the owning project."},
	{"admin_api", "is_admin:True", "Deprecated: admins only."},
	{"project_member_api", "role:member and project_id:%(project_id)s", "Members of the owning project."},
	{"project_reader_api", "role:reader and project_id:%(project_id)s", "Readers of the owning project."},
	{"project_member_or_admin", "rule:project_member_api or rule:context_is_admin", "Members of the owning project, or admins."},
	{"project_reader_or_admin", "rule:project_reader_api or rule:context_is_admin", "Readers of the owning project, or admins."},

	// Servers.
	{nServers + "index", nReaderOrAdmin, "List servers (GET /servers)."},
	{nServers + "detail", nReaderOrAdmin, "List servers with details (GET /servers/detail)."},
	{nServers + "index:get_all_tenants", nAdmin, "List the servers of all projects (GET /servers?all_tenants)."},
	{nServers + "detail:get_all_tenants", nAdmin, "List the servers of all projects, with details."},
	{nServers + "allow_all_filters", nAdmin, "Filter server lists by any field, not only the documented few."},
	{nServers + "show", nReaderOrAdmin, "Show a server (GET /servers/{server_id})."},
	{nServers + "show:flavor-extra-specs", nReaderOrAdmin, "See the flavor extra specs embedded in a server."},
	{nServers + "show:host_status", nAdmin, "See the host_status of a server."},
	{nServers + "show:host_status:unknown-only", nAdmin, "See a server's host_status only when it is UNKNOWN."},
	{nServers + "create", nMemberOrAdmin, "Create a server (POST /servers)."},
	{nServers + "create:forced_host", nAdmin, "Create a server on a named host, bypassing the scheduler."},
	{"compute:servers:create:requested_destination", nAdmin, "Create a server on a requested host or node, through the scheduler."},
	{nServers + "create:attach_volume", nMemberOrAdmin, "Create a server with block device mappings."},
	{nServers + "create:attach_network", nMemberOrAdmin, "Create a server with requested networks or ports."},
	{nServers + "create:trusted_certs", nMemberOrAdmin, "Create a server with trusted image certificates."},
	{nServers + "create:zero_disk_flavor", nAdmin, "Boot from volume with a flavor of zero root disk."},
	{"network:attach_external_network", nAdmin, "Attach a server to an external network."},
	{nServers + "delete", nMemberOrAdmin, "Delete a server (DELETE /servers/{server_id})."},
	{nServers + "update", nMemberOrAdmin, "Update a server (PUT /servers/{server_id})."},
	{nServers + "confirm_resize", nMemberOrAdmin, "Confirm a resize (confirmResize action)."},
	{nServers + "revert_resize", nMemberOrAdmin, "Revert a resize (revertResize action)."},
	{nServers + "reboot", nMemberOrAdmin, "Reboot a server (reboot action)."},
	{nServers + "resize", nMemberOrAdmin, "Resize a server (resize action)."},
	{"compute:servers:resize:cross_cell", nNobody, "Resize a server to another cell; off unless enabled."},
	{nServers + "rebuild", nMemberOrAdmin, "Rebuild a server (rebuild action)."},
	{nServers + "rebuild:trusted_certs", nMemberOrAdmin, "Rebuild a server with trusted image certificates."},
	{nServers + "create_image", nMemberOrAdmin, "Snapshot a server into an image (createImage action)."},
	{nServers + "create_image:allow_volume_backed", nMemberOrAdmin, "Snapshot a volume-backed server."},
	{nServers + "start", nMemberOrAdmin, "Start a server (os-start action)."},
	{nServers + "stop", nMemberOrAdmin, "Stop a server (os-stop action)."},
	{nServers + "trigger_crash_dump", nMemberOrAdmin, "Trigger a crash dump in a server (trigger_crash_dump action)."},

	// Server actions and sub-resources.
	{"os_compute_api:os-console-output", nMemberOrAdmin, "Show a server's console output (os-getConsoleOutput action)."},
	{"os_compute_api:os-remote-consoles", nMemberOrAdmin, "Open a remote console (POST /servers/{server_id}/remote-consoles)."},
	{"os_compute_api:os-create-backup", nMemberOrAdmin, "Back up a server (createBackup action)."},
	{"os_compute_api:os-lock-server:lock", nMemberOrAdmin, "Lock a server (lock action)."},
	{"os_compute_api:os-lock-server:unlock", nMemberOrAdmin, "Unlock a server (unlock action)."},
	{"os_compute_api:os-lock-server:unlock:unlock_override", nAdmin, "Unlock a server that another user locked."},
	{"os_compute_api:os-pause-server:pause", nMemberOrAdmin, "Pause a server (pause action)."},
	{"os_compute_api:os-pause-server:unpause", nMemberOrAdmin, "Unpause a server (unpause action)."},
	{"os_compute_api:os-suspend-server:suspend", nMemberOrAdmin, "Suspend a server (suspend action)."},
	{"os_compute_api:os-suspend-server:resume", nMemberOrAdmin, "Resume a suspended server (resume action)."},
	{"os_compute_api:os-shelve:shelve", nMemberOrAdmin, "Shelve a server (shelve action)."},
	{"os_compute_api:os-shelve:unshelve", nMemberOrAdmin, "Unshelve a server (unshelve action)."},
	{"os_compute_api:os-shelve:unshelve_to_host", nAdmin, "Unshelve a server onto a named host."},
	{"os_compute_api:os-shelve:shelve_offload", nAdmin, "Offload a shelved server (shelveOffload action)."},
	{"os_compute_api:os-rescue", nMemberOrAdmin, "Rescue a server (rescue action)."},
	{"os_compute_api:os-unrescue", nMemberOrAdmin, "Unrescue a server (unrescue action)."},
	{"os_compute_api:os-admin-actions:reset_state", nAdmin, "Reset a server's state (os-resetState action)."},
	{"os_compute_api:os-admin-actions:inject_network_info", nAdmin, "Inject network information into a server (injectNetworkInfo action)."},
	{"os_compute_api:os-migrate-server:migrate", nAdmin, "Cold-migrate a server (migrate action)."},
	{"os_compute_api:os-migrate-server:migrate_live", nAdmin, "Live-migrate a server (os-migrateLive action)."},
	{"os_compute_api:os-evacuate", nAdmin, "Evacuate a server from a failed host (evacuate action)."},
	{"os_compute_api:os-extended-server-attributes", nAdmin, "See the OS-EXT-SRV-ATTR attributes of servers."},
	{"os_compute_api:os-server-diagnostics", nAdmin, "Show a server's diagnostics."},
	{"os_compute_api:ips:index", nReaderOrAdmin, "List a server's addresses (GET /servers/{server_id}/ips)."},
	{"os_compute_api:ips:show", nReaderOrAdmin, "List a server's addresses on one network."},
	{nServerMetadata + "index", nReaderOrAdmin, "List a server's metadata (GET /servers/{server_id}/metadata)."},
	{nServerMetadata + "show", nReaderOrAdmin, "Show one metadata item of a server."},
	{nServerMetadata + "create", nMemberOrAdmin, "Add or update server metadata items (POST .../metadata)."},
	{nServerMetadata + "update_all", nMemberOrAdmin, "Replace all of a server's metadata (PUT .../metadata)."},
	{nServerMetadata + "update", nMemberOrAdmin, "Set one metadata item of a server (PUT .../metadata/{key})."},
	{nServerMetadata + "delete", nMemberOrAdmin, "Delete one metadata item of a server."},
	{"os_compute_api:os-server-tags:index", nReaderOrAdmin, "List a server's tags."},
	{"os_compute_api:os-server-tags:show", nReaderOrAdmin, "Check whether a server has a tag."},
	{"os_compute_api:os-server-tags:update", nMemberOrAdmin, "Add one tag to a server."},
	{"os_compute_api:os-server-tags:update_all", nMemberOrAdmin, "Replace all of a server's tags."},
	{"os_compute_api:os-server-tags:delete", nMemberOrAdmin, "Remove one tag from a server."},
	{"os_compute_api:os-server-tags:delete_all", nMemberOrAdmin, "Remove all of a server's tags."},
	{"os_compute_api:os-server-password:show", nReaderOrAdmin, "Show a server's encrypted admin password."},
	{"os_compute_api:os-server-password:clear", nMemberOrAdmin, "Clear a server's encrypted admin password."},
	{"os_compute_api:os-instance-actions:list", nReaderOrAdmin, "List the actions taken on a server."},
	{"os_compute_api:os-instance-actions:show", nReaderOrAdmin, "Show one action taken on a server."},
	{"os_compute_api:os-instance-actions:events", nAdmin, "See the events of a server action."},
	{"os_compute_api:os-instance-actions:events:details", nAdmin, "See host and details of server action events."},
	{"os_compute_api:os-attach-interfaces:list", nReaderOrAdmin, "List a server's port interfaces."},
	{"os_compute_api:os-attach-interfaces:show", nReaderOrAdmin, "Show a server's port interface."},
	{"os_compute_api:os-attach-interfaces:create", nMemberOrAdmin, "Attach a port interface to a server."},
	{"os_compute_api:os-attach-interfaces:delete", nMemberOrAdmin, "Detach a port interface from a server."},
	{"os_compute_api:os-volumes-attachments:index", nReaderOrAdmin, "List a server's volume attachments."},
	{"os_compute_api:os-volumes-attachments:show", nReaderOrAdmin, "Show a server's volume attachment."},
	{"os_compute_api:os-volumes-attachments:create", nMemberOrAdmin, "Attach a volume to a server."},
	{"os_compute_api:os-volumes-attachments:update", nMemberOrAdmin, "Update a volume attachment."},
	{"os_compute_api:os-volumes-attachments:swap", nAdmin, "Swap the volume of an attachment."},
	{"os_compute_api:os-volumes-attachments:delete", nMemberOrAdmin, "Detach a volume from a server."},

	// Flavors. Listing and showing flavors has no rule in Nova.
	{"os_compute_api:os-flavor-manage:create", nAdmin, "Create a flavor (POST /flavors)."},
	{"os_compute_api:os-flavor-manage:update", nAdmin, "Update a flavor's description (PUT /flavors/{flavor_id})."},
	{"os_compute_api:os-flavor-manage:delete", nAdmin, "Delete a flavor (DELETE /flavors/{flavor_id})."},
	{nFlavorExtra + "index", nReaderOrAdmin, "List a flavor's extra specs, also in flavor views."},
	{nFlavorExtra + "show", nReaderOrAdmin, "Show one extra spec of a flavor."},
	{nFlavorExtra + "create", nAdmin, "Add or update extra specs of a flavor."},
	{nFlavorExtra + "update", nAdmin, "Set one extra spec of a flavor."},
	{nFlavorExtra + "delete", nAdmin, "Delete one extra spec of a flavor."},
	{"os_compute_api:os-flavor-access", nAdmin, "List the projects with access to a private flavor."},
	{"os_compute_api:os-flavor-access:add_tenant_access", nAdmin, "Give a project access to a private flavor."},
	{"os_compute_api:os-flavor-access:remove_tenant_access", nAdmin, "Take a project's access to a private flavor away."},

	// Key pairs belong to users, not projects: the target is the owner.
	{"os_compute_api:os-keypairs:index", nKeypairOwner, "List key pairs (GET /os-keypairs); other users' only for admins."},
	{"os_compute_api:os-keypairs:create", nKeypairOwner, "Create or import a key pair (POST /os-keypairs)."},
	{"os_compute_api:os-keypairs:delete", nKeypairOwner, "Delete a key pair (DELETE /os-keypairs/{keypair_name})."},
	{"os_compute_api:os-keypairs:show", nKeypairOwner, "Show a key pair (GET /os-keypairs/{keypair_name})."},

	// Server groups.
	{"os_compute_api:os-server-groups:index", nReaderOrAdmin, "List server groups."},
	{"os_compute_api:os-server-groups:index:all_projects", nAdmin, "List the server groups of all projects."},
	{"os_compute_api:os-server-groups:show", nReaderOrAdmin, "Show a server group."},
	{"os_compute_api:os-server-groups:create", nMemberOrAdmin, "Create a server group."},
	{"os_compute_api:os-server-groups:delete", nMemberOrAdmin, "Delete a server group."},

	// Limits, quotas and usage.
	{"os_compute_api:limits", nAnyone, "Show the caller's project's limits and usage (GET /limits)."},
	{"os_compute_api:limits:other_project", nAdmin, "Show another project's limits (GET /limits?tenant_id=)."},
	{nQuotaSets + "show", nReaderOrAdmin, "Show a project's quotas (GET /os-quota-sets/{project_id})."},
	{nQuotaSets + "detail", nReaderOrAdmin, "Show a project's quotas with usage."},
	{nQuotaSets + "defaults", nAnyone, "Show the default quotas."},
	{nQuotaSets + "update", nAdmin, "Update a project's quotas."},
	{nQuotaSets + "delete", nAdmin, "Reset a project's quotas to the defaults."},
	{"os_compute_api:os-simple-tenant-usage:show", nReaderOrAdmin, "Show a project's usage."},
	{"os_compute_api:os-simple-tenant-usage:list", nAdmin, "Show the usage of all projects."},

	// Zones, hosts and services: the deployment itself.
	{"os_compute_api:os-availability-zone:list", nAnyone, "List availability zones (GET /os-availability-zone)."},
	{"os_compute_api:os-availability-zone:detail", nAdmin, "List availability zones with their hosts."},
	{nHypervisors + "list", nAdmin, "List hypervisors."},
	{nHypervisors + "list-detail", nAdmin, "List hypervisors with details."},
	{nHypervisors + "statistics", nAdmin, "Show hypervisor statistics."},
	{nHypervisors + "show", nAdmin, "Show a hypervisor."},
	{nHypervisors + "uptime", nAdmin, "Show a hypervisor's uptime."},
	{nHypervisors + "search", nAdmin, "Search hypervisors by host name."},
	{nHypervisors + "servers", nAdmin, "List the servers on a hypervisor."},
	{"os_compute_api:os-services:list", nAdmin, "List compute services."},
	{"os_compute_api:os-services:update", nAdmin, "Enable, disable or force down a compute service."},
	{"os_compute_api:os-services:delete", nAdmin, "Delete a compute service."},
	{"os_compute_api:os-migrations:index", nAdmin, "List migrations."},
	{"os_compute_api:os-server-external-events:create", nAdmin, "Send external events to servers (services only)."},
	{"os_compute_api:os-console-auth-tokens", nAdmin, "Show the connection details of a console token."},
	{"os_compute_api:extensions", nAnyone, "List API extensions."},
}
