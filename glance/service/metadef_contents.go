package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"imagestack/glance"
)

// kindText is how Glance names each kind of content in its messages.
var kindText = map[glance.MetadefKind]struct{ missing, duplicate, protected string }{
	glance.MetadefProperties: {"Could not find property %s",
		"A metadata definition property with name=%s already exists in namespace=%s.",
		"Metadata definition property %s is protected and cannot be deleted."},
	glance.MetadefObjects: {"Could not find metadata object %s",
		"A metadata definition object with name=%s already exists in namespace=%s.",
		"Metadata definition object %s is protected and cannot be deleted."},
	glance.MetadefTags: {"Could not find metadata tag %s",
		"A metadata tag with name=%s already exists in namespace=%s. (Please note that metadata tag names are case insensitive).",
		"Metadata definition tag %s is protected and cannot be deleted."},
}

// entryError gives the repository's not-found and conflict errors
// Glance's messages.
func entryError(err error, kind glance.MetadefKind, ns, name string) error {
	switch {
	case errors.Is(err, glance.ErrNotFound):
		return glance.Errorf(glance.ErrNotFound, kindText[kind].missing, name)
	case errors.Is(err, glance.ErrConflict):
		return glance.Errorf(glance.ErrConflict, kindText[kind].duplicate, name, ns)
	}
	return err
}

// maxEntryBody bounds a property's or object's stored definition: what a
// TEXT column holds on MariaDB.
const maxEntryBody = 65535

// entry is a stored definition made now; one too large to store is 400.
func (s *Service) entry(name string, def any) (glance.MetadefEntry, error) {
	body := []byte("{}")
	if def != nil {
		var err error
		if body, err = json.Marshal(def); err != nil {
			return glance.MetadefEntry{}, err
		}
	}
	if len(body) > maxEntryBody {
		return glance.MetadefEntry{}, glance.Errorf(glance.ErrBadRequest,
			"The definition of %s is too large: %d bytes of JSON, at most %d.", name, len(body), maxEntryBody)
	}
	now := s.stamp()
	return glance.MetadefEntry{Name: name, Body: body, CreatedAt: now, UpdatedAt: now}, nil
}

// objectBody is what is stored of an object besides its name.
type objectBody struct {
	Description string                            `json:"description,omitempty"`
	Required    []string                          `json:"required,omitempty"`
	Properties  map[string]glance.MetadefProperty `json:"properties,omitempty"`
}

func decodeProperty(e glance.MetadefEntry) (glance.MetadefProperty, error) {
	var p glance.MetadefProperty
	err := json.Unmarshal(e.Body, &p)
	p.Name = ""
	return p, err
}

func decodeObject(e glance.MetadefEntry) (glance.MetadefObject, error) {
	var b objectBody
	err := json.Unmarshal(e.Body, &b)
	if b.Required == nil {
		b.Required = []string{}
	}
	return glance.MetadefObject{Name: e.Name, Description: b.Description, Required: b.Required, Properties: b.Properties,
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}, err
}

// properties are a namespace's property definitions by name.
func (s *Service) properties(ctx context.Context, ns string) (map[string]glance.MetadefProperty, error) {
	es, err := s.metadefs.ListEntries(ctx, ns, glance.MetadefProperties)
	if err != nil {
		return nil, err
	}
	out := make(map[string]glance.MetadefProperty, len(es))
	for _, e := range es {
		if out[e.Name], err = decodeProperty(e); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// objects are a namespace's objects, newest first.
func (s *Service) objects(ctx context.Context, ns string) ([]glance.MetadefObject, error) {
	es, err := s.metadefs.ListEntries(ctx, ns, glance.MetadefObjects)
	if err != nil {
		return nil, err
	}
	out := make([]glance.MetadefObject, len(es))
	for i, e := range es {
		if out[len(es)-1-i], err = decodeObject(e); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// tags are a namespace's tags, newest first.
func (s *Service) tags(ctx context.Context, ns string) ([]glance.MetadefTag, error) {
	es, err := s.metadefs.ListEntries(ctx, ns, glance.MetadefTags)
	if err != nil {
		return nil, err
	}
	out := make([]glance.MetadefTag, len(es))
	for i, e := range es {
		out[len(es)-1-i] = glance.MetadefTag{Name: e.Name, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	}
	return out, nil
}

var propertyTypes = []string{"array", "boolean", "integer", "number", "object", "string"}

// validateProperty checks what Glance's property schema requires.
func validateProperty(schema, name string, p glance.MetadefProperty) error {
	switch {
	case name == "":
		return badSchema(schema, "'name' is a required property")
	case len(name) > 80:
		return badSchema(schema, fmt.Sprintf("'%s' is too long", name))
	case p.Title == "":
		return badSchema(schema, "'title' is a required property")
	case p.Type == "":
		return badSchema(schema, "'type' is a required property")
	case !slices.Contains(propertyTypes, p.Type):
		return badSchema(schema, fmt.Sprintf("'%s' is not one of %q", p.Type, propertyTypes))
	case p.Items != nil && p.Items.Type != "" && !slices.Contains(propertyTypes, p.Items.Type):
		return badSchema(schema, fmt.Sprintf("'%s' is not one of %q", p.Items.Type, propertyTypes))
	}
	return nil
}

func validateObject(o glance.MetadefObject) error {
	if o.Name == "" {
		return badSchema("object", "'name' is a required property")
	}
	if len(o.Name) > 80 {
		return badSchema("object", fmt.Sprintf("'%s' is too long", o.Name))
	}
	for name, p := range o.Properties {
		if err := validateProperty("object", name, p); err != nil {
			return err
		}
	}
	return nil
}

func validateTag(name string) error {
	if name == "" {
		return badSchema("tag", "'name' is a required property")
	}
	if len(name) > 80 {
		return badSchema("tag", fmt.Sprintf("'%s' is too long", name))
	}
	return nil
}

func validateAssociation(a glance.MetadefAssociation) error {
	switch {
	case a.Name == "":
		return badSchema("resource_type_association", "'name' is a required property")
	case len(a.Name) > 80 || len(a.Prefix) > 80 || len(a.PropertiesTarget) > 80:
		return badSchema("resource_type_association", "a value is too long (at most 80 characters)")
	}
	return nil
}

// contents validates a new namespace's contents and makes their entries.
func (s *Service) contents(in MetadefNamespaceInput) (glance.MetadefContents, error) {
	c := glance.MetadefContents{Entries: map[glance.MetadefKind][]glance.MetadefEntry{}}
	now := s.stamp()
	for _, a := range in.Associations {
		if err := validateAssociation(a); err != nil {
			return c, err
		}
		a.CreatedAt, a.UpdatedAt = now, now
		c.Associations = append(c.Associations, a)
	}
	add := func(kind glance.MetadefKind, name string, def any) error {
		e, err := s.entry(name, def)
		c.Entries[kind] = append(c.Entries[kind], e)
		return err
	}
	for name, p := range in.Properties {
		if err := validateProperty("namespace", name, p); err != nil {
			return c, err
		}
		if err := add(glance.MetadefProperties, name, p); err != nil {
			return c, err
		}
	}
	for _, o := range in.Objects {
		if err := validateObject(o); err != nil {
			return c, err
		}
		if err := add(glance.MetadefObjects, o.Name, objectBody{o.Description, o.Required, o.Properties}); err != nil {
			return c, err
		}
	}
	for _, t := range in.Tags {
		if err := validateTag(t); err != nil {
			return c, err
		}
		if err := add(glance.MetadefTags, t, nil); err != nil {
			return c, err
		}
	}
	return c, nil
}

// duplicateContent is Glance's 409 for a new namespace whose body names an
// object, a tag (case-insensitively) or a resource type twice; nil when it
// does not.
func duplicateContent(in MetadefNamespaceInput) error {
	objects, tags, types := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, o := range in.Objects {
		if objects[o.Name] {
			return entryError(glance.ErrConflict, glance.MetadefObjects, in.Namespace, o.Name)
		}
		objects[o.Name] = true
	}
	for _, t := range in.Tags {
		if tags[lower(t)] {
			return entryError(glance.ErrConflict, glance.MetadefTags, in.Namespace, t)
		}
		tags[lower(t)] = true
	}
	for _, a := range in.Associations {
		if types[a.Name] {
			return glance.Errorf(glance.ErrConflict, associationExists, a.Name, in.Namespace)
		}
		types[a.Name] = true
	}
	return nil
}
