package keystone

import (
	"context"
	"errors"

	"imagestack/policy"
)

// grantTarget is the policy target of a grant: its user, role and target.
func grantTarget(a Assignment) policy.Target {
	return policy.Target{"target.user.id": a.UserID, "target.role.id": a.RoleID,
		"target." + a.TargetType + ".id": a.TargetID}
}

// CheckGrant answers nil when a is granted (identity:check_grant), ErrNotFound
// naming what is missing otherwise.
func (s *Service) CheckGrant(ctx context.Context, creds policy.Credentials, a Assignment) error {
	if err := s.authorize(creds, "identity:check_grant", grantTarget(a)); err != nil {
		return err
	}
	if err := s.checkAssignmentRefs(ctx, a); err != nil {
		return err
	}
	as, err := s.repo.ListAssignments(ctx, AssignmentFilter(a))
	if err != nil {
		return err
	}
	if len(as) == 0 {
		return errorf(ErrNotFound, "Could not find role assignment.")
	}
	return nil
}

// ListGrants returns the roles a.UserID has on a's target (identity:list_grants;
// a.RoleID is ignored). A role deleted meanwhile is left out.
func (s *Service) ListGrants(ctx context.Context, creds policy.Credentials, a Assignment) ([]Role, error) {
	if err := s.authorize(creds, "identity:list_grants", grantTarget(a)); err != nil {
		return nil, err
	}
	as, err := s.repo.ListAssignments(ctx, AssignmentFilter{UserID: a.UserID, TargetType: a.TargetType, TargetID: a.TargetID})
	if err != nil {
		return nil, err
	}
	var rs []Role
	for _, as := range as {
		role, err := s.repo.GetRole(ctx, as.RoleID)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return nil, err
		default:
			rs = append(rs, role)
		}
	}
	return rs, nil
}

// checkAssignmentRefs verifies that the user, target and role of a exist,
// answering ErrNotFound with Keystone's message for the first missing one.
func (s *Service) checkAssignmentRefs(ctx context.Context, a Assignment) error {
	if _, err := s.repo.GetRole(ctx, a.RoleID); err != nil {
		return NotFound(err, "role", a.RoleID)
	}
	if _, err := s.repo.GetUser(ctx, a.UserID); err != nil {
		return NotFound(err, "user", a.UserID)
	}
	var err error
	if a.TargetType == TargetDomain {
		_, err = s.repo.GetDomain(ctx, a.TargetID)
	} else {
		_, err = s.repo.GetProject(ctx, a.TargetID)
	}
	return NotFound(err, a.TargetType, a.TargetID)
}

// Grant assigns a role to a user on a project or domain (identity:create_grant).
func (s *Service) Grant(ctx context.Context, creds policy.Credentials, a Assignment) error {
	if err := s.authorize(creds, "identity:create_grant", grantTarget(a)); err != nil {
		return err
	}
	if err := s.checkAssignmentRefs(ctx, a); err != nil {
		return err
	}
	if err := s.repo.AddAssignment(ctx, a); err != nil {
		return err
	}
	s.changed()
	return nil
}

// Ungrant revokes a role assignment (identity:revoke_grant); ErrNotFound
// when it does not exist.
func (s *Service) Ungrant(ctx context.Context, creds policy.Credentials, a Assignment) error {
	if err := s.authorize(creds, "identity:revoke_grant", grantTarget(a)); err != nil {
		return err
	}
	if err := s.checkAssignmentRefs(ctx, a); err != nil {
		return err
	}
	if err := s.repo.RemoveAssignment(ctx, a); err != nil {
		if errors.Is(err, ErrNotFound) {
			return errorf(ErrNotFound, "Could not find role assignment with role: %s, user or group: %s, project, domain, or system: %s.", a.RoleID, a.UserID, a.TargetID)
		}
		return err
	}
	s.changed()
	return nil
}

// NotFound gives a store ErrNotFound Keystone's "Could not find <kind>: <id>." text.
func NotFound(err error, kind, id string) error {
	if err != nil && errors.Is(err, ErrNotFound) {
		return errorf(ErrNotFound, "Could not find %s: %s.", kind, id)
	}
	return err
}
