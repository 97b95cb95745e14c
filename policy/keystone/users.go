package keystone

import (
	"context"
	"errors"
	"time"

	"imagestack/policy"
)

// UserPatch lists the user fields an update changes (nil = unchanged).
type UserPatch struct {
	Name, Password, DefaultProjectID, Email, Description *string
	Enabled                                              *bool
}

// ListUsers returns the users matching f (identity:list_users).
func (s *Service) ListUsers(ctx context.Context, creds policy.Credentials, f UserFilter) ([]User, error) {
	if err := s.MayListUsers(creds); err != nil {
		return nil, err
	}
	return s.repo.ListUsers(ctx, f)
}

// GetUser returns user id (identity:get_user).
func (s *Service) GetUser(ctx context.Context, creds policy.Credentials, id string) (User, error) {
	if err := s.authorize(creds, "identity:get_user", policy.Target{"target.user.id": id}); err != nil {
		return User{}, err
	}
	u, err := s.repo.GetUser(ctx, id)
	return u, NotFound(err, "user", id)
}

// CreateUser validates u, hashes password (if any) and stores the user
// (identity:create_user in the user's domain).
func (s *Service) CreateUser(ctx context.Context, creds policy.Credentials, u User, password string) (User, error) {
	if err := s.authorize(creds, "identity:create_user", policy.Target{"target.user.domain_id": u.DomainID}); err != nil {
		return User{}, err
	}
	if err := checkName("user", u.Name); err != nil {
		return User{}, err
	}
	if u.DomainID == "" {
		u.DomainID = DefaultDomainID
	}
	if _, err := s.repo.GetDomain(ctx, u.DomainID); err != nil {
		if errors.Is(err, ErrNotFound) {
			return User{}, errorf(ErrBadRequest, "Could not find domain: %s.", u.DomainID)
		}
		return User{}, err
	}
	if err := s.checkDefaultProject(ctx, u.DefaultProjectID); err != nil {
		return User{}, err
	}
	if password != "" {
		h, err := HashPassword(password, s.cfg.PasswordIterations)
		if err != nil {
			return User{}, err
		}
		u.PasswordHash = h
	}
	if u.ID == "" {
		u.ID = newID()
	}
	u.CreatedAt = s.now().UTC()
	if err := s.repo.CreateUser(ctx, u); err != nil {
		if errors.Is(err, ErrConflict) {
			return User{}, errorf(ErrConflict, "Conflict occurred attempting to store user - Duplicate entry found with name %s at domain ID %s.", u.Name, u.DomainID)
		}
		return User{}, err
	}
	s.changed()
	return u, nil
}

func (s *Service) checkDefaultProject(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	if _, err := s.repo.GetProject(ctx, id); err != nil {
		if errors.Is(err, ErrNotFound) {
			return errorf(ErrBadRequest, "Could not find project: %s.", id)
		}
		return err
	}
	return nil
}

// UpdateUser applies patch to user id (identity:update_user). A new password
// or disabling the user revokes every token the user holds, as Keystone does;
// enabling the user clears its failed logins, which ends a lockout.
func (s *Service) UpdateUser(ctx context.Context, creds policy.Credentials, id string, patch UserPatch) (User, error) {
	if err := s.MayUpdateUser(creds, id); err != nil {
		return User{}, err
	}
	return s.updateUser(ctx, id, patch)
}

// updateUser is UpdateUser without the permission check.
func (s *Service) updateUser(ctx context.Context, id string, patch UserPatch) (User, error) {
	u, err := s.repo.GetUser(ctx, id)
	if err != nil {
		return User{}, NotFound(err, "user", id)
	}
	revoke := false
	if patch.Name != nil {
		if err := checkName("user", *patch.Name); err != nil {
			return User{}, err
		}
		u.Name = *patch.Name
	}
	if patch.Password != nil {
		h, err := HashPassword(*patch.Password, s.cfg.PasswordIterations)
		if err != nil {
			return User{}, err
		}
		u.PasswordHash, revoke = h, true
	}
	if patch.DefaultProjectID != nil {
		if err := s.checkDefaultProject(ctx, *patch.DefaultProjectID); err != nil {
			return User{}, err
		}
		u.DefaultProjectID = *patch.DefaultProjectID
	}
	if patch.Email != nil {
		u.Email = *patch.Email
	}
	if patch.Description != nil {
		u.Description = *patch.Description
	}
	if patch.Enabled != nil {
		if u.Enabled && !*patch.Enabled {
			revoke = true
		}
		u.Enabled = *patch.Enabled
	}
	if err := s.repo.UpdateUser(ctx, u); err != nil {
		if errors.Is(err, ErrConflict) {
			return User{}, errorf(ErrConflict, "Conflict occurred attempting to store user - Duplicate entry found with name %s at domain ID %s.", u.Name, u.DomainID)
		}
		return User{}, NotFound(err, "user", id)
	}
	if revoke {
		if err := s.repo.DeleteUserTokens(ctx, id); err != nil {
			return User{}, err
		}
	}
	if patch.Enabled != nil && *patch.Enabled {
		// Setting enabled is how an admin unlocks a locked-out user, as in
		// Keystone (even for a user that is enabled already).
		if err := s.repo.ResetFailedAuth(ctx, id); err != nil {
			return User{}, NotFound(err, "user", id)
		}
		u.FailedAuthCount, u.FailedAuthAt = 0, time.Time{}
	}
	s.changed()
	return u, nil
}

// DeleteUser removes a user with its assignments and tokens (identity:delete_user).
func (s *Service) DeleteUser(ctx context.Context, creds policy.Credentials, id string) error {
	if err := s.authorize(creds, "identity:delete_user", policy.Target{"target.user.id": id}); err != nil {
		return err
	}
	if err := s.repo.DeleteUser(ctx, id); err != nil {
		return NotFound(err, "user", id)
	}
	s.changed()
	return nil
}
