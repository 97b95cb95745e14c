package service

import (
	"context"
	"errors"

	"imagestack/glance"
)

// The properties, objects and tags of a namespace share one life cycle:
// the namespace must be visible (else 404), the kind's rule allow the call
// (else 403), names be free (else 409); deleting from a protected
// namespace is 403.

// getEntry reads one entry of a visible namespace under rule.
func (s *Service) getEntry(ctx context.Context, c Caller, ns string, kind glance.MetadefKind, rule, name string) (glance.MetadefEntry, error) {
	if _, err := s.checkedNamespace(ctx, c, ns, rule); err != nil {
		return glance.MetadefEntry{}, err
	}
	e, err := s.metadefs.GetEntry(ctx, ns, kind, name)
	return e, entryError(err, kind, ns, name)
}

// updateEntry replaces the entry called name under rule, keeping its
// creation time.
func (s *Service) updateEntry(ctx context.Context, c Caller, ns string, kind glance.MetadefKind, rule, name string, e glance.MetadefEntry) (glance.MetadefEntry, error) {
	if _, err := s.checkedNamespace(ctx, c, ns, rule); err != nil {
		return e, err
	}
	cur, err := s.metadefs.GetEntry(ctx, ns, kind, name)
	if err != nil {
		return e, entryError(err, kind, ns, name)
	}
	e.CreatedAt = cur.CreatedAt
	return e, entryError(s.metadefs.UpdateEntry(ctx, ns, kind, name, e), kind, ns, e.Name)
}

// deleteEntry removes one entry under rule.
func (s *Service) deleteEntry(ctx context.Context, c Caller, ns string, kind glance.MetadefKind, rule, name string) error {
	n, err := s.checkedNamespace(ctx, c, ns, rule)
	if err != nil {
		return err
	}
	if n.Protected {
		return glance.Errorf(glance.ErrForbidden, kindText[kind].protected, name)
	}
	return entryError(s.metadefs.DeleteEntry(ctx, ns, kind, name), kind, ns, name)
}

// ListMetadefProperties lists a namespace's properties by name (policy get_metadef_properties).
func (s *Service) ListMetadefProperties(ctx context.Context, c Caller, ns string) (map[string]glance.MetadefProperty, error) {
	if _, err := s.checkedNamespace(ctx, c, ns, "get_metadef_properties"); err != nil {
		return nil, err
	}
	return s.properties(ctx, ns)
}

// MetadefProperty shows one property (policy get_metadef_property), Name set.
func (s *Service) MetadefProperty(ctx context.Context, c Caller, ns, name string) (glance.MetadefProperty, error) {
	e, err := s.getEntry(ctx, c, ns, glance.MetadefProperties, "get_metadef_property", name)
	if err != nil {
		return glance.MetadefProperty{}, err
	}
	p, err := decodeProperty(e)
	p.Name = e.Name
	return p, err
}

// CreateMetadefProperty adds a property (policy add_metadef_property).
func (s *Service) CreateMetadefProperty(ctx context.Context, c Caller, ns string, p glance.MetadefProperty) (glance.MetadefProperty, error) {
	if _, err := s.checkedNamespace(ctx, c, ns, "add_metadef_property"); err != nil {
		return p, err
	}
	if err := validateProperty("property", p.Name, p); err != nil {
		return p, err
	}
	e, err := s.entry(p.Name, p)
	if err != nil {
		return p, err
	}
	return p, entryError(s.metadefs.CreateEntries(ctx, ns, glance.MetadefProperties, []glance.MetadefEntry{e}, false), glance.MetadefProperties, ns, p.Name)
}

// UpdateMetadefProperty replaces (and may rename) a property (policy modify_metadef_property).
func (s *Service) UpdateMetadefProperty(ctx context.Context, c Caller, ns, name string, p glance.MetadefProperty) (glance.MetadefProperty, error) {
	if err := validateProperty("property", p.Name, p); err != nil {
		return p, err
	}
	e, err := s.entry(p.Name, p)
	if err != nil {
		return p, err
	}
	_, err = s.updateEntry(ctx, c, ns, glance.MetadefProperties, "modify_metadef_property", name, e)
	return p, err
}

// DeleteMetadefProperty removes a property (policy remove_metadef_property).
func (s *Service) DeleteMetadefProperty(ctx context.Context, c Caller, ns, name string) error {
	return s.deleteEntry(ctx, c, ns, glance.MetadefProperties, "remove_metadef_property", name)
}

// ListMetadefObjects lists a namespace's objects, newest first (policy get_metadef_objects).
func (s *Service) ListMetadefObjects(ctx context.Context, c Caller, ns string) ([]glance.MetadefObject, error) {
	if _, err := s.checkedNamespace(ctx, c, ns, "get_metadef_objects"); err != nil {
		return nil, err
	}
	return s.objects(ctx, ns)
}

// MetadefObject shows one object (policy get_metadef_object).
func (s *Service) MetadefObject(ctx context.Context, c Caller, ns, name string) (glance.MetadefObject, error) {
	e, err := s.getEntry(ctx, c, ns, glance.MetadefObjects, "get_metadef_object", name)
	if err != nil {
		return glance.MetadefObject{}, err
	}
	return decodeObject(e)
}

// CreateMetadefObject adds an object (policy add_metadef_object).
func (s *Service) CreateMetadefObject(ctx context.Context, c Caller, ns string, o glance.MetadefObject) (glance.MetadefObject, error) {
	if _, err := s.checkedNamespace(ctx, c, ns, "add_metadef_object"); err != nil {
		return o, err
	}
	if err := validateObject(o); err != nil {
		return o, err
	}
	e, err := s.entry(o.Name, objectBody{o.Description, o.Required, o.Properties})
	if err != nil {
		return o, err
	}
	o.CreatedAt, o.UpdatedAt = e.CreatedAt, e.UpdatedAt
	return o, entryError(s.metadefs.CreateEntries(ctx, ns, glance.MetadefObjects, []glance.MetadefEntry{e}, false), glance.MetadefObjects, ns, o.Name)
}

// UpdateMetadefObject replaces (and may rename) an object (policy modify_metadef_object).
func (s *Service) UpdateMetadefObject(ctx context.Context, c Caller, ns, name string, o glance.MetadefObject) (glance.MetadefObject, error) {
	if err := validateObject(o); err != nil {
		return o, err
	}
	e, err := s.entry(o.Name, objectBody{o.Description, o.Required, o.Properties})
	if err != nil {
		return o, err
	}
	e, err = s.updateEntry(ctx, c, ns, glance.MetadefObjects, "modify_metadef_object", name, e)
	o.CreatedAt, o.UpdatedAt = e.CreatedAt, e.UpdatedAt
	return o, err
}

// DeleteMetadefObject removes an object (policy delete_metadef_object).
func (s *Service) DeleteMetadefObject(ctx context.Context, c Caller, ns, name string) error {
	return s.deleteEntry(ctx, c, ns, glance.MetadefObjects, "delete_metadef_object", name)
}

// ListMetadefTags lists a namespace's tags, newest first (policy get_metadef_tags).
func (s *Service) ListMetadefTags(ctx context.Context, c Caller, ns string) ([]glance.MetadefTag, error) {
	if _, err := s.checkedNamespace(ctx, c, ns, "get_metadef_tags"); err != nil {
		return nil, err
	}
	return s.tags(ctx, ns)
}

// MetadefTag shows one tag (policy get_metadef_tag).
func (s *Service) MetadefTag(ctx context.Context, c Caller, ns, name string) (glance.MetadefTag, error) {
	e, err := s.getEntry(ctx, c, ns, glance.MetadefTags, "get_metadef_tag", name)
	return glance.MetadefTag{Name: e.Name, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}, err
}

// CreateMetadefTag adds one tag (policy add_metadef_tag).
func (s *Service) CreateMetadefTag(ctx context.Context, c Caller, ns, name string) (glance.MetadefTag, error) {
	if err := validateTag(name); err != nil {
		return glance.MetadefTag{}, err
	}
	if _, err := s.checkedNamespace(ctx, c, ns, "add_metadef_tag"); err != nil {
		return glance.MetadefTag{}, err
	}
	e, _ := s.entry(name, nil)
	err := s.metadefs.CreateEntries(ctx, ns, glance.MetadefTags, []glance.MetadefEntry{e}, false)
	return glance.MetadefTag{Name: name, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}, entryError(err, glance.MetadefTags, ns, name)
}

// CreateMetadefTags adds several tags at once (policy add_metadef_tags).
// Without appendTags they replace the namespace's tags, as Glance does
// unless X-Openstack-Append is true. A name given twice, or (appending)
// already present, is 409 and nothing changes.
func (s *Service) CreateMetadefTags(ctx context.Context, c Caller, ns string, names []string, appendTags bool) ([]glance.MetadefTag, error) {
	if _, err := s.checkedNamespace(ctx, c, ns, "add_metadef_tags"); err != nil {
		return nil, err
	}
	es := make([]glance.MetadefEntry, len(names))
	out := make([]glance.MetadefTag, len(names))
	for i, name := range names {
		if err := validateTag(name); err != nil {
			return nil, err
		}
		es[i], _ = s.entry(name, nil)
		out[i] = glance.MetadefTag{Name: name, CreatedAt: es[i].CreatedAt, UpdatedAt: es[i].UpdatedAt}
	}
	err := s.metadefs.CreateEntries(ctx, ns, glance.MetadefTags, es, !appendTags)
	if errors.Is(err, glance.ErrConflict) {
		return nil, glance.Errorf(glance.ErrConflict, "A metadata tag with name=%s already exists in namespace=%s. "+
			"(Please note that metadata tag names are case insensitive).", duplicateTag(ctx, s, ns, names, appendTags), ns)
	}
	return out, err
}

// duplicateTag names the tag that made a create-multiple conflict.
func duplicateTag(ctx context.Context, s *Service, ns string, names []string, appendTags bool) string {
	seen := map[string]bool{}
	if appendTags {
		if cur, err := s.tags(ctx, ns); err == nil {
			for _, t := range cur {
				seen[lower(t.Name)] = true
			}
		}
	}
	for _, n := range names {
		if seen[lower(n)] {
			return n
		}
		seen[lower(n)] = true
	}
	return ""
}

// UpdateMetadefTag renames a tag (policy modify_metadef_tag).
func (s *Service) UpdateMetadefTag(ctx context.Context, c Caller, ns, name, newName string) (glance.MetadefTag, error) {
	if err := validateTag(newName); err != nil {
		return glance.MetadefTag{}, err
	}
	e, _ := s.entry(newName, nil)
	e, err := s.updateEntry(ctx, c, ns, glance.MetadefTags, "modify_metadef_tag", name, e)
	return glance.MetadefTag{Name: newName, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}, err
}

// DeleteMetadefTag removes a tag (policy delete_metadef_tag).
func (s *Service) DeleteMetadefTag(ctx context.Context, c Caller, ns, name string) error {
	return s.deleteEntry(ctx, c, ns, glance.MetadefTags, "delete_metadef_tag", name)
}
