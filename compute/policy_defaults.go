package compute

import "imagestack/policy"

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

// PolicyDefaults are Nova's default rules (Zed) for the compute API: the
// persona rules and the os_compute_api:* rules, named as Nova names them, so
// that a Nova policy.yaml applies here unchanged.
var PolicyDefaults = []policy.Rule{
	// Personas. admin_or_owner and admin_api are Nova's deprecated
	// pre-Wallaby rules; old policy files still refer to them.
	{Name: "context_is_admin", Check: "role:admin", Description: "Who is an administrator: what is_admin:True tests."},
	{Name: "admin_or_owner", Check: "is_admin:True or project_id:%(project_id)s", Description: "Deprecated: admins, or anyone in the owning project."},
	{Name: "admin_api", Check: "is_admin:True", Description: "Deprecated: admins only."},
	{Name: "project_member_api", Check: "role:member and project_id:%(project_id)s", Description: "Members of the owning project."},
	{Name: "project_reader_api", Check: "role:reader and project_id:%(project_id)s", Description: "Readers of the owning project."},
	{Name: "project_member_or_admin", Check: "rule:project_member_api or rule:context_is_admin", Description: "Members of the owning project, or admins."},
	{Name: "project_reader_or_admin", Check: "rule:project_reader_api or rule:context_is_admin", Description: "Readers of the owning project, or admins."},

	// Servers.
	{Name: nServers + "index", Check: nReaderOrAdmin, Description: "List servers (GET /servers)."},
	{Name: nServers + "detail", Check: nReaderOrAdmin, Description: "List servers with details (GET /servers/detail)."},
	{Name: nServers + "index:get_all_tenants", Check: nAdmin, Description: "List the servers of all projects (GET /servers?all_tenants)."},
	{Name: nServers + "detail:get_all_tenants", Check: nAdmin, Description: "List the servers of all projects, with details."},
	{Name: nServers + "allow_all_filters", Check: nAdmin, Description: "Filter server lists by any field, not only the documented few."},
	{Name: nServers + "show", Check: nReaderOrAdmin, Description: "Show a server (GET /servers/{server_id})."},
	{Name: nServers + "show:flavor-extra-specs", Check: nReaderOrAdmin, Description: "See the flavor extra specs embedded in a server."},
	{Name: nServers + "show:host_status", Check: nAdmin, Description: "See the host_status of a server."},
	{Name: nServers + "show:host_status:unknown-only", Check: nAdmin, Description: "See a server's host_status only when it is UNKNOWN."},
	{Name: nServers + "create", Check: nMemberOrAdmin, Description: "Create a server (POST /servers)."},
	{Name: nServers + "create:forced_host", Check: nAdmin, Description: "Create a server on a named host, bypassing the scheduler."},
	{Name: "compute:servers:create:requested_destination", Check: nAdmin, Description: "Create a server on a requested host or node, through the scheduler."},
	{Name: nServers + "create:attach_volume", Check: nMemberOrAdmin, Description: "Create a server with block device mappings."},
	{Name: nServers + "create:attach_network", Check: nMemberOrAdmin, Description: "Create a server with requested networks or ports."},
	{Name: nServers + "create:trusted_certs", Check: nMemberOrAdmin, Description: "Create a server with trusted image certificates."},
	{Name: nServers + "create:zero_disk_flavor", Check: nAdmin, Description: "Boot from volume with a flavor of zero root disk."},
	{Name: "network:attach_external_network", Check: nAdmin, Description: "Attach a server to an external network."},
	{Name: nServers + "delete", Check: nMemberOrAdmin, Description: "Delete a server (DELETE /servers/{server_id})."},
	{Name: nServers + "update", Check: nMemberOrAdmin, Description: "Update a server (PUT /servers/{server_id})."},
	{Name: nServers + "confirm_resize", Check: nMemberOrAdmin, Description: "Confirm a resize (confirmResize action)."},
	{Name: nServers + "revert_resize", Check: nMemberOrAdmin, Description: "Revert a resize (revertResize action)."},
	{Name: nServers + "reboot", Check: nMemberOrAdmin, Description: "Reboot a server (reboot action)."},
	{Name: nServers + "resize", Check: nMemberOrAdmin, Description: "Resize a server (resize action)."},
	{Name: "compute:servers:resize:cross_cell", Check: nNobody, Description: "Resize a server to another cell; off unless enabled."},
	{Name: nServers + "rebuild", Check: nMemberOrAdmin, Description: "Rebuild a server (rebuild action)."},
	{Name: nServers + "rebuild:trusted_certs", Check: nMemberOrAdmin, Description: "Rebuild a server with trusted image certificates."},
	{Name: nServers + "create_image", Check: nMemberOrAdmin, Description: "Snapshot a server into an image (createImage action)."},
	{Name: nServers + "create_image:allow_volume_backed", Check: nMemberOrAdmin, Description: "Snapshot a volume-backed server."},
	{Name: nServers + "start", Check: nMemberOrAdmin, Description: "Start a server (os-start action)."},
	{Name: nServers + "stop", Check: nMemberOrAdmin, Description: "Stop a server (os-stop action)."},
	{Name: nServers + "trigger_crash_dump", Check: nMemberOrAdmin, Description: "Trigger a crash dump in a server (trigger_crash_dump action)."},

	// Server actions and sub-resources.
	{Name: "os_compute_api:os-console-output", Check: nMemberOrAdmin, Description: "Show a server's console output (os-getConsoleOutput action)."},
	{Name: "os_compute_api:os-remote-consoles", Check: nMemberOrAdmin, Description: "Open a remote console (POST /servers/{server_id}/remote-consoles)."},
	{Name: "os_compute_api:os-create-backup", Check: nMemberOrAdmin, Description: "Back up a server (createBackup action)."},
	{Name: "os_compute_api:os-lock-server:lock", Check: nMemberOrAdmin, Description: "Lock a server (lock action)."},
	{Name: "os_compute_api:os-lock-server:unlock", Check: nMemberOrAdmin, Description: "Unlock a server (unlock action)."},
	{Name: "os_compute_api:os-lock-server:unlock:unlock_override", Check: nAdmin, Description: "Unlock a server that another user locked."},
	{Name: "os_compute_api:os-pause-server:pause", Check: nMemberOrAdmin, Description: "Pause a server (pause action)."},
	{Name: "os_compute_api:os-pause-server:unpause", Check: nMemberOrAdmin, Description: "Unpause a server (unpause action)."},
	{Name: "os_compute_api:os-suspend-server:suspend", Check: nMemberOrAdmin, Description: "Suspend a server (suspend action)."},
	{Name: "os_compute_api:os-suspend-server:resume", Check: nMemberOrAdmin, Description: "Resume a suspended server (resume action)."},
	{Name: "os_compute_api:os-deferred-delete:restore", Check: nMemberOrAdmin, Description: "Restore a soft-deleted server (restore action)."},
	{Name: "os_compute_api:os-deferred-delete:force", Check: nMemberOrAdmin, Description: "Delete a soft-deleted server at once (forceDelete action)."},
	{Name: "os_compute_api:os-shelve:shelve", Check: nMemberOrAdmin, Description: "Shelve a server (shelve action)."},
	{Name: "os_compute_api:os-shelve:unshelve", Check: nMemberOrAdmin, Description: "Unshelve a server (unshelve action)."},
	{Name: "os_compute_api:os-shelve:unshelve_to_host", Check: nAdmin, Description: "Unshelve a server onto a named host."},
	{Name: "os_compute_api:os-shelve:shelve_offload", Check: nAdmin, Description: "Offload a shelved server (shelveOffload action)."},
	{Name: "os_compute_api:os-rescue", Check: nMemberOrAdmin, Description: "Rescue a server (rescue action)."},
	{Name: "os_compute_api:os-unrescue", Check: nMemberOrAdmin, Description: "Unrescue a server (unrescue action)."},
	{Name: "os_compute_api:os-admin-actions:reset_state", Check: nAdmin, Description: "Reset a server's state (os-resetState action)."},
	{Name: "os_compute_api:os-admin-actions:inject_network_info", Check: nAdmin, Description: "Inject network information into a server (injectNetworkInfo action)."},
	{Name: "os_compute_api:os-migrate-server:migrate", Check: nAdmin, Description: "Cold-migrate a server (migrate action)."},
	{Name: "os_compute_api:os-migrate-server:migrate_live", Check: nAdmin, Description: "Live-migrate a server (os-migrateLive action)."},
	{Name: "os_compute_api:os-evacuate", Check: nAdmin, Description: "Evacuate a server from a failed host (evacuate action)."},
	{Name: "os_compute_api:os-extended-server-attributes", Check: nAdmin, Description: "See the OS-EXT-SRV-ATTR attributes of servers."},
	{Name: nServers + "topology:index", Check: nReaderOrAdmin, Description: "Show a server's NUMA topology."},
	{Name: nServers + "topology:host_info:index", Check: nAdmin, Description: "Show the host NUMA nodes of a server's topology."},
	{Name: "os_compute_api:os-server-diagnostics", Check: nAdmin, Description: "Show a server's diagnostics."},
	{Name: "os_compute_api:ips:index", Check: nReaderOrAdmin, Description: "List a server's addresses (GET /servers/{server_id}/ips)."},
	{Name: "os_compute_api:ips:show", Check: nReaderOrAdmin, Description: "List a server's addresses on one network."},
	{Name: nServerMetadata + "index", Check: nReaderOrAdmin, Description: "List a server's metadata (GET /servers/{server_id}/metadata)."},
	{Name: nServerMetadata + "show", Check: nReaderOrAdmin, Description: "Show one metadata item of a server."},
	{Name: nServerMetadata + "create", Check: nMemberOrAdmin, Description: "Add or update server metadata items (POST .../metadata)."},
	{Name: nServerMetadata + "update_all", Check: nMemberOrAdmin, Description: "Replace all of a server's metadata (PUT .../metadata)."},
	{Name: nServerMetadata + "update", Check: nMemberOrAdmin, Description: "Set one metadata item of a server (PUT .../metadata/{key})."},
	{Name: nServerMetadata + "delete", Check: nMemberOrAdmin, Description: "Delete one metadata item of a server."},
	{Name: "os_compute_api:os-server-tags:index", Check: nReaderOrAdmin, Description: "List a server's tags."},
	{Name: "os_compute_api:os-server-tags:show", Check: nReaderOrAdmin, Description: "Check whether a server has a tag."},
	{Name: "os_compute_api:os-server-tags:update", Check: nMemberOrAdmin, Description: "Add one tag to a server."},
	{Name: "os_compute_api:os-server-tags:update_all", Check: nMemberOrAdmin, Description: "Replace all of a server's tags."},
	{Name: "os_compute_api:os-server-tags:delete", Check: nMemberOrAdmin, Description: "Remove one tag from a server."},
	{Name: "os_compute_api:os-server-tags:delete_all", Check: nMemberOrAdmin, Description: "Remove all of a server's tags."},
	{Name: "os_compute_api:os-server-password:show", Check: nReaderOrAdmin, Description: "Show a server's encrypted admin password."},
	{Name: "os_compute_api:os-server-password:clear", Check: nMemberOrAdmin, Description: "Clear a server's encrypted admin password."},
	{Name: "os_compute_api:os-instance-actions:list", Check: nReaderOrAdmin, Description: "List the actions taken on a server."},
	{Name: "os_compute_api:os-instance-actions:show", Check: nReaderOrAdmin, Description: "Show one action taken on a server."},
	{Name: "os_compute_api:os-instance-actions:events", Check: nAdmin, Description: "See the events of a server action."},
	{Name: "os_compute_api:os-instance-actions:events:details", Check: nAdmin, Description: "See host and details of server action events."},
	{Name: "os_compute_api:os-attach-interfaces:list", Check: nReaderOrAdmin, Description: "List a server's port interfaces."},
	{Name: "os_compute_api:os-attach-interfaces:show", Check: nReaderOrAdmin, Description: "Show a server's port interface."},
	{Name: "os_compute_api:os-attach-interfaces:create", Check: nMemberOrAdmin, Description: "Attach a port interface to a server."},
	{Name: "os_compute_api:os-attach-interfaces:delete", Check: nMemberOrAdmin, Description: "Detach a port interface from a server."},
	{Name: "os_compute_api:os-volumes-attachments:index", Check: nReaderOrAdmin, Description: "List a server's volume attachments."},
	{Name: "os_compute_api:os-volumes-attachments:show", Check: nReaderOrAdmin, Description: "Show a server's volume attachment."},
	{Name: "os_compute_api:os-volumes-attachments:create", Check: nMemberOrAdmin, Description: "Attach a volume to a server."},
	{Name: "os_compute_api:os-volumes-attachments:update", Check: nMemberOrAdmin, Description: "Update a volume attachment."},
	{Name: "os_compute_api:os-volumes-attachments:swap", Check: nAdmin, Description: "Swap the volume of an attachment."},
	{Name: "os_compute_api:os-volumes-attachments:delete", Check: nMemberOrAdmin, Description: "Detach a volume from a server."},

	// Flavors. Listing and showing flavors has no rule in Nova.
	{Name: "os_compute_api:os-flavor-manage:create", Check: nAdmin, Description: "Create a flavor (POST /flavors)."},
	{Name: "os_compute_api:os-flavor-manage:update", Check: nAdmin, Description: "Update a flavor's description (PUT /flavors/{flavor_id})."},
	{Name: "os_compute_api:os-flavor-manage:delete", Check: nAdmin, Description: "Delete a flavor (DELETE /flavors/{flavor_id})."},
	{Name: nFlavorExtra + "index", Check: nReaderOrAdmin, Description: "List a flavor's extra specs, also in flavor views."},
	{Name: nFlavorExtra + "show", Check: nReaderOrAdmin, Description: "Show one extra spec of a flavor."},
	{Name: nFlavorExtra + "create", Check: nAdmin, Description: "Add or update extra specs of a flavor."},
	{Name: nFlavorExtra + "update", Check: nAdmin, Description: "Set one extra spec of a flavor."},
	{Name: nFlavorExtra + "delete", Check: nAdmin, Description: "Delete one extra spec of a flavor."},
	{Name: "os_compute_api:os-flavor-access", Check: nAdmin, Description: "List the projects with access to a private flavor."},
	{Name: "os_compute_api:os-flavor-access:add_tenant_access", Check: nAdmin, Description: "Give a project access to a private flavor."},
	{Name: "os_compute_api:os-flavor-access:remove_tenant_access", Check: nAdmin, Description: "Take a project's access to a private flavor away."},

	// Key pairs belong to users, not projects: the target is the owner.
	{Name: "os_compute_api:os-keypairs:index", Check: nKeypairOwner, Description: "List key pairs (GET /os-keypairs); other users' only for admins."},
	{Name: "os_compute_api:os-keypairs:create", Check: nKeypairOwner, Description: "Create or import a key pair (POST /os-keypairs)."},
	{Name: "os_compute_api:os-keypairs:delete", Check: nKeypairOwner, Description: "Delete a key pair (DELETE /os-keypairs/{keypair_name})."},
	{Name: "os_compute_api:os-keypairs:show", Check: nKeypairOwner, Description: "Show a key pair (GET /os-keypairs/{keypair_name})."},

	// Server groups.
	{Name: "os_compute_api:os-server-groups:index", Check: nReaderOrAdmin, Description: "List server groups."},
	{Name: "os_compute_api:os-server-groups:index:all_projects", Check: nAdmin, Description: "List the server groups of all projects."},
	{Name: "os_compute_api:os-server-groups:show", Check: nReaderOrAdmin, Description: "Show a server group."},
	{Name: "os_compute_api:os-server-groups:create", Check: nMemberOrAdmin, Description: "Create a server group."},
	{Name: "os_compute_api:os-server-groups:delete", Check: nMemberOrAdmin, Description: "Delete a server group."},

	// Limits, quotas and usage.
	{Name: "os_compute_api:limits", Check: nAnyone, Description: "Show the caller's project's limits and usage (GET /limits)."},
	{Name: "os_compute_api:limits:other_project", Check: nAdmin, Description: "Show another project's limits (GET /limits?tenant_id=)."},
	{Name: nQuotaSets + "show", Check: nReaderOrAdmin, Description: "Show a project's quotas (GET /os-quota-sets/{project_id})."},
	{Name: nQuotaSets + "detail", Check: nReaderOrAdmin, Description: "Show a project's quotas with usage."},
	{Name: nQuotaSets + "defaults", Check: nAnyone, Description: "Show the default quotas."},
	{Name: nQuotaSets + "update", Check: nAdmin, Description: "Update a project's quotas."},
	{Name: nQuotaSets + "delete", Check: nAdmin, Description: "Reset a project's quotas to the defaults."},
	{Name: "os_compute_api:os-quota-class-sets:show", Check: nAdmin, Description: "Show a quota class's limits."},
	{Name: "os_compute_api:os-quota-class-sets:update", Check: nAdmin, Description: "Update a quota class's limits (the \"default\" class: every project's defaults)."},
	{Name: "os_compute_api:os-simple-tenant-usage:show", Check: nReaderOrAdmin, Description: "Show a project's usage."},
	{Name: "os_compute_api:os-simple-tenant-usage:list", Check: nAdmin, Description: "Show the usage of all projects."},

	// Zones, hosts and services: the deployment itself.
	{Name: "os_compute_api:os-availability-zone:list", Check: nAnyone, Description: "List availability zones (GET /os-availability-zone)."},
	{Name: "os_compute_api:os-availability-zone:detail", Check: nAdmin, Description: "List availability zones with their hosts."},
	{Name: nHypervisors + "list", Check: nAdmin, Description: "List hypervisors."},
	{Name: nHypervisors + "list-detail", Check: nAdmin, Description: "List hypervisors with details."},
	{Name: nHypervisors + "statistics", Check: nAdmin, Description: "Show hypervisor statistics."},
	{Name: nHypervisors + "show", Check: nAdmin, Description: "Show a hypervisor."},
	{Name: nHypervisors + "uptime", Check: nAdmin, Description: "Show a hypervisor's uptime."},
	{Name: nHypervisors + "search", Check: nAdmin, Description: "Search hypervisors by host name."},
	{Name: nHypervisors + "servers", Check: nAdmin, Description: "List the servers on a hypervisor."},
	{Name: "os_compute_api:os-services:list", Check: nAdmin, Description: "List compute services."},
	{Name: "os_compute_api:os-services:update", Check: nAdmin, Description: "Enable, disable or force down a compute service."},
	{Name: "os_compute_api:os-services:delete", Check: nAdmin, Description: "Delete a compute service."},
	{Name: "os_compute_api:os-aggregates:index", Check: nAdmin, Description: "List host aggregates."},
	{Name: "os_compute_api:os-aggregates:create", Check: nAdmin, Description: "Create a host aggregate."},
	{Name: "os_compute_api:os-aggregates:show", Check: nAdmin, Description: "Show a host aggregate."},
	{Name: "os_compute_api:os-aggregates:update", Check: nAdmin, Description: "Rename a host aggregate or change its availability zone."},
	{Name: "os_compute_api:os-aggregates:delete", Check: nAdmin, Description: "Delete a host aggregate."},
	{Name: "os_compute_api:os-aggregates:add_host", Check: nAdmin, Description: "Add a host to a host aggregate."},
	{Name: "os_compute_api:os-aggregates:remove_host", Check: nAdmin, Description: "Remove a host from a host aggregate."},
	{Name: "os_compute_api:os-aggregates:set_metadata", Check: nAdmin, Description: "Set the metadata of a host aggregate."},
	{Name: "compute:aggregates:images", Check: nAdmin, Description: "Ask the hosts of an aggregate to cache images (2.81)."},
	{Name: "os_compute_api:os-migrations:index", Check: nAdmin, Description: "List migrations."},
	{Name: nServers + "migrations:index", Check: nAdmin, Description: "List a server's live migrations in progress (GET /servers/{server_id}/migrations)."},
	{Name: nServers + "migrations:show", Check: nAdmin, Description: "Show a server's live migration in progress."},
	{Name: nServers + "migrations:delete", Check: nAdmin, Description: "Abort a server's live migration in progress."},
	{Name: nServers + "migrations:force_complete", Check: nAdmin, Description: "Force a server's live migration in progress to complete."},
	{Name: "os_compute_api:os-server-external-events:create", Check: nAdmin, Description: "Send external events to servers (services only)."},
	{Name: "os_compute_api:os-console-auth-tokens", Check: nAdmin, Description: "Show the connection details of a console token."},
	{Name: "os_compute_api:extensions", Check: nAnyone, Description: "List API extensions."},
}
