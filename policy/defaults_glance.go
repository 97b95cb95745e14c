package policy

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

// GlanceDefaults are Glance's default rules (Zed), by name and by behaviour,
// so that a Glance policy.yaml applies here unchanged.
//
// Note that Glance's "default" rule is "" (always allowed): in an enforcer
// that loads these, a rule name that no list or file defines is allowed. An
// operator who wants the opposite sets "default" in the policy file.
var GlanceDefaults = []Rule{
	// Base rules.
	{"default", "", "Used for any rule that is not defined; Glance's tasks rules also refer to it."},
	{"context_is_admin", gAdmin, "Who is an administrator: what is_admin:True tests."},

	// Images.
	{"add_image", gCreateImage, "Create an image (POST /v2/images). Only an admin may set another project as owner."},
	{"delete_image", gAdminOrMember, "Delete an image (DELETE /v2/images/{image_id})."},
	{"get_image", gGetImage, "Show an image (GET /v2/images/{image_id}). Denial reads as 404, not 403."},
	{"get_images", gAdminOrReader, "List images (GET /v2/images); the target is the caller's project."},
	{"modify_image", gAdminOrMember, "Update an image (PATCH /v2/images/{image_id}), its tags (PUT and DELETE /v2/images/{image_id}/tags/{tag}), and stage data (PUT /v2/images/{image_id}/stage)."},
	{"publicize_image", gAdmin, "Make an image public, at creation or by update."},
	{"communitize_image", gAdminOrMember, "Make an image community, at creation or by update."},
	{"download_image", gDownloadImage, "Download image data (GET /v2/images/{image_id}/file)."},
	{"upload_image", gAdminOrMember, "Upload image data (PUT /v2/images/{image_id}/file)."},
	{"delete_image_location", gAdmin, "Remove an image location (PATCH /v2/images/{image_id})."},
	{"get_image_location", gAdminOrReader, "Show image locations (GET /v2/images/{image_id} with show_multiple_locations)."},
	{"set_image_location", gAdminOrMember, "Add or replace image locations (PATCH /v2/images/{image_id})."},
	{"deactivate", gAdminOrMember, "Deactivate an image (POST /v2/images/{image_id}/actions/deactivate)."},
	{"reactivate", gAdminOrMember, "Reactivate an image (POST /v2/images/{image_id}/actions/reactivate)."},
	{"copy_image", gAdmin, "Copy existing image data to more stores (POST /v2/images/{image_id}/import with copy-image)."},

	// Image members: the owner shares, the member accepts or rejects.
	{"add_member", gAdminOrMember, "Share an image with a project (POST /v2/images/{image_id}/members)."},
	{"delete_member", gAdminOrMember, "Stop sharing an image with a project (DELETE /v2/images/{image_id}/members/{member_id})."},
	{"get_member", gAdminOrReaderOrSharedMember, "Show an image member (GET /v2/images/{image_id}/members/{member_id})."},
	{"get_members", gAdminOrReaderOrSharedMember, "List image members (GET /v2/images/{image_id}/members)."},
	{"modify_member", gAdminOrSharedMember, "Accept or reject a shared image, as the member (PUT /v2/images/{image_id}/members/{member_id})."},

	// Cache and stores.
	{"manage_image_cache", gAdmin, "Manage the image cache (the legacy cache-manage middleware)."},
	{"cache_image", gAdmin, "Queue an image for caching (PUT /v2/cache/{image_id})."},
	{"cache_list", gAdmin, "List cached and queued images (GET /v2/cache)."},
	{"cache_delete", gAdmin, "Remove images from the cache or queue (DELETE /v2/cache, /v2/cache/{image_id})."},
	{"stores_info_detail", gAdmin, "Show store details, backend settings included (GET /v2/info/stores/detail)."},

	// Tasks: reached only through tasks_api_access, which is admin-only.
	{"get_task", "rule:default", "Show a task (GET /v2/tasks/{task_id})."},
	{"get_tasks", "rule:default", "List tasks (GET /v2/tasks)."},
	{"add_task", "rule:default", "Create a task (POST /v2/tasks)."},
	{"modify_task", "rule:default", "Kept for old policy files; no operation checks it."},
	{"tasks_api_access", gAdmin, "Use the tasks API at all; checked before the other task rules."},

	// Metadata definitions: anyone with a reader role may read public
	// namespaces and their contents, only admins change them.
	{"metadef_default", "", "Base rule that old policy files point metadata definition reads at."},
	{"metadef_admin", gAdmin, "Base rule for changing metadata definitions."},
	{"get_metadef_namespace", gGetNamespace, "Show a namespace (GET /v2/metadefs/namespaces/{namespace_name})."},
	{"get_metadef_namespaces", gAdminOrReader, "List namespaces (GET /v2/metadefs/namespaces)."},
	{"modify_metadef_namespace", "rule:metadef_admin", "Update a namespace."},
	{"add_metadef_namespace", "rule:metadef_admin", "Create a namespace."},
	{"delete_metadef_namespace", "rule:metadef_admin", "Delete a namespace."},
	{"get_metadef_object", gGetNamespace, "Show an object of a namespace."},
	{"get_metadef_objects", gGetNamespace, "List the objects of a namespace."},
	{"modify_metadef_object", "rule:metadef_admin", "Update an object of a namespace."},
	{"add_metadef_object", "rule:metadef_admin", "Create an object in a namespace."},
	{"delete_metadef_object", "rule:metadef_admin", "Delete an object of a namespace."},
	{"list_metadef_resource_types", gGetNamespace, "List resource types."},
	{"get_metadef_resource_type", gGetNamespace, "List a namespace's resource type associations."},
	{"add_metadef_resource_type_association", "rule:metadef_admin", "Associate a resource type with a namespace."},
	{"remove_metadef_resource_type_association", "rule:metadef_admin", "Remove a resource type association."},
	{"get_metadef_property", gGetNamespace, "Show a property of a namespace."},
	{"get_metadef_properties", gGetNamespace, "List the properties of a namespace."},
	{"modify_metadef_property", "rule:metadef_admin", "Update a property of a namespace."},
	{"add_metadef_property", "rule:metadef_admin", "Create a property in a namespace."},
	{"remove_metadef_property", "rule:metadef_admin", "Delete a property of a namespace."},
	{"get_metadef_tag", gGetNamespace, "Show a tag of a namespace."},
	{"get_metadef_tags", gGetNamespace, "List the tags of a namespace."},
	{"modify_metadef_tag", "rule:metadef_admin", "Update a tag of a namespace."},
	{"add_metadef_tag", "rule:metadef_admin", "Create a tag in a namespace."},
	{"add_metadef_tags", "rule:metadef_admin", "Create several tags in a namespace."},
	{"delete_metadef_tag", "rule:metadef_admin", "Delete a tag of a namespace."},
	{"delete_metadef_tags", "rule:metadef_admin", "Delete all tags of a namespace."},
}
