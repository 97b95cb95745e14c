package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
)

// The /v2/schemas/metadefs/* documents, shaped as Glance's: glanceclient
// builds its md-* commands and validates what it reads from them.

type schema = map[string]any

var mdTypeEnum = []any{"array", "boolean", "integer", "number", "object", "string", nil}

func str(extra ...any) schema { return withExtra(schema{"type": "string"}, extra...) }

func withExtra(s schema, extra ...any) schema {
	for i := 0; i+1 < len(extra); i += 2 {
		s[extra[i].(string)] = extra[i+1]
	}
	return s
}

func stamp(what string) schema {
	return str("readOnly", true, "description", what, "format", "date-time")
}

func ref(name string) schema { return schema{"$ref": "#/definitions/" + name} }

// mdDefinitions are the shared definitions; strictStrings makes string
// arrays non-empty, as in Glance's property schemas.
func mdDefinitions(withProperty, strictStrings bool) schema {
	arr := schema{"type": "array", "items": str(), "uniqueItems": true}
	if strictStrings {
		arr["minItems"] = 1
	}
	d := schema{
		"positiveInteger":         schema{"type": "integer", "minimum": 0},
		"positiveIntegerDefault0": schema{"allOf": []any{ref("positiveInteger"), schema{"default": 0}}},
		"stringArray":             arr,
	}
	if withProperty {
		d["property"] = schema{"type": "object", "additionalProperties": schema{"type": "object",
			"required": []string{"title", "type"}, "properties": mdPropertyFields()}}
	}
	return d
}

// mdPropertyFields are the fields of a property definition.
func mdPropertyFields() schema {
	return schema{
		"name": str("maxLength", 80), "title": str(), "description": str(),
		"operators": schema{"type": "array", "items": str()},
		"type":      str("enum", mdTypeEnum), "required": ref("stringArray"),
		"minimum": schema{"type": "number"}, "maximum": schema{"type": "number"},
		"maxLength": ref("positiveInteger"), "minLength": ref("positiveIntegerDefault0"),
		"pattern": str("format", "regex"), "enum": schema{"type": "array"},
		"readonly": schema{"type": "boolean"}, "default": schema{},
		"items":    schema{"type": "object", "properties": schema{"type": str("enum", mdTypeEnum), "enum": schema{"type": "array"}}},
		"maxItems": ref("positiveInteger"), "minItems": ref("positiveIntegerDefault0"),
		"uniqueItems":     schema{"type": "boolean", "default": false},
		"additionalItems": schema{"type": "boolean"},
	}
}

func mdNamespaceSchema() schema {
	obj := func(props schema) schema { return schema{"type": "object", "properties": props} }
	return schema{"name": "namespace", "additionalProperties": false, "required": []string{"namespace"},
		"definitions": mdDefinitions(true, false),
		"properties": schema{
			"namespace":    str("description", "The unique namespace text.", "maxLength", 80),
			"display_name": str("description", "The user friendly name for the namespace. Used by UI if available.", "maxLength", 80),
			"description":  str("description", "Provides a user friendly description of the namespace.", "maxLength", 500),
			"visibility":   str("description", "Scope of namespace accessibility.", "enum", []string{"public", "private"}),
			"protected":    schema{"type": "boolean", "description": "If true, namespace will not be deletable."},
			"owner":        str("description", "Owner of the namespace.", "maxLength", 255),
			"created_at":   stamp("Date and time of namespace creation"),
			"updated_at":   stamp("Date and time of the last namespace modification"),
			"schema":       str("readOnly", true), "self": str("readOnly", true),
			"resource_type_associations": schema{"type": "array", "items": obj(schema{"name": str(), "prefix": str(), "properties_target": str()})},
			"properties":                 ref("property"),
			"objects": schema{"type": "array", "items": obj(schema{"name": str(), "description": str(),
				"required": ref("stringArray"), "properties": ref("property")})},
			"tags": schema{"type": "array", "items": obj(schema{"name": str()})},
		}}
}

func mdObjectSchema() schema {
	return schema{"name": "object", "additionalProperties": false, "required": []string{"name"},
		"definitions": mdDefinitions(true, false),
		"properties": schema{
			"name": str("maxLength", 80), "description": str(), "required": ref("stringArray"),
			"properties": ref("property"), "schema": str("readOnly", true), "self": str("readOnly", true),
			"created_at": stamp("Date and time of object creation"),
			"updated_at": stamp("Date and time of the last object modification"),
		}}
}

func mdPropertySchema() schema {
	return schema{"name": "property", "additionalProperties": false, "required": []string{"type", "title", "name"},
		"definitions": mdDefinitions(false, true), "properties": mdPropertyFields()}
}

func mdAssociationSchema() schema {
	return schema{"name": "resource_type_association", "additionalProperties": false, "required": []string{"name"},
		"properties": schema{
			"name": str("maxLength", 80, "description", "Resource type names should be aligned with Heat resource types "+
				"whenever possible: https://docs.openstack.org/heat/latest/template_guide/openstack.html"),
			"prefix": str("maxLength", 80, "description", "Specifies the prefix to use for the given resource type. Any "+
				"properties in the namespace should be prefixed with this prefix when being applied to the specified "+
				"resource type. Must include prefix separator (e.g. a colon :)."),
			"properties_target": str("maxLength", 80, "description", "Some resource types allow more than one key / value "+
				"pair per instance.  For example, Cinder allows user and image metadata on volumes. Only the image "+
				"properties metadata is evaluated by Nova (scheduling or drivers). This property allows a namespace "+
				"target to remove the ambiguity."),
			"created_at": stamp("Date and time of resource type association"),
			"updated_at": stamp("Date and time of the last resource type association modification"),
		}}
}

func mdTagSchema() schema {
	return schema{"name": "tag", "additionalProperties": false, "required": []string{"name"},
		"properties": schema{"name": str("maxLength", 80),
			"created_at": stamp("Date and time of tag creation"),
			"updated_at": stamp("Date and time of the last tag modification")}}
}

// mdCollection wraps an item schema as Glance's collection schemas do; the
// item's definitions move up to the collection.
func mdCollection(name, key string, item schema, asMap bool) schema {
	defs, hasDefs := item["definitions"]
	delete(item, "definitions")
	var member schema = schema{"type": "array", "items": item}
	if asMap {
		member = schema{"type": "object", "additionalProperties": item}
	}
	s := schema{"name": name,
		"properties": schema{key: member, "first": str(), "next": str(), "schema": str()},
		"links": []map[string]string{{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
			{"rel": "describedby", "href": "{schema}"}}}
	if hasDefs {
		s["definitions"] = defs
	}
	return s
}

// mdSchemaByName is the schema of /v2/schemas/metadefs/{name}, nil when
// Glance has none of that name.
func mdSchemaByName(name string) schema {
	switch name {
	case "namespace":
		return mdNamespaceSchema()
	case "namespaces":
		return mdCollection("namespaces", "namespaces", mdNamespaceSchema(), false)
	case "object":
		return mdObjectSchema()
	case "objects":
		return mdCollection("objects", "objects", mdObjectSchema(), false)
	case "property":
		return mdPropertySchema()
	case "properties":
		p := mdPropertySchema()
		p["required"] = []string{"type", "title"}
		return mdCollection("properties", "properties", p, true)
	case "resource_type":
		return mdAssociationSchema()
	case "resource_types":
		return mdCollection("resource_type_associations", "resource_type_associations", mdAssociationSchema(), false)
	case "tag":
		return mdTagSchema()
	case "tags":
		return mdCollection("tags", "tags", mdTagSchema(), false)
	}
	return nil
}

// showMetadefSchema answers GET /v2/schemas/metadefs/{name}.
func (a *API) showMetadefSchema(w http.ResponseWriter, r *http.Request) {
	s := mdSchemaByName(mux.Vars(r)["name"])
	if s == nil {
		writeError(w, r, http.StatusNotFound, "The resource could not be found.")
		return
	}
	httpx.WriteJSON(w, http.StatusOK, s)
}
