package keystone

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"
)

// ProjectPatch lists the project fields an update changes (nil = unchanged).
type ProjectPatch struct {
	Name, Description *string
	Enabled           *bool
}

// UserPatch lists the user fields an update changes (nil = unchanged).
type UserPatch struct {
	Name, Password, DefaultProjectID, Email, Description *string
	Enabled                                              *bool
}

func checkName(kind, name string) error {
	if strings.TrimSpace(name) == "" {
		return errorf(ErrBadRequest, "Invalid input for field 'name': the %s name must not be empty.", kind)
	}
	if utf8.RuneCountInString(name) > 64 {
		return errorf(ErrBadRequest, "Invalid input for field 'name': '%s' is too long (maximum 64 characters).", name)
	}
	return nil
}

// CreateProject validates p, gives it an id unless it has one, and stores it.
func (s *Service) CreateProject(ctx context.Context, p Project) (Project, error) {
	if err := checkName("project", p.Name); err != nil {
		return Project{}, err
	}
	if p.DomainID == "" {
		p.DomainID = DefaultDomainID
	}
	if _, err := s.repo.GetDomain(ctx, p.DomainID); err != nil {
		if errors.Is(err, ErrNotFound) {
			return Project{}, errorf(ErrBadRequest, "Could not find domain: %s.", p.DomainID)
		}
		return Project{}, err
	}
	if p.ID == "" {
		p.ID = newID()
	}
	p.CreatedAt = s.now().UTC()
	if err := s.repo.CreateProject(ctx, p); err != nil {
		if errors.Is(err, ErrConflict) {
			return Project{}, errorf(ErrConflict, "Conflict occurred attempting to store project - Duplicate entry found with name %s at domain ID %s.", p.Name, p.DomainID)
		}
		return Project{}, err
	}
	s.changed()
	return p, nil
}

// UpdateProject applies patch to project id.
func (s *Service) UpdateProject(ctx context.Context, id string, patch ProjectPatch) (Project, error) {
	p, err := s.repo.GetProject(ctx, id)
	if err != nil {
		return Project{}, NotFound(err, "project", id)
	}
	if patch.Name != nil {
		if err := checkName("project", *patch.Name); err != nil {
			return Project{}, err
		}
		p.Name = *patch.Name
	}
	if patch.Description != nil {
		p.Description = *patch.Description
	}
	if patch.Enabled != nil {
		p.Enabled = *patch.Enabled
	}
	if err := s.repo.UpdateProject(ctx, p); err != nil {
		if errors.Is(err, ErrConflict) {
			return Project{}, errorf(ErrConflict, "Conflict occurred attempting to store project - Duplicate entry found with name %s at domain ID %s.", p.Name, p.DomainID)
		}
		return Project{}, NotFound(err, "project", id)
	}
	s.changed()
	return p, nil
}

// DeleteProject removes a project with its assignments and scoped tokens.
func (s *Service) DeleteProject(ctx context.Context, id string) error {
	if err := s.repo.DeleteProject(ctx, id); err != nil {
		return NotFound(err, "project", id)
	}
	s.changed()
	return nil
}

// CreateUser validates u, hashes password (if any) and stores the user.
func (s *Service) CreateUser(ctx context.Context, u User, password string) (User, error) {
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

// UpdateUser applies patch to user id. A new password or disabling the user
// revokes every token the user holds, as Keystone does; enabling the user
// clears its failed logins, which ends a lockout.
func (s *Service) UpdateUser(ctx context.Context, id string, patch UserPatch) (User, error) {
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

// DeleteUser removes a user with its assignments and tokens.
func (s *Service) DeleteUser(ctx context.Context, id string) error {
	if err := s.repo.DeleteUser(ctx, id); err != nil {
		return NotFound(err, "user", id)
	}
	s.changed()
	return nil
}

// CreateRole stores a new global role.
func (s *Service) CreateRole(ctx context.Context, r Role) (Role, error) {
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

// UpdateRole renames or re-describes a role.
func (s *Service) UpdateRole(ctx context.Context, id string, name, description *string) (Role, error) {
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

// DeleteRole removes a role and every assignment of it.
func (s *Service) DeleteRole(ctx context.Context, id string) error {
	if err := s.repo.DeleteRole(ctx, id); err != nil {
		return NotFound(err, "role", id)
	}
	s.changed()
	return nil
}

// CheckAssignmentRefs verifies that the user, target and role of a exist,
// answering ErrNotFound with Keystone's message for the first missing one.
func (s *Service) CheckAssignmentRefs(ctx context.Context, a Assignment) error {
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

// Grant assigns a role to a user on a project or domain.
func (s *Service) Grant(ctx context.Context, a Assignment) error {
	if err := s.CheckAssignmentRefs(ctx, a); err != nil {
		return err
	}
	if err := s.repo.AddAssignment(ctx, a); err != nil {
		return err
	}
	s.changed()
	return nil
}

// Revoke a role assignment; ErrNotFound when it does not exist.
func (s *Service) Ungrant(ctx context.Context, a Assignment) error {
	if err := s.CheckAssignmentRefs(ctx, a); err != nil {
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
