package api

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/glance"
)

// mdObjectView is an object of a namespace.
type mdObjectView struct {
	glance.MetadefObject
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
	Self      string `json:"self"`
	Schema    string `json:"schema"`
}

// mdTagView is a tag; lists show only names.
type mdTagView struct {
	Name      string `json:"name"`
	CreatedAt string `json:"created_at,omitempty"`
	UpdatedAt string `json:"updated_at,omitempty"`
}

// answer writes v (nothing when nil) with status, or err as the image API's error.
func (a *API) answer(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	switch {
	case err != nil:
		a.fail(w, r, err)
	case v == nil:
		w.WriteHeader(status)
	default:
		httpx.WriteJSON(w, status, v)
	}
}

func objectView(ns string, o glance.MetadefObject) mdObjectView {
	if o.Required == nil {
		o.Required = []string{}
	}
	return mdObjectView{MetadefObject: o, CreatedAt: glanceTime(o.CreatedAt), UpdatedAt: glanceTime(o.UpdatedAt),
		Self: namespaceHref(ns) + "/objects/" + o.Name, Schema: "/v2/schemas/metadefs/object"}
}

func tagView(t glance.MetadefTag) mdTagView {
	return mdTagView{Name: t.Name, CreatedAt: glanceTime(t.CreatedAt), UpdatedAt: glanceTime(t.UpdatedAt)}
}

var (
	propertyKeys = []string{"name", "title", "description", "operators", "type", "required", "minimum", "maximum",
		"maxLength", "minLength", "pattern", "enum", "readonly", "default", "items", "maxItems", "minItems",
		"uniqueItems", "additionalItems", "confidential"}
	objectKeys = []string{"name", "description", "required", "properties"}
)

func (a *API) listMetadefProperties(w http.ResponseWriter, r *http.Request) {
	props, err := a.svc.ListMetadefProperties(r.Context(), a.caller(r), mux.Vars(r)["namespace"])
	a.answer(w, r, http.StatusOK, map[string]any{"properties": props}, err)
}

func (a *API) showMetadefProperty(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	p, err := a.svc.MetadefProperty(r.Context(), a.caller(r), v["namespace"], v["name"])
	a.answer(w, r, http.StatusOK, p, err)
}

func (a *API) createMetadefProperty(w http.ResponseWriter, r *http.Request) {
	var p glance.MetadefProperty
	if !decodeMetadef(w, r, "property", propertyKeys, &p) {
		return
	}
	p, err := a.svc.CreateMetadefProperty(r.Context(), a.caller(r), mux.Vars(r)["namespace"], p)
	a.answer(w, r, http.StatusCreated, p, err)
}

func (a *API) updateMetadefProperty(w http.ResponseWriter, r *http.Request) {
	var p glance.MetadefProperty
	if !decodeMetadef(w, r, "property", propertyKeys, &p) {
		return
	}
	v := mux.Vars(r)
	p, err := a.svc.UpdateMetadefProperty(r.Context(), a.caller(r), v["namespace"], v["name"], p)
	a.answer(w, r, http.StatusOK, p, err)
}

func (a *API) deleteMetadefProperty(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	a.answer(w, r, http.StatusNoContent, nil, a.svc.DeleteMetadefProperty(r.Context(), a.caller(r), v["namespace"], v["name"]))
}

// listMetadefObjects answers with Glance's schema link, which lacks the
// leading slash there too.
func (a *API) listMetadefObjects(w http.ResponseWriter, r *http.Request) {
	ns := mux.Vars(r)["namespace"]
	objs, err := a.svc.ListMetadefObjects(r.Context(), a.caller(r), ns)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	views := make([]mdObjectView, len(objs))
	for i, o := range objs {
		views[i] = objectView(ns, o)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"objects": views, "schema": "v2/schemas/metadefs/objects"})
}

func (a *API) showMetadefObject(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	o, err := a.svc.MetadefObject(r.Context(), a.caller(r), v["namespace"], v["name"])
	a.answer(w, r, http.StatusOK, objectView(v["namespace"], o), err)
}

func (a *API) createMetadefObject(w http.ResponseWriter, r *http.Request) {
	var o glance.MetadefObject
	if !decodeMetadef(w, r, "object", objectKeys, &o) {
		return
	}
	ns := mux.Vars(r)["namespace"]
	o, err := a.svc.CreateMetadefObject(r.Context(), a.caller(r), ns, o)
	a.answer(w, r, http.StatusCreated, objectView(ns, o), err)
}

func (a *API) updateMetadefObject(w http.ResponseWriter, r *http.Request) {
	var o glance.MetadefObject
	if !decodeMetadef(w, r, "object", objectKeys, &o) {
		return
	}
	v := mux.Vars(r)
	o, err := a.svc.UpdateMetadefObject(r.Context(), a.caller(r), v["namespace"], v["name"], o)
	a.answer(w, r, http.StatusOK, objectView(v["namespace"], o), err)
}

func (a *API) deleteMetadefObject(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	a.answer(w, r, http.StatusNoContent, nil, a.svc.DeleteMetadefObject(r.Context(), a.caller(r), v["namespace"], v["name"]))
}

func (a *API) listMetadefTags(w http.ResponseWriter, r *http.Request) {
	tags, err := a.svc.ListMetadefTags(r.Context(), a.caller(r), mux.Vars(r)["namespace"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	views := make([]mdTagView, len(tags))
	for i, t := range tags {
		views[i] = mdTagView{Name: t.Name}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"tags": views})
}

func (a *API) showMetadefTag(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	t, err := a.svc.MetadefTag(r.Context(), a.caller(r), v["namespace"], v["name"])
	a.answer(w, r, http.StatusOK, tagView(t), err)
}

// createMetadefTag answers POST .../tags/{name}, which takes no body.
func (a *API) createMetadefTag(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > 0 {
		badRequest(w, r, "A body is not expected with this request.")
		return
	}
	v := mux.Vars(r)
	t, err := a.svc.CreateMetadefTag(r.Context(), a.caller(r), v["namespace"], v["name"])
	a.answer(w, r, http.StatusCreated, tagView(t), err)
}

// createMetadefTags answers POST .../tags {"tags":[{"name":...}]}: the
// tags replace the namespace's, or join them with X-Openstack-Append true.
func (a *API) createMetadefTags(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Tags []mdTagView `json:"tags"`
	}
	if !decodeMetadef(w, r, "tags", []string{"tags"}, &body) {
		return
	}
	names := make([]string, len(body.Tags))
	for i, t := range body.Tags {
		names[i] = t.Name
	}
	tags, err := a.svc.CreateMetadefTags(r.Context(), a.caller(r), mux.Vars(r)["namespace"], names, truthy(r.Header.Get("X-Openstack-Append")))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	views := make([]mdTagView, len(tags))
	for i, t := range tags {
		views[i] = mdTagView{Name: t.Name}
	}
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{"tags": views})
}

// truthy is oslo's bool_from_string: anything else is false.
func truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "on", "y", "yes":
		return true
	}
	return false
}

func (a *API) updateMetadefTag(w http.ResponseWriter, r *http.Request) {
	var body mdTagView
	if !decodeMetadef(w, r, "tag", []string{"name"}, &body) {
		return
	}
	v := mux.Vars(r)
	t, err := a.svc.UpdateMetadefTag(r.Context(), a.caller(r), v["namespace"], v["name"], body.Name)
	a.answer(w, r, http.StatusOK, tagView(t), err)
}

func (a *API) deleteMetadefTag(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	a.answer(w, r, http.StatusNoContent, nil, a.svc.DeleteMetadefTag(r.Context(), a.caller(r), v["namespace"], v["name"]))
}

// listMetadefResourceTypes answers GET /v2/metadefs/resource_types.
func (a *API) listMetadefResourceTypes(w http.ResponseWriter, r *http.Request) {
	rts, err := a.svc.ListMetadefResourceTypes(r.Context(), a.caller(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	views := make([]mdAssociationView, len(rts))
	for i, t := range rts {
		views[i] = mdAssociationView{Name: t.Name, CreatedAt: glanceTime(t.CreatedAt), UpdatedAt: glanceTime(t.UpdatedAt)}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"resource_types": views})
}

func (a *API) listMetadefAssociations(w http.ResponseWriter, r *http.Request) {
	as, err := a.svc.ListMetadefAssociations(r.Context(), a.caller(r), mux.Vars(r)["namespace"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	views := make([]mdAssociationView, len(as))
	for i, x := range as {
		views[i] = associationView(x)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"resource_type_associations": views})
}

func (a *API) createMetadefAssociation(w http.ResponseWriter, r *http.Request) {
	var body mdAssociationView
	if !decodeMetadef(w, r, "resource_type_association", []string{"name", "prefix", "properties_target"}, &body) {
		return
	}
	as, err := a.svc.AssociateMetadefResourceType(r.Context(), a.caller(r), mux.Vars(r)["namespace"],
		glance.MetadefAssociation{Name: body.Name, Prefix: body.Prefix, PropertiesTarget: body.PropertiesTarget})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, associationView(as))
}

func (a *API) deleteMetadefAssociation(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	a.answer(w, r, http.StatusNoContent, nil, a.svc.DissociateMetadefResourceType(r.Context(), a.caller(r), v["namespace"], v["name"]))
}
