package policy

// Check strings shared by several Glance rules. In Glance's targets
// %(project_id)s is the image owner and %(member_id)s the caller's membership,
// while a bare project_id on the left is the caller's project.
const (
	glanceAdminOrMember = "role:admin or (role:member and project_id:%(project_id)s)"
	glanceAdminOrReader = "role:admin or (role:reader and project_id:%(project_id)s)"
	glanceVisible       = "(project_id:%(project_id)s or project_id:%(member_id)s or 'community':%(visibility)s or 'public':%(visibility)s or 'shared':%(visibility)s)"
	glanceMetadefRead   = "role:admin or (role:reader and (project_id:%(project_id)s or 'public':%(visibility)s))"
)

// GlanceDefaults are Glance's (Zed) default rules, by name and behaviour, so
// an operator's Glance policy.yaml applies unchanged.
var GlanceDefaults = []Rule{
	{"default", "", "Used for rules that are not defined."},
	{"context_is_admin", "role:admin", "Who is an administrator (what is_admin:True tests)."},
	{"add_image", "role:admin or (role:member and project_id:%(project_id)s and project_id:%(owner)s)", "Create an image."},
	{"delete_image", glanceAdminOrMember, "Delete an image."},
	{"get_image", "role:admin or (role:reader and " + glanceVisible + ")", "Show an image."},
	{"get_images", glanceAdminOrReader, "List images."},
	{"modify_image", glanceAdminOrMember, "Update an image (properties and tags)."},
	{"publicize_image", "role:admin", "Make an image public."},
	{"communitize_image", glanceAdminOrMember, "Make an image community."},
	{"download_image", "role:admin or (role:member and " + glanceVisible + ")", "Download image data."},
	{"upload_image", glanceAdminOrMember, "Upload image data."},
	{"delete_image_location", "role:admin", "Delete an image location."},
	{"get_image_location", glanceAdminOrReader, "Show image locations."},
	{"set_image_location", glanceAdminOrMember, "Set image locations."},
	{"add_member", glanceAdminOrMember, "Share an image with a project."},
	{"delete_member", glanceAdminOrMember, "Stop sharing an image with a project."},
	{"get_member", "role:admin or role:reader and (project_id:%(project_id)s or project_id:%(member_id)s)", "Show an image member."},
	{"get_members", "role:admin or role:reader and (project_id:%(project_id)s or project_id:%(member_id)s)", "List image members."},
	{"modify_member", "role:admin or (role:member and project_id:%(member_id)s)", "Accept or reject a shared image."},
	{"manage_image_cache", "role:admin", "Manage the image cache."},
	{"deactivate", glanceAdminOrMember, "Deactivate an image."},
	{"reactivate", glanceAdminOrMember, "Reactivate an image."},
	{"copy_image", "role:admin", "Copy an image to other stores (copy-image import)."},
	{"get_task", "rule:default", "Show a task."},
	{"get_tasks", "rule:default", "List tasks."},
	{"add_task", "rule:default", "Create a task."},
	{"modify_task", "rule:default", "Update a task."},
	{"tasks_api_access", "role:admin", "Use the tasks API at all."},
	{"metadef_default", "", "Base rule for reading metadata definitions."},
	{"metadef_admin", "role:admin", "Base rule for changing metadata definitions."},
	{"get_metadef_namespace", glanceMetadefRead, "Show a metadata definition namespace."},
	{"get_metadef_namespaces", glanceAdminOrReader, "List metadata definition namespaces."},
	{"modify_metadef_namespace", "rule:metadef_admin", "Update a namespace."},
	{"add_metadef_namespace", "rule:metadef_admin", "Create a namespace."},
	{"delete_metadef_namespace", "rule:metadef_admin", "Delete a namespace."},
	{"get_metadef_object", glanceMetadefRead, "Show a metadata definition object."},
	{"get_metadef_objects", glanceMetadefRead, "List metadata definition objects."},
	{"modify_metadef_object", "rule:metadef_admin", "Update a metadata definition object."},
	{"add_metadef_object", "rule:metadef_admin", "Create a metadata definition object."},
	{"delete_metadef_object", "rule:metadef_admin", "Delete a metadata definition object."},
	{"list_metadef_resource_types", glanceMetadefRead, "List metadata definition resource types."},
	{"get_metadef_resource_type", glanceMetadefRead, "Show resource type associations."},
	{"add_metadef_resource_type_association", "rule:metadef_admin", "Associate a resource type with a namespace."},
	{"remove_metadef_resource_type_association", "rule:metadef_admin", "Remove a resource type association."},
	{"get_metadef_property", glanceMetadefRead, "Show a metadata definition property."},
	{"get_metadef_properties", glanceMetadefRead, "List metadata definition properties."},
	{"modify_metadef_property", "rule:metadef_admin", "Update a metadata definition property."},
	{"add_metadef_property", "rule:metadef_admin", "Create a metadata definition property."},
	{"remove_metadef_property", "rule:metadef_admin", "Delete a metadata definition property."},
	{"get_metadef_tag", glanceMetadefRead, "Show a metadata definition tag."},
	{"get_metadef_tags", glanceMetadefRead, "List metadata definition tags."},
	{"modify_metadef_tag", "rule:metadef_admin", "Update a metadata definition tag."},
	{"add_metadef_tag", "rule:metadef_admin", "Create a metadata definition tag."},
	{"add_metadef_tags", "rule:metadef_admin", "Create metadata definition tags."},
	{"delete_metadef_tag", "rule:metadef_admin", "Delete a metadata definition tag."},
	{"delete_metadef_tags", "rule:metadef_admin", "Delete metadata definition tags."},
	{"cache_image", "role:admin", "Queue an image for caching."},
	{"cache_list", "role:admin", "List cached images."},
	{"cache_delete", "role:admin", "Remove images from the cache."},
	{"stores_info_detail", "role:admin", "Show store details (GET /v2/info/stores/detail)."},
}
