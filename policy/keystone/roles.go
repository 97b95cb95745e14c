package keystone

import (
	"context"
	"errors"

	"imagestack/policy"
)

// ListRoles returns the roles named name, or all (identity:list_roles).
// Domain-specific roles do not exist here, so a domainID matches none.
func (s *Service) ListRoles(ctx context.Context, creds policy.Credentials, name, domainID string) ([]Role, error) {
	if err := s.authorize(creds, "identity:list_roles", nil); err != nil {
		return nil, err
	}
	if domainID != "" {
		return []Role{}, nil
	}
	return s.repo.ListRoles(ctx, name)
}

// GetRole returns role id (identity:get_role).
func (s *Service) GetRole(ctx context.Context, creds policy.Credentials, id string) (Role, error) {
	if err := s.authorize(creds, "identity:get_role", policy.Target{"target.role.id": id}); err != nil {
		return Role{}, err
	}
	r, err := s.repo.GetRole(ctx, id)
	return r, NotFound(err, "role", id)
}

// CreateRole stores a new global role (identity:create_role).
func (s *Service) CreateRole(ctx context.Context, creds policy.Credentials, r Role) (Role, error) {
	if err := s.MayCreateRole(creds); err != nil {
		return Role{}, err
	}
	if err := checkName("role", r.Name); err != nil {
		return Role{}, err
	}
	if r.ID == "" {
		r.ID = newID()
	}
	if err := s.repo.CreateRole(ctx, r); err != nil {
		if errors.Is(err, ErrConflict) {
			return Role{}, errorf(ErrConflict, "Conflict occurred attempting to store role - Duplicate entry found with name %s.", r.Name)
		}
		return Role{}, err
	}
	s.changed()
	return r, nil
}

// UpdateRole renames or re-describes a role (identity:update_role).
func (s *Service) UpdateRole(ctx context.Context, creds policy.Credentials, id string, name, description *string) (Role, error) {
	if err := s.MayUpdateRole(creds, id); err != nil {
		return Role{}, err
	}
	r, err := s.repo.GetRole(ctx, id)
	if err != nil {
		return Role{}, NotFound(err, "role", id)
	}
	if name != nil {
		if err := checkName("role", *name); err != nil {
			return Role{}, err
		}
		r.Name = *name
	}
	if description != nil {
		r.Description = *description
	}
	if err := s.repo.UpdateRole(ctx, r); err != nil {
		if errors.Is(err, ErrConflict) {
			return Role{}, errorf(ErrConflict, "Conflict occurred attempting to store role - Duplicate entry found with name %s.", r.Name)
		}
		return Role{}, NotFound(err, "role", id)
	}
	s.changed()
	return r, nil
}

// DeleteRole removes a role and every assignment of it (identity:delete_role).
func (s *Service) DeleteRole(ctx context.Context, creds policy.Credentials, id string) error {
	if err := s.authorize(creds, "identity:delete_role", policy.Target{"target.role.id": id}); err != nil {
		return err
	}
	if err := s.repo.DeleteRole(ctx, id); err != nil {
		return NotFound(err, "role", id)
	}
	s.changed()
	return nil
}
