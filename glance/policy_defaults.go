package glance

import "imagestack/policy"

// Glance's targets, which the image service builds and these rules read:
//
//	project_id, owner  the image's owner (Glance maps project_id to owner)
//	visibility         public, community, shared or private
//	member_id          a project the image is shared with: the caller's
//	                   own project when the caller is a member, or the
//	                   member being read or changed in the member calls
//	id                 the image ID
//
// On the left of a generic check, project_id is the caller's project; on the
// right, %(project_id)s is the image owner's. Before an image exists
// (add_image) the target describes the proposed image: project_id and owner
// are the requested owner, defaulting to the caller's project.
//
// The check strings are Glance's "new defaults" (the Zed release, with
// enforce_new_defaults on), which need no system scope.
const (
	// gProjectMember and gProjectReader: a member (reader) of the project
	// that owns the object.
	gProjectMember = "role:member and project_id:%(project_id)s"
	gProjectReader = "role:reader and project_id:%(project_id)s"
	// gVisibleImage: the caller's project owns the image, is a member of
	// it, or the image is community, public or shared. Shared images are
	// listed by visibility only: the image service's visibility check has
	// already hidden shared images from non-members.
	gVisibleImage = "(project_id:%(project_id)s or project_id:%(member_id)s or " +
		"'community':%(visibility)s or 'public':%(visibility)s or 'shared':%(visibility)s)"

	gAdmin               = "role:admin"
	gAdminOrMember       = "role:admin or (" + gProjectMember + ")"
	gAdminOrReader       = "role:admin or (" + gProjectReader + ")"
	gGetImage            = "role:admin or (role:reader and " + gVisibleImage + ")"
	gDownloadImage       = "role:admin or (role:member and " + gVisibleImage + ")"
	gCreateImage         = "role:admin or (" + gProjectMember + " and project_id:%(owner)s)"
	gGetNamespace        = "role:admin or (role:reader and (project_id:%(project_id)s or 'public':%(visibility)s))"
	gAdminOrSharedMember = "role:admin or (role:member and project_id:%(member_id)s)"
	// Glance writes this one without parentheses around the and; it parses
	// the same way since and binds tighter than or.
	gAdminOrReaderOrSharedMember = "role:admin or role:reader and (project_id:%(project_id)s or project_id:%(member_id)s)"
)

// PolicyDefaults are Glance's default rules (Zed), by name and by behaviour,
// so that a Glance policy.yaml applies here unchanged.
//
// Note that Glance's "default" rule is "" (always allowed): in an enforcer
// that loads these, a rule name that no list or file defines is allowed. An
// operator who wants the opposite sets "default" in the policy file.
var PolicyDefaults = []policy.Rule{
	// Base rules.
	{Name: "default", Check: "", Description: "Used for any rule that is not defined; Glance's tasks rules also refer to it."},
	{Name: "context_is_admin", Check: gAdmin, Description: "Who is an administrator: what is_admin:True tests."},

	// Images.
	{Name: "add_image", Check: gCreateImage, Description: "Create an image (POST /v2/images). Only an admin may set another project as owner."},
	{Name: "delete_image", Check: gAdminOrMember, Description: "Delete an image (DELETE /v2/images/{image_id})."},
	{Name: "get_image", Check: gGetImage, Description: "Show an image (GET /v2/images/{image_id}). Denial reads as 404, not 403."},
	{Name: "get_images", Check: gAdminOrReader, Description: "List images (GET /v2/images); the target is the caller's project."},
	{Name: "modify_image", Check: gAdminOrMember, Description: "Update an image (PATCH /v2/images/{image_id}), its tags (PUT and DELETE /v2/images/{image_id}/tags/{tag}), and stage data (PUT /v2/images/{image_id}/stage)."},
	{Name: "publicize_image", Check: gAdmin, Description: "Make an image public, at creation or by update."},
	{Name: "communitize_image", Check: gAdminOrMember, Description: "Make an image community, at creation or by update."},
	{Name: "download_image", Check: gDownloadImage, Description: "Download image data (GET /v2/images/{image_id}/file)."},
	{Name: "upload_image", Check: gAdminOrMember, Description: "Upload image data (PUT /v2/images/{image_id}/file)."},
	{Name: "delete_image_location", Check: gAdmin, Description: "Remove an image location (PATCH /v2/images/{image_id})."},
	{Name: "get_image_location", Check: gAdminOrReader, Description: "Show image locations (GET /v2/images/{image_id} with show_multiple_locations)."},
	{Name: "set_image_location", Check: gAdminOrMember, Description: "Add or replace image locations (PATCH /v2/images/{image_id})."},
	{Name: "add_image_location", Check: "role:service or role:admin", Description: "Give a queued image data already in a store (POST /v2/images/{image_id}/locations). Glance allows project members by policy but refuses all but the service role without an http store; here the service role and admins."},
	{Name: "fetch_image_location", Check: "role:service or role:admin", Description: "List an image's locations (GET /v2/images/{image_id}/locations): Glance's service role, and admins."},
	{Name: "deactivate", Check: gAdminOrMember, Description: "Deactivate an image (POST /v2/images/{image_id}/actions/deactivate)."},
	{Name: "reactivate", Check: gAdminOrMember, Description: "Reactivate an image (POST /v2/images/{image_id}/actions/reactivate)."},
	{Name: "copy_image", Check: gAdmin, Description: "Copy existing image data to more stores (POST /v2/images/{image_id}/import with copy-image)."},

	// Image members: the owner shares, the member accepts or rejects.
	{Name: "add_member", Check: gAdminOrMember, Description: "Share an image with a project (POST /v2/images/{image_id}/members)."},
	{Name: "delete_member", Check: gAdminOrMember, Description: "Stop sharing an image with a project (DELETE /v2/images/{image_id}/members/{member_id})."},
	{Name: "get_member", Check: gAdminOrReaderOrSharedMember, Description: "Show an image member (GET /v2/images/{image_id}/members/{member_id})."},
	{Name: "get_members", Check: gAdminOrReaderOrSharedMember, Description: "List image members (GET /v2/images/{image_id}/members)."},
	{Name: "modify_member", Check: gAdminOrSharedMember, Description: "Accept or reject a shared image, as the member (PUT /v2/images/{image_id}/members/{member_id})."},

	// Cache and stores.
	{Name: "manage_image_cache", Check: gAdmin, Description: "Manage the image cache (the legacy cache-manage middleware)."},
	{Name: "cache_image", Check: gAdmin, Description: "Queue an image for caching (PUT /v2/cache/{image_id})."},
	{Name: "cache_list", Check: gAdmin, Description: "List cached and queued images (GET /v2/cache)."},
	{Name: "cache_delete", Check: gAdmin, Description: "Remove images from the cache or queue (DELETE /v2/cache, /v2/cache/{image_id})."},
	{Name: "stores_info_detail", Check: gAdmin, Description: "Show store details, backend settings included (GET /v2/info/stores/detail)."},

	// Tasks: reached only through tasks_api_access, which is admin-only.
	{Name: "get_task", Check: "rule:default", Description: "Show a task (GET /v2/tasks/{task_id})."},
	{Name: "get_tasks", Check: "rule:default", Description: "List tasks (GET /v2/tasks)."},
	{Name: "add_task", Check: "rule:default", Description: "Create a task (POST /v2/tasks)."},
	{Name: "modify_task", Check: "rule:default", Description: "Kept for old policy files; no operation checks it."},
	{Name: "tasks_api_access", Check: gAdmin, Description: "Use the tasks API at all; checked before the other task rules."},

	// Metadata definitions: anyone with a reader role may read public
	// namespaces and their contents, only admins change them.
	{Name: "metadef_default", Check: "", Description: "Base rule that old policy files point metadata definition reads at."},
	{Name: "metadef_admin", Check: gAdmin, Description: "Base rule for changing metadata definitions."},
	{Name: "get_metadef_namespace", Check: gGetNamespace, Description: "Show a namespace (GET /v2/metadefs/namespaces/{namespace_name})."},
	{Name: "get_metadef_namespaces", Check: gAdminOrReader, Description: "List namespaces (GET /v2/metadefs/namespaces)."},
	{Name: "modify_metadef_namespace", Check: "rule:metadef_admin", Description: "Update a namespace."},
	{Name: "add_metadef_namespace", Check: "rule:metadef_admin", Description: "Create a namespace."},
	{Name: "delete_metadef_namespace", Check: "rule:metadef_admin", Description: "Delete a namespace."},
	{Name: "get_metadef_object", Check: gGetNamespace, Description: "Show an object of a namespace."},
	{Name: "get_metadef_objects", Check: gGetNamespace, Description: "List the objects of a namespace."},
	{Name: "modify_metadef_object", Check: "rule:metadef_admin", Description: "Update an object of a namespace."},
	{Name: "add_metadef_object", Check: "rule:metadef_admin", Description: "Create an object in a namespace."},
	{Name: "delete_metadef_object", Check: "rule:metadef_admin", Description: "Delete an object of a namespace."},
	{Name: "list_metadef_resource_types", Check: gGetNamespace, Description: "List resource types."},
	{Name: "get_metadef_resource_type", Check: gGetNamespace, Description: "List a namespace's resource type associations."},
	{Name: "add_metadef_resource_type_association", Check: "rule:metadef_admin", Description: "Associate a resource type with a namespace."},
	{Name: "remove_metadef_resource_type_association", Check: "rule:metadef_admin", Description: "Remove a resource type association."},
	{Name: "get_metadef_property", Check: gGetNamespace, Description: "Show a property of a namespace."},
	{Name: "get_metadef_properties", Check: gGetNamespace, Description: "List the properties of a namespace."},
	{Name: "modify_metadef_property", Check: "rule:metadef_admin", Description: "Update a property of a namespace."},
	{Name: "add_metadef_property", Check: "rule:metadef_admin", Description: "Create a property in a namespace."},
	{Name: "remove_metadef_property", Check: "rule:metadef_admin", Description: "Delete a property of a namespace."},
	{Name: "get_metadef_tag", Check: gGetNamespace, Description: "Show a tag of a namespace."},
	{Name: "get_metadef_tags", Check: gGetNamespace, Description: "List the tags of a namespace."},
	{Name: "modify_metadef_tag", Check: "rule:metadef_admin", Description: "Update a tag of a namespace."},
	{Name: "add_metadef_tag", Check: "rule:metadef_admin", Description: "Create a tag in a namespace."},
	{Name: "add_metadef_tags", Check: "rule:metadef_admin", Description: "Create several tags in a namespace."},
	{Name: "delete_metadef_tag", Check: "rule:metadef_admin", Description: "Delete a tag of a namespace."},
	{Name: "delete_metadef_tags", Check: "rule:metadef_admin", Description: "Delete all tags of a namespace."},
}
