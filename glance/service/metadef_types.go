package service

import (
	"context"
	"errors"
	"strings"

	"imagestack/glance"
)

// associationExists is Glance's 409 for a resource type associated twice.
const associationExists = "The metadata definition resource-type association of resource-type=%s to namespace=%s already exists."

func lower(s string) string { return strings.ToLower(s) }

// ListMetadefResourceTypes lists every resource type (policy list_metadef_resource_types).
func (s *Service) ListMetadefResourceTypes(ctx context.Context, c Caller) ([]glance.MetadefResourceType, error) {
	if err := s.mdAuthorize(c, nil, "list_metadef_resource_types"); err != nil {
		return nil, err
	}
	return s.metadefs.ListResourceTypes(ctx)
}

// ListMetadefAssociations lists a namespace's resource type associations
// (policy get_metadef_resource_type).
func (s *Service) ListMetadefAssociations(ctx context.Context, c Caller, ns string) ([]glance.MetadefAssociation, error) {
	n, err := s.checkedNamespace(ctx, c, ns, "get_metadef_resource_type")
	if err != nil {
		return nil, err
	}
	return n.Associations, nil
}

// AssociateMetadefResourceType associates a resource type with a namespace
// (policy add_metadef_resource_type_association), creating the type when
// it is new, as Glance does; 409 when the association exists.
func (s *Service) AssociateMetadefResourceType(ctx context.Context, c Caller, ns string, a glance.MetadefAssociation) (glance.MetadefAssociation, error) {
	if _, err := s.checkedNamespace(ctx, c, ns, "add_metadef_resource_type_association"); err != nil {
		return a, err
	}
	if err := validateAssociation(a); err != nil {
		return a, err
	}
	a.CreatedAt = s.stamp()
	a.UpdatedAt = a.CreatedAt
	err := s.metadefs.Associate(ctx, ns, a)
	if errors.Is(err, glance.ErrConflict) {
		return a, glance.Errorf(glance.ErrConflict, associationExists, a.Name, ns)
	}
	return a, err
}

// DissociateMetadefResourceType removes an association (policy
// remove_metadef_resource_type_association); 403 in a protected namespace.
func (s *Service) DissociateMetadefResourceType(ctx context.Context, c Caller, ns, resourceType string) error {
	n, err := s.checkedNamespace(ctx, c, ns, "remove_metadef_resource_type_association")
	if err != nil {
		return err
	}
	if n.Protected {
		return glance.Errorf(glance.ErrForbidden, "Metadata definition resource-type-association %s is protected and cannot be deleted.", resourceType)
	}
	err = s.metadefs.Dissociate(ctx, ns, resourceType)
	if errors.Is(err, glance.ErrNotFound) {
		return glance.Errorf(glance.ErrNotFound, "Failed to find resource type %s to delete", resourceType)
	}
	return err
}
