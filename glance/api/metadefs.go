package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
)

// metadefNamespaceView is one namespace of GET /v2/metadefs/namespaces.
type metadefNamespaceView struct {
	Namespace   string `json:"namespace"`
	DisplayName string `json:"display_name,omitempty"`
	Description string `json:"description,omitempty"`
	Visibility  string `json:"visibility"`
	Protected   bool   `json:"protected"`
	Owner       string `json:"owner,omitempty"`
	Self        string `json:"self"`
	Schema      string `json:"schema"`
}

// metadefNamespacesBody answers GET /v2/metadefs/namespaces.
type metadefNamespacesBody struct {
	Namespaces []metadefNamespaceView `json:"namespaces"`
	First      string                 `json:"first"`
	Schema     string                 `json:"schema"`
}

// listMetadefNamespaces answers GET /v2/metadefs/namespaces, which
// Horizon's image, flavor and instance metadata editors and the Launch
// Instance wizard ask for. Filters and paging have nothing to act on.
func (a *API) listMetadefNamespaces(w http.ResponseWriter, r *http.Request) {
	nss, err := a.svc.MetadefNamespaces(a.caller(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	body := metadefNamespacesBody{Namespaces: []metadefNamespaceView{}, First: "/v2/metadefs/namespaces",
		Schema: "/v2/schemas/metadefs/namespaces"}
	for _, n := range nss {
		body.Namespaces = append(body.Namespaces, metadefNamespaceView{Namespace: n.Namespace, DisplayName: n.DisplayName,
			Description: n.Description, Visibility: n.Visibility, Protected: n.Protected, Owner: n.Owner,
			Self: "/v2/metadefs/namespaces/" + n.Namespace, Schema: "/v2/schemas/metadefs/namespace"})
	}
	httpx.WriteJSON(w, http.StatusOK, body)
}

// metadefNamespaceSchema is Glance's schema of a namespace, which
// glanceclient fetches before listing namespaces.
func metadefNamespaceSchema() map[string]any {
	optString := []string{"null", "string"}
	return map[string]any{
		"name":                 "namespace",
		"additionalProperties": false,
		"required":             []string{"namespace"},
		"properties": map[string]any{
			"namespace":    prop("string", "The unique namespace text.", "maxLength", 80),
			"display_name": prop("string", "The user friendly name for the namespace. Used by UI if available.", "maxLength", 80),
			"description":  prop("string", "Provides a user friendly description of the namespace.", "maxLength", 500),
			"visibility":   prop("string", "Scope of namespace accessibility.", "enum", []string{"public", "private"}),
			"protected":    prop("boolean", "If true, namespace will not be deletable."),
			"owner":        prop(optString, "Owner of the namespace.", "maxLength", 255),
			"created_at":   prop("string", "Date and time of namespace creation", "readOnly", true, "format", "date-time"),
			"updated_at":   prop("string", "Date and time of the last namespace modification", "readOnly", true, "format", "date-time"),
			"schema":       prop("string", "The namespace's schema url", "readOnly", true),
			"self":         prop("string", "The namespace's self url", "readOnly", true),
			"resource_type_associations": prop("array", "Resource types the namespace applies to", "items", map[string]any{
				"type": "object", "properties": map[string]any{
					"name": map[string]any{"type": "string"}, "prefix": map[string]any{"type": "string"},
					"properties_target": map[string]any{"type": "string"}}}),
			"properties": prop("object", "The properties the namespace defines", "additionalProperties", map[string]any{"type": "object"}),
			"objects":    prop("array", "The objects the namespace defines", "items", map[string]any{"type": "object"}),
			"tags":       prop("array", "The tags the namespace defines", "items", map[string]any{"type": "object"}),
		},
	}
}

// metadefSchemaByName is the schema of /v2/schemas/metadefs/{name}, nil
// for names without one here.
func metadefSchemaByName(name string) map[string]any {
	switch name {
	case "namespace":
		return metadefNamespaceSchema()
	case "namespaces":
		return map[string]any{
			"name": "namespaces",
			"properties": map[string]any{
				"namespaces": map[string]any{"type": "array", "items": metadefNamespaceSchema()},
				"first":      map[string]any{"type": "string"},
				"next":       map[string]any{"type": "string"},
				"schema":     map[string]any{"type": "string"},
			},
			"links": []map[string]string{
				{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"}, {"rel": "describedby", "href": "{schema}"},
			},
		}
	}
	return nil
}

// showMetadefSchema answers GET /v2/schemas/metadefs/{namespace,namespaces}.
func (a *API) showMetadefSchema(w http.ResponseWriter, r *http.Request) {
	s := metadefSchemaByName(mux.Vars(r)["name"])
	if s == nil {
		writeError(w, r, http.StatusNotFound, "The resource could not be found.")
		return
	}
	httpx.WriteJSON(w, http.StatusOK, s)
}
