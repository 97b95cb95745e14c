package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"imagestack/glance"
	"imagestack/policy"
)

// MetadefNamespaceDetail is a namespace with its contents, as GET
// /v2/metadefs/namespaces/{namespace} shows it.
type MetadefNamespaceDetail struct {
	*glance.MetadefNamespace
	Properties map[string]glance.MetadefProperty
	Objects    []glance.MetadefObject // newest first, as Glance lists them
	Tags       []glance.MetadefTag    // newest first
}

// MetadefNamespaceInput is a namespace to create or the new state of one
// to update. Nil fields take Glance's defaults: private, unprotected, owned
// by the caller's project.
type MetadefNamespaceInput struct {
	Namespace    string
	DisplayName  *string
	Description  *string
	Visibility   *string
	Protected    *bool
	Owner        *string
	Associations []glance.MetadefAssociation
	Properties   map[string]glance.MetadefProperty
	Objects      []glance.MetadefObject
	Tags         []string
}

// MetadefListRequest is a namespace list request as clients send it.
type MetadefListRequest struct {
	Visibility    string
	ResourceTypes []string
	SortKey       string
	SortDesc      bool
	Limit         int
	Marker        string
}

// nsTarget is Glance's policy target for a namespace.
func nsTarget(ns *glance.MetadefNamespace) policy.Target {
	return policy.Target{"project_id": ns.Owner, "owner": ns.Owner, "visibility": ns.Visibility, "namespace": ns.Namespace}
}

// nsVisible is Glance's namespace visibility: public, or the caller's
// project's own, or the caller is an admin.
func nsVisible(c Caller, ns *glance.MetadefNamespace) bool {
	return c.IsAdmin || ns.Visibility == "public" || (c.Project() != "" && ns.Owner == c.Project())
}

func nsNotFound(name string) error {
	return glance.Errorf(glance.ErrNotFound, "Metadata definition namespace=%s was not found.", name)
}

// namespace returns a namespace the caller may see and get; anything else
// is ErrNotFound, so that private namespaces never leak.
func (s *Service) namespace(ctx context.Context, c Caller, name string) (*glance.MetadefNamespace, error) {
	ns, err := s.metadefs.GetNamespace(ctx, name)
	if errors.Is(err, glance.ErrNotFound) {
		return nil, nsNotFound(name)
	}
	if err != nil {
		return nil, err
	}
	if !nsVisible(c, ns) || !s.authz.Enforce("get_metadef_namespace", nsTarget(ns), c.Creds) {
		return nil, nsNotFound(name)
	}
	return ns, nil
}

// mdAuthorize checks rules on a namespace (or, before one exists, the
// caller's project); denial is 403 with Glance's text.
func (s *Service) mdAuthorize(c Caller, ns *glance.MetadefNamespace, rules ...string) error {
	t := policy.Target{"project_id": c.Project()}
	if ns != nil {
		t = nsTarget(ns)
	}
	for _, rule := range rules {
		if !s.authz.Enforce(rule, t, c.Creds) {
			return glance.Errorf(glance.ErrForbidden, "You are not authorized to complete %s action.", rule)
		}
	}
	return nil
}

// checkedNamespace loads a visible namespace (404 "Namespace X not found"
// otherwise, as Glance answers on its contents) and checks the rules.
func (s *Service) checkedNamespace(ctx context.Context, c Caller, name string, rules ...string) (*glance.MetadefNamespace, error) {
	ns, err := s.namespace(ctx, c, name)
	if errors.Is(err, glance.ErrNotFound) {
		return nil, glance.Errorf(glance.ErrNotFound, "Namespace %s not found", name)
	}
	if err != nil {
		return nil, err
	}
	return ns, s.mdAuthorize(c, ns, rules...)
}

// ListMetadefNamespaces lists the namespaces the caller may see (policies
// get_metadef_namespaces and list_metadef_resource_types, then
// get_metadef_namespace on each). An unknown marker is 404; a Limit of 0
// is an empty page, as in Glance.
func (s *Service) ListMetadefNamespaces(ctx context.Context, c Caller, r MetadefListRequest) ([]*glance.MetadefNamespace, error) {
	if err := s.mdAuthorize(c, nil, "get_metadef_namespaces", "list_metadef_resource_types"); err != nil {
		return nil, err
	}
	if r.Visibility != "" && r.Visibility != "public" && r.Visibility != "private" {
		return nil, glance.Errorf(glance.ErrBadRequest, "Invalid visibility value: %s", r.Visibility)
	}
	if r.SortKey != "" && !slices.Contains(glance.MetadefSortKeys, r.SortKey) {
		return nil, glance.Errorf(glance.ErrBadRequest, "Invalid sort key: %s. It must be one of the following: %s.", r.SortKey, strings.Join(glance.MetadefSortKeys, ", "))
	}
	if r.Marker != "" {
		if _, err := s.namespace(ctx, c, r.Marker); err != nil {
			return nil, err
		}
	}
	if r.Limit <= 0 {
		return []*glance.MetadefNamespace{}, nil
	}
	nss, err := s.metadefs.ListNamespaces(ctx, glance.MetadefNamespaceQuery{ProjectID: c.Project(), IsAdmin: c.IsAdmin,
		Visibility: r.Visibility, ResourceTypes: r.ResourceTypes, SortKey: r.SortKey, SortDesc: r.SortDesc, Limit: r.Limit, Marker: r.Marker})
	if err != nil {
		return nil, err
	}
	out := nss[:0]
	for _, ns := range nss {
		if s.authz.Enforce("get_metadef_namespace", nsTarget(ns), c.Creds) {
			out = append(out, ns)
		}
	}
	return out, nil
}

// MetadefNamespace shows a namespace with its contents. With resourceType
// naming one of its associations, property names (also inside objects and
// their required lists) carry that association's prefix.
func (s *Service) MetadefNamespace(ctx context.Context, c Caller, name, resourceType string) (*MetadefNamespaceDetail, error) {
	ns, err := s.namespace(ctx, c, name)
	if err != nil {
		return nil, err
	}
	err = s.mdAuthorize(c, ns, "list_metadef_resource_types", "get_metadef_objects", "get_metadef_properties", "get_metadef_tags")
	if err != nil {
		return nil, err
	}
	d := &MetadefNamespaceDetail{MetadefNamespace: ns}
	if d.Properties, err = s.properties(ctx, name); err != nil {
		return nil, err
	}
	if d.Objects, err = s.objects(ctx, name); err != nil {
		return nil, err
	}
	if d.Tags, err = s.tags(ctx, name); err != nil {
		return nil, err
	}
	for _, a := range ns.Associations {
		if a.Name == resourceType && a.Prefix != "" {
			d.prefix(a.Prefix)
		}
	}
	return d, nil
}

// prefix prepends p to every property name, as Glance shows a namespace
// for one resource type.
func (d *MetadefNamespaceDetail) prefix(p string) {
	d.Properties = prefixed(p, d.Properties)
	for i := range d.Objects {
		o := &d.Objects[i]
		o.Properties = prefixed(p, o.Properties)
		for j := range o.Required {
			o.Required[j] = p + o.Required[j]
		}
	}
}

func prefixed(p string, props map[string]glance.MetadefProperty) map[string]glance.MetadefProperty {
	if props == nil {
		return nil
	}
	out := make(map[string]glance.MetadefProperty, len(props))
	for k, v := range props {
		out[p+k] = v
	}
	return out
}

// CreateMetadefNamespace creates a namespace with its contents, all or
// nothing (policy add_metadef_namespace, and the add_ rule of each kind of
// content given). 409 when the name or a content name is taken.
func (s *Service) CreateMetadefNamespace(ctx context.Context, c Caller, in MetadefNamespaceInput) (*MetadefNamespaceDetail, error) {
	rules := []string{"add_metadef_namespace"}
	for _, r := range []struct {
		rule  string
		given bool
	}{{"add_metadef_resource_type_association", len(in.Associations) > 0}, {"add_metadef_object", len(in.Objects) > 0},
		{"add_metadef_property", len(in.Properties) > 0}, {"add_metadef_tag", len(in.Tags) > 0}} {
		if r.given {
			rules = append(rules, r.rule)
		}
	}
	if err := s.mdAuthorize(c, nil, rules...); err != nil {
		return nil, err
	}
	ns, err := s.newNamespace(c, in)
	if err != nil {
		return nil, err
	}
	contents, err := s.contents(in)
	if err != nil {
		return nil, err
	}
	err = s.metadefs.CreateNamespace(ctx, ns, contents)
	if errors.Is(err, glance.ErrConflict) {
		if dup := duplicateContent(in); dup != nil {
			return nil, dup
		}
		return nil, glance.Errorf(glance.ErrConflict, "The metadata definition namespace=%s already exists.", ns.Namespace)
	}
	if err != nil {
		return nil, err
	}
	d := &MetadefNamespaceDetail{MetadefNamespace: ns, Properties: in.Properties}
	for _, t := range in.Tags {
		d.Tags = append(d.Tags, glance.MetadefTag{Name: t, CreatedAt: ns.CreatedAt, UpdatedAt: ns.CreatedAt})
	}
	for _, o := range in.Objects {
		o.CreatedAt, o.UpdatedAt = ns.CreatedAt, ns.CreatedAt
		d.Objects = append(d.Objects, o)
	}
	ns.Associations = contents.Associations
	return d, nil
}

// newNamespace validates in and fills Glance's defaults.
func (s *Service) newNamespace(c Caller, in MetadefNamespaceInput) (*glance.MetadefNamespace, error) {
	now := s.stamp()
	ns := &glance.MetadefNamespace{Namespace: in.Namespace, DisplayName: in.DisplayName, Description: in.Description,
		Visibility: "private", Owner: c.Project(), CreatedAt: now, UpdatedAt: now}
	if in.Visibility != nil {
		ns.Visibility = *in.Visibility
	}
	if in.Protected != nil {
		ns.Protected = *in.Protected
	}
	if in.Owner != nil {
		ns.Owner = *in.Owner
	}
	return ns, validateNamespace(ns)
}

func validateNamespace(ns *glance.MetadefNamespace) error {
	switch {
	case ns.Namespace == "":
		return badSchema("namespace", "'namespace' is a required property")
	case len(ns.Namespace) > 80:
		return badSchema("namespace", fmt.Sprintf("'%s' is too long", ns.Namespace))
	case ns.DisplayName != nil && len(*ns.DisplayName) > 80:
		return badSchema("namespace", fmt.Sprintf("'%s' is too long", *ns.DisplayName))
	case ns.Description != nil && len(*ns.Description) > 500:
		return badSchema("namespace", "the description is too long")
	case ns.Visibility != "public" && ns.Visibility != "private":
		return badSchema("namespace", fmt.Sprintf("'%s' is not one of ['public', 'private']", ns.Visibility))
	case len(ns.Owner) > 255:
		return badSchema("namespace", fmt.Sprintf("'%s' is too long", ns.Owner))
	}
	return nil
}

// badSchema is Glance's 400 for a body its schema refuses.
func badSchema(schema, why string) error {
	return glance.Errorf(glance.ErrBadRequest, "Provided object does not match schema '%s': %s", schema, why)
}

// UpdateMetadefNamespace replaces a namespace's fields (policy
// modify_metadef_namespace); fields left out take the defaults, as in
// Glance. A new name must be free (409).
func (s *Service) UpdateMetadefNamespace(ctx context.Context, c Caller, name string, in MetadefNamespaceInput) (*glance.MetadefNamespace, error) {
	cur, err := s.checkedNamespace(ctx, c, name, "modify_metadef_namespace")
	if err != nil {
		return nil, err
	}
	ns, err := s.newNamespace(c, in)
	if err != nil {
		return nil, err
	}
	ns.CreatedAt, ns.Associations = cur.CreatedAt, cur.Associations
	err = s.metadefs.UpdateNamespace(ctx, name, ns)
	if errors.Is(err, glance.ErrConflict) {
		return nil, glance.Errorf(glance.ErrConflict, "The metadata definition namespace=%s already exists.", ns.Namespace)
	}
	if errors.Is(err, glance.ErrNotFound) {
		return nil, nsNotFound(name)
	}
	return ns, err
}

// DeleteMetadefNamespace deletes a namespace and everything in it (policy
// delete_metadef_namespace); a protected one is 403.
func (s *Service) DeleteMetadefNamespace(ctx context.Context, c Caller, name string) error {
	ns, err := s.checkedNamespace(ctx, c, name, "delete_metadef_namespace")
	if err != nil {
		return err
	}
	if ns.Protected {
		return glance.Errorf(glance.ErrForbidden, "Metadata definition namespace %s is protected and cannot be deleted.", name)
	}
	if err := s.metadefs.DeleteNamespace(ctx, name); errors.Is(err, glance.ErrNotFound) {
		return nsNotFound(name)
	} else if err != nil {
		return err
	}
	return nil
}

// DeleteMetadefContents deletes all properties, objects or tags of a
// namespace (policy delete_metadef_namespace, and delete_metadef_tags for
// tags); a protected namespace is 403, as in Glance.
func (s *Service) DeleteMetadefContents(ctx context.Context, c Caller, name string, kind glance.MetadefKind) error {
	rules := []string{"delete_metadef_namespace"}
	if kind == glance.MetadefTags {
		rules = append(rules, "delete_metadef_tags")
	}
	ns, err := s.checkedNamespace(ctx, c, name, rules...)
	if err != nil {
		return err
	}
	if ns.Protected {
		return glance.Errorf(glance.ErrForbidden, "Metadata definition namespace %s is protected and cannot be deleted.", name)
	}
	return s.metadefs.DeleteEntries(ctx, name, kind)
}
