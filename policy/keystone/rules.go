package keystone

import "imagestack/policy"

// Defaults are the identity API's policy rules, named as Keystone names them.
// There is no system scope here, so the "admin" role stands where Keystone's
// defaults say "system admin"; the self-service rules let users see their own
// user record, their own projects and their own tokens.
var Defaults = []policy.Rule{
	{Name: "admin_required", Check: "role:admin", Description: "Callers with the admin role."},
	{Name: "owner", Check: "user_id:%(target.user.id)s", Description: "The user the request is about."},
	{Name: "token_subject", Check: "user_id:%(target.token.user_id)s", Description: "The user a token belongs to."},
	{Name: "identity:get_domain", Check: "rule:admin_required or domain_id:%(target.domain.id)s or project_domain_id:%(target.domain.id)s", Description: "Show a domain."},
	{Name: "identity:list_domains", Check: "rule:admin_required", Description: "List domains."},
	{Name: "identity:get_project", Check: "rule:admin_required or project_id:%(target.project.id)s", Description: "Show a project."},
	{Name: "identity:list_projects", Check: "rule:admin_required", Description: "List projects."},
	{Name: "identity:list_user_projects", Check: "rule:admin_required or rule:owner", Description: "List the projects a user has roles on."},
	{Name: "identity:create_project", Check: "rule:admin_required", Description: "Create a project."},
	{Name: "identity:update_project", Check: "rule:admin_required", Description: "Update a project."},
	{Name: "identity:delete_project", Check: "rule:admin_required", Description: "Delete a project."},
	{Name: "identity:get_user", Check: "rule:admin_required or rule:owner", Description: "Show a user."},
	{Name: "identity:list_users", Check: "rule:admin_required", Description: "List users."},
	{Name: "identity:create_user", Check: "rule:admin_required", Description: "Create a user."},
	{Name: "identity:update_user", Check: "rule:admin_required", Description: "Update a user."},
	{Name: "identity:delete_user", Check: "rule:admin_required", Description: "Delete a user."},
	{Name: "identity:change_password", Check: "rule:admin_required or rule:owner", Description: "Change one's own password."},
	{Name: "identity:get_role", Check: "rule:admin_required", Description: "Show a role."},
	{Name: "identity:list_roles", Check: "rule:admin_required", Description: "List roles."},
	{Name: "identity:create_role", Check: "rule:admin_required", Description: "Create a role."},
	{Name: "identity:update_role", Check: "rule:admin_required", Description: "Update a role."},
	{Name: "identity:delete_role", Check: "rule:admin_required", Description: "Delete a role."},
	{Name: "identity:check_grant", Check: "rule:admin_required", Description: "Check a role assignment."},
	{Name: "identity:list_grants", Check: "rule:admin_required", Description: "List a user's roles on a target."},
	{Name: "identity:create_grant", Check: "rule:admin_required", Description: "Assign a role."},
	{Name: "identity:revoke_grant", Check: "rule:admin_required", Description: "Remove a role assignment."},
	{Name: "identity:list_role_assignments", Check: "rule:admin_required", Description: "List role assignments."},
	{Name: "identity:validate_token", Check: "rule:admin_required or rule:token_subject", Description: "Validate a token."},
	{Name: "identity:check_token", Check: "rule:admin_required or rule:token_subject", Description: "Check a token."},
	{Name: "identity:revoke_token", Check: "rule:admin_required or rule:token_subject", Description: "Revoke a token."},
	{Name: "identity:list_services", Check: "rule:admin_required", Description: "List catalog services."},
	{Name: "identity:list_endpoints", Check: "rule:admin_required", Description: "List catalog endpoints."},
	{Name: "identity:list_regions", Check: "", Description: "List regions."},
	{Name: "identity:get_service", Check: "rule:admin_required", Description: "Show a catalog service."},
	{Name: "identity:get_region", Check: "", Description: "Show a region."},
	{Name: "identity:get_registered_limit", Check: "", Description: "Show registered limit details."},
	{Name: "identity:list_registered_limits", Check: "", Description: "List registered limits."},
	{Name: "identity:create_registered_limits", Check: "rule:admin_required", Description: "Create registered limits."},
	{Name: "identity:update_registered_limit", Check: "rule:admin_required", Description: "Update registered limit."},
	{Name: "identity:delete_registered_limit", Check: "rule:admin_required", Description: "Delete registered limit."},
	{Name: "identity:get_limit_model", Check: "", Description: "Get limit enforcement model."},
	{Name: "identity:get_limit", Check: limitReaders, Description: "Show limit details."},
	{Name: "identity:list_limits", Check: "", Description: "List limits."},
	{Name: "identity:create_limits", Check: "rule:admin_required", Description: "Create limits."},
	{Name: "identity:update_limit", Check: "rule:admin_required", Description: "Update limit."},
	{Name: "identity:delete_limit", Check: "rule:admin_required", Description: "Delete limit."},
}

// limitReaders is Keystone's default for identity:get_limit: admins, and
// users of the limit's domain or project.
const limitReaders = "rule:admin_required or (role:reader and system_scope:all) or " +
	"(domain_id:%(target.limit.domain.id)s or domain_id:%(target.limit.project.domain_id)s) or " +
	"(project_id:%(target.limit.project_id)s and not None:%(target.limit.project_id)s)"
