package keystone

import (
	"context"
	"errors"

	"imagestack/policy"
)

// ProjectPatch lists the project fields an update changes (nil = unchanged).
type ProjectPatch struct {
	Name, Description *string
	Enabled           *bool
}

// ListProjects returns the projects matching f (identity:list_projects).
func (s *Service) ListProjects(ctx context.Context, creds policy.Credentials, f ProjectFilter) ([]Project, error) {
	if err := s.MayListProjects(creds); err != nil {
		return nil, err
	}
	return s.repo.ListProjects(ctx, f)
}

// GetProject returns project id (identity:get_project).
func (s *Service) GetProject(ctx context.Context, creds policy.Credentials, id string) (Project, error) {
	if err := s.authorize(creds, "identity:get_project", policy.Target{"target.project.id": id}); err != nil {
		return Project{}, err
	}
	p, err := s.repo.GetProject(ctx, id)
	return p, NotFound(err, "project", id)
}

// ListUserProjects returns the enabled projects user id has a role on
// (identity:list_user_projects).
func (s *Service) ListUserProjects(ctx context.Context, creds policy.Credentials, id string) ([]Project, error) {
	if err := s.authorize(creds, "identity:list_user_projects", policy.Target{"target.user.id": id}); err != nil {
		return nil, err
	}
	if _, err := s.repo.GetUser(ctx, id); err != nil {
		return nil, NotFound(err, "user", id)
	}
	return s.userProjects(ctx, id)
}

// AuthProjects returns the enabled projects the caller may scope a token to.
func (s *Service) AuthProjects(ctx context.Context, creds policy.Credentials) ([]Project, error) {
	return s.userProjects(ctx, creds.UserID)
}

// userProjects lists the enabled projects userID has any role on.
func (s *Service) userProjects(ctx context.Context, userID string) ([]Project, error) {
	as, err := s.repo.ListAssignments(ctx, AssignmentFilter{UserID: userID, TargetType: TargetProject})
	if err != nil {
		return nil, err
	}
	ids := []string{}
	for _, a := range as {
		ids = append(ids, a.TargetID)
	}
	enabled := true
	return s.repo.ListProjects(ctx, ProjectFilter{IDs: ids, Enabled: &enabled})
}

// CreateProject validates p, gives it an id unless it has one, and stores it
// (identity:create_project on the project's domain).
func (s *Service) CreateProject(ctx context.Context, creds policy.Credentials, p Project) (Project, error) {
	if err := s.authorize(creds, "identity:create_project", policy.Target{"target.project.domain_id": p.DomainID}); err != nil {
		return Project{}, err
	}
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

// UpdateProject applies patch to project id (identity:update_project).
func (s *Service) UpdateProject(ctx context.Context, creds policy.Credentials, id string, patch ProjectPatch) (Project, error) {
	if err := s.MayUpdateProject(creds, id); err != nil {
		return Project{}, err
	}
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

// DeleteProject removes a project with its assignments and scoped tokens
// (identity:delete_project).
func (s *Service) DeleteProject(ctx context.Context, creds policy.Credentials, id string) error {
	if err := s.authorize(creds, "identity:delete_project", policy.Target{"target.project.id": id}); err != nil {
		return err
	}
	if err := s.repo.DeleteProject(ctx, id); err != nil {
		return NotFound(err, "project", id)
	}
	s.changed()
	return nil
}
