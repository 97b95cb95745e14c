package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/glance"
)

const uuidRegex = "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"

// prop builds one JSON-schema property.
func prop(typ any, desc string, extra ...any) map[string]any {
	p := map[string]any{"type": typ, "description": desc}
	for i := 0; i+1 < len(extra); i += 2 {
		p[extra[i].(string)] = extra[i+1]
	}
	return p
}

// nullableEnum is an enum that also admits null (formats may be unset).
func nullableEnum(values []string) []any {
	out := []any{nil}
	for _, v := range values {
		out = append(out, v)
	}
	return out
}

// imageSchema describes exactly what imageView renders: glanceclient
// validates every image it receives against it.
func imageSchema() map[string]any {
	optString := []string{"null", "string"}
	optInt := []string{"null", "integer"}
	return map[string]any{
		"name": "image",
		"properties": map[string]any{
			"id":               prop("string", "An identifier for the image", "pattern", uuidRegex),
			"name":             prop(optString, "Descriptive name for the image", "maxLength", 255),
			"status":           prop("string", "Status of the image", "readOnly", true, "enum", glance.Statuses),
			"visibility":       prop("string", "Scope of image accessibility", "enum", glance.Visibilities),
			"protected":        prop("boolean", "If true, image will not be deletable."),
			"os_hidden":        prop("boolean", "If true, image will not appear in default image list response."),
			"checksum":         prop(optString, "md5 hash of image contents.", "readOnly", true, "maxLength", 32),
			"os_hash_algo":     prop(optString, "Algorithm to calculate the os_hash_value", "readOnly", true, "maxLength", 64),
			"os_hash_value":    prop(optString, "Hexdigest of the image contents using the algorithm specified by the os_hash_algo", "readOnly", true, "maxLength", 128),
			"owner":            prop(optString, "Owner of the image", "maxLength", 255),
			"size":             prop(optInt, "Size of image file in bytes", "readOnly", true),
			"virtual_size":     prop(optInt, "Virtual size of image in bytes", "readOnly", true),
			"container_format": prop(optString, "Format of the container", "enum", nullableEnum(glance.ContainerFormats)),
			"disk_format":      prop(optString, "Format of the disk", "enum", nullableEnum(glance.DiskFormats)),
			"created_at":       prop("string", "Date and time of image registration", "readOnly", true),
			"updated_at":       prop("string", "Date and time of the last image modification", "readOnly", true),
			"tags":             prop("array", "List of strings related to the image", "items", map[string]any{"type": "string", "maxLength": 255}),
			"min_ram":          prop("integer", "Amount of ram (in MB) required to boot image."),
			"min_disk":         prop("integer", "Amount of disk space (in GB) required to boot image."),
			"self":             prop("string", "An image self url", "readOnly", true),
			"file":             prop("string", "An image file url", "readOnly", true),
			"schema":           prop("string", "An image schema url", "readOnly", true),
			"direct_url":       prop("string", "URL to access the image file kept in external store", "readOnly", true),
			"stores":           prop("string", "Store in which image data resides (only with several stores)", "readOnly", true),
			"locations": prop("array", "A set of URLs to access the image file kept in external store", "items",
				map[string]any{"type": "object", "properties": map[string]any{
					"url": map[string]any{"type": "string", "maxLength": 255}, "metadata": map[string]any{"type": "object"},
					"validation_data": map[string]any{"type": "object", "writeOnly": true, "additionalProperties": false,
						"description": "Values to be used to populate the corresponding image properties. If the image status is not 'queued', values must exactly match those already contained in the image properties.",
						"properties": map[string]any{"checksum": map[string]any{"type": "string", "minLength": 32, "maxLength": 32},
							"os_hash_algo": map[string]any{"type": "string", "maxLength": 64}, "os_hash_value": map[string]any{"type": "string", "maxLength": 128}},
						"required": []string{"os_hash_algo", "os_hash_value"}}},
					"required": []string{"url", "metadata"}}),
			// Optional base properties: stored as extra properties, but
			// glanceclient only sends the options its schema names.
			"kernel_id":                prop(optString, "ID of image stored in Glance that should be used as the kernel when booting an AMI-style image.", "pattern", uuidRegex, "is_base", false),
			"ramdisk_id":               prop(optString, "ID of image stored in Glance that should be used as the ramdisk when booting an AMI-style image.", "pattern", uuidRegex, "is_base", false),
			"instance_uuid":            prop("string", "Metadata which can be used to record which instance this image is associated with.", "is_base", false),
			"architecture":             prop("string", "Operating system architecture", "is_base", false),
			"os_distro":                prop("string", "Common name of operating system distribution", "is_base", false),
			"os_version":               prop("string", "Operating system version as specified by the distributor.", "is_base", false),
			"description":              prop("string", "A human-readable string describing this image.", "is_base", false),
			"cinder_encryption_key_id": prop("string", "Identifier in the key manager for the encryption key of this image's volumes.", "is_base", false),
			"cinder_encryption_key_deletion_policy": prop("string", "When to delete the key of cinder_encryption_key_id.", "enum",
				[]string{"on_image_deletion", "do_not_delete"}, "is_base", false),
		},
		"additionalProperties": map[string]any{"type": "string"},
		"links": []map[string]string{
			{"rel": "self", "href": "{self}"},
			{"rel": "enclosure", "href": "{file}"},
			{"rel": "describedby", "href": "{schema}"},
		},
	}
}

func memberSchema() map[string]any {
	return map[string]any{
		"name": "member",
		"properties": map[string]any{
			"member_id":  prop("string", "An identifier for the image member (tenantId)"),
			"image_id":   prop("string", "An identifier for the image", "pattern", uuidRegex),
			"created_at": prop("string", "Date and time of image member creation"),
			"updated_at": prop("string", "Date and time of last modification of image member"),
			"status":     prop("string", "The status of this image member", "enum", []string{glance.MemberPending, glance.MemberAccepted, glance.MemberRejected}),
			"schema":     map[string]any{"readOnly": true, "type": "string"},
		},
	}
}

func schemaByName(name string) map[string]any {
	switch name {
	case "image":
		return imageSchema()
	case "images":
		return map[string]any{
			"name": "images",
			"properties": map[string]any{
				"images": map[string]any{"type": "array", "items": imageSchema()},
				"first":  map[string]any{"type": "string"},
				"next":   map[string]any{"type": "string"},
				"schema": map[string]any{"type": "string"},
			},
			"links": []map[string]string{
				{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"}, {"rel": "describedby", "href": "{schema}"},
			},
		}
	case "task":
		return taskSchema()
	case "tasks":
		return tasksSchema()
	case "member":
		return memberSchema()
	case "members":
		return map[string]any{
			"name": "members",
			"properties": map[string]any{
				"members": map[string]any{"type": "array", "items": memberSchema()},
				"schema":  map[string]any{"type": "string"},
			},
			"links": []map[string]string{{"rel": "describedby", "href": "{schema}"}},
		}
	}
	return nil
}

// showSchema answers GET /v2/schemas/{image,images,member,members,task,tasks}.
func (a *API) showSchema(w http.ResponseWriter, r *http.Request) {
	s := schemaByName(mux.Vars(r)["name"])
	if s == nil {
		writeError(w, r, http.StatusNotFound, "The resource could not be found.")
		return
	}
	httpx.WriteJSON(w, http.StatusOK, s)
}

// showUsage answers GET /v2/info/usage: the caller's project's limits and
// usage (empty when unified limits are off, as Glance).
func (a *API) showUsage(w http.ResponseWriter, r *http.Request) {
	u, err := a.svc.Usage(r.Context(), a.caller(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	body := usageBody{Usage: map[string]usageView{}}
	for name, v := range u {
		body.Usage[name] = usageView{Limit: v.Limit, Usage: v.Usage}
	}
	httpx.WriteJSON(w, http.StatusOK, body)
}
