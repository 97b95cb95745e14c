package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/glance"
	"imagestack/glance/service"
)

// Metadata definitions (/v2/metadefs): namespaces here, their contents in
// metadef_items.go, schemas in metadef_schemas.go.

// mdAssociationView is one resource type association.
type mdAssociationView struct {
	Name             string `json:"name"`
	Prefix           string `json:"prefix,omitempty"`
	PropertiesTarget string `json:"properties_target,omitempty"`
	CreatedAt        string `json:"created_at,omitempty"`
	UpdatedAt        string `json:"updated_at,omitempty"`
}

// mdNamespaceView is a namespace as Glance renders it: unset fields and
// empty contents are absent.
type mdNamespaceView struct {
	Namespace    string                            `json:"namespace"`
	DisplayName  *string                           `json:"display_name,omitempty"`
	Description  *string                           `json:"description,omitempty"`
	Visibility   string                            `json:"visibility"`
	Protected    bool                              `json:"protected"`
	Owner        string                            `json:"owner"`
	CreatedAt    string                            `json:"created_at"`
	UpdatedAt    string                            `json:"updated_at"`
	Associations []mdAssociationView               `json:"resource_type_associations,omitempty"`
	Properties   map[string]glance.MetadefProperty `json:"properties,omitempty"`
	Objects      []mdObjectView                    `json:"objects,omitempty"`
	Tags         []mdTagView                       `json:"tags,omitempty"`
	Self         string                            `json:"self"`
	Schema       string                            `json:"schema"`
}

// mdNamespaceList answers GET /v2/metadefs/namespaces.
type mdNamespaceList struct {
	Namespaces []mdNamespaceView `json:"namespaces"`
	Next       string            `json:"next,omitempty"`
	Schema     string            `json:"schema"`
	First      string            `json:"first"`
}

func namespaceHref(name string) string { return "/v2/metadefs/namespaces/" + name }

func associationView(a glance.MetadefAssociation) mdAssociationView {
	return mdAssociationView{Name: a.Name, Prefix: a.Prefix, PropertiesTarget: a.PropertiesTarget,
		CreatedAt: glanceTime(a.CreatedAt), UpdatedAt: glanceTime(a.UpdatedAt)}
}

func namespaceView(ns *glance.MetadefNamespace) mdNamespaceView {
	v := mdNamespaceView{Namespace: ns.Namespace, DisplayName: ns.DisplayName, Description: ns.Description,
		Visibility: ns.Visibility, Protected: ns.Protected, Owner: ns.Owner, CreatedAt: glanceTime(ns.CreatedAt),
		UpdatedAt: glanceTime(ns.UpdatedAt), Self: namespaceHref(ns.Namespace), Schema: "/v2/schemas/metadefs/namespace"}
	for _, a := range ns.Associations {
		v.Associations = append(v.Associations, associationView(a))
	}
	return v
}

func namespaceDetailView(d *service.MetadefNamespaceDetail) mdNamespaceView {
	v := namespaceView(d.MetadefNamespace)
	v.Properties = d.Properties
	for _, o := range d.Objects {
		v.Objects = append(v.Objects, objectView(d.Namespace, o))
	}
	for _, t := range d.Tags {
		v.Tags = append(v.Tags, mdTagView{Name: t.Name})
	}
	return v
}

// listMetadefNamespaces answers GET /v2/metadefs/namespaces, which
// Horizon's metadata editors and the Launch Instance wizard ask for.
func (a *API) listMetadefNamespaces(w http.ResponseWriter, r *http.Request) {
	req, err := mdListRequest(r.URL.Query())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	nss, err := a.svc.ListMetadefNamespaces(r.Context(), a.caller(r), req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	body := mdNamespaceList{Namespaces: []mdNamespaceView{}, Schema: "/v2/schemas/metadefs/namespaces"}
	for _, ns := range nss {
		body.Namespaces = append(body.Namespaces, namespaceView(ns))
	}
	q := r.URL.Query()
	q.Del("marker")
	body.First = "/v2/metadefs/namespaces"
	if len(q) > 0 {
		body.First += "?" + q.Encode()
	}
	if len(nss) > 0 && len(nss) == req.Limit {
		q.Set("marker", nss[len(nss)-1].Namespace)
		body.Next = "/v2/metadefs/namespaces?" + q.Encode()
	}
	httpx.WriteJSON(w, http.StatusOK, body)
}

// mdListRequest parses the list's query as Glance does: limit (default
// 25, at most 1000), marker, sort_key, sort_dir, visibility and a comma
// separated resource_types.
func mdListRequest(q url.Values) (service.MetadefListRequest, error) {
	req := service.MetadefListRequest{Limit: 25, SortKey: q.Get("sort_key"), Marker: q.Get("marker"),
		Visibility: q.Get("visibility"), SortDesc: true}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return req, glance.Errorf(glance.ErrBadRequest, "limit param must be an integer")
		}
		if n < 0 {
			return req, glance.Errorf(glance.ErrBadRequest, "limit param must be positive")
		}
		req.Limit = min(n, 1000)
	}
	switch dir := q.Get("sort_dir"); dir {
	case "", "desc":
	case "asc":
		req.SortDesc = false
	default:
		return req, glance.Errorf(glance.ErrBadRequest, "Invalid sort direction: %s", dir)
	}
	if rt := q.Get("resource_types"); rt != "" {
		req.ResourceTypes = strings.Split(rt, ",")
	}
	return req, nil
}

// decodeMetadef reads a metadefs body into v: read-only attributes are 403
// and unknown ones 400, as Glance's schemas have it.
func decodeMetadef(w http.ResponseWriter, r *http.Request, schema string, allowed []string, v any) bool {
	var raw map[string]json.RawMessage
	if !decodeJSON(w, r, &raw) {
		return false
	}
	if raw == nil {
		badRequest(w, r, "Body expected in request.")
		return false
	}
	for key := range raw {
		if slices.Contains([]string{"self", "schema", "created_at", "updated_at"}, key) {
			writeError(w, r, http.StatusForbidden, fmt.Sprintf("Attribute '%s' is read-only.", key))
			return false
		}
		if !slices.Contains(allowed, key) {
			badRequest(w, r, fmt.Sprintf("Provided object does not match schema '%s': Additional properties are not allowed ('%s' was unexpected)", schema, key))
			return false
		}
	}
	b, _ := json.Marshal(raw)
	if err := json.Unmarshal(b, v); err != nil {
		badRequest(w, r, fmt.Sprintf("Provided object does not match schema '%s': %v", schema, err))
		return false
	}
	return true
}

var namespaceKeys = []string{"namespace", "display_name", "description", "visibility", "protected", "owner",
	"resource_type_associations", "properties", "objects", "tags"}

// createMetadefNamespace answers POST /v2/metadefs/namespaces with 201.
func (a *API) createMetadefNamespace(w http.ResponseWriter, r *http.Request) {
	var body service.MetadefNamespaceDoc
	if !decodeMetadef(w, r, "namespace", namespaceKeys, &body) {
		return
	}
	d, err := a.svc.CreateMetadefNamespace(r.Context(), a.caller(r), body.Input())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", namespaceHref(d.Namespace))
	httpx.WriteJSON(w, http.StatusCreated, namespaceDetailView(d))
}

// showMetadefNamespace answers GET /v2/metadefs/namespaces/{namespace};
// ?resource_type=X prefixes property names with X's association prefix.
func (a *API) showMetadefNamespace(w http.ResponseWriter, r *http.Request) {
	d, err := a.svc.MetadefNamespace(r.Context(), a.caller(r), mux.Vars(r)["namespace"], r.URL.Query().Get("resource_type"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, namespaceDetailView(d))
}

// updateMetadefNamespace answers PUT /v2/metadefs/namespaces/{namespace}.
// Contents in the body are ignored, as in Glance.
func (a *API) updateMetadefNamespace(w http.ResponseWriter, r *http.Request) {
	var body service.MetadefNamespaceDoc
	if !decodeMetadef(w, r, "namespace", namespaceKeys, &body) {
		return
	}
	ns, err := a.svc.UpdateMetadefNamespace(r.Context(), a.caller(r), mux.Vars(r)["namespace"], body.Input())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v := namespaceView(ns)
	v.Associations = nil
	httpx.WriteJSON(w, http.StatusOK, v)
}

// deleteMetadefNamespace answers DELETE /v2/metadefs/namespaces/{namespace} with 204.
func (a *API) deleteMetadefNamespace(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.DeleteMetadefNamespace(r.Context(), a.caller(r), mux.Vars(r)["namespace"]); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// deleteMetadefContents answers DELETE .../{properties,objects,tags}: every
// entry of that kind goes.
func (a *API) deleteMetadefContents(kind glance.MetadefKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := a.svc.DeleteMetadefContents(r.Context(), a.caller(r), mux.Vars(r)["namespace"], kind); err != nil {
			a.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}
