package service

import (
	"context"
	"errors"
	"unicode/utf8"

	"imagestack/compute"
)

// FlavorAccess lists the projects given access to a private flavor (admin
// by default). Public flavors have no such list: 404, as in Nova.
func (s *Service) FlavorAccess(ctx context.Context, c Caller, id string) ([]string, error) {
	if err := s.authorize(c, "os_compute_api:os-flavor-access", nil); err != nil {
		return nil, err
	}
	f, err := s.GetFlavor(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if f.IsPublic {
		return nil, compute.Errorf(compute.ErrNotFound, "Access list not available for public flavors.")
	}
	return s.flavorProjects(ctx, id)
}

// AddFlavorAccess gives a project access to a flavor (admin by default)
// and returns the flavor's access list. At microversion 2.1 Nova allows
// this on public flavors too (the list is then simply unused).
func (s *Service) AddFlavorAccess(ctx context.Context, c Caller, id, project string) ([]string, error) {
	if err := s.authorize(c, "os_compute_api:os-flavor-access:add_tenant_access", nil); err != nil {
		return nil, err
	}
	if err := s.checkProject(ctx, project, true); err != nil {
		return nil, err
	}
	if _, err := s.GetFlavor(ctx, c, id); err != nil {
		return nil, err
	}
	err := s.flavors.AddFlavorAccess(ctx, id, project)
	switch {
	case errors.Is(err, compute.ErrConflict):
		return nil, compute.Errorf(compute.ErrConflict, "Flavor access already exists for flavor %s and project %s combination.", compute.Clip(id), project)
	case errors.Is(err, compute.ErrNotFound):
		return nil, compute.Errorf(compute.ErrNotFound, "Flavor %s could not be found.", compute.Clip(id))
	case err != nil:
		return nil, err
	}
	return s.flavorProjects(ctx, id)
}

// RemoveFlavorAccess takes a project's access to a flavor away (admin by
// default) and returns the flavor's access list. The project need not
// exist any more.
func (s *Service) RemoveFlavorAccess(ctx context.Context, c Caller, id, project string) ([]string, error) {
	if err := s.authorize(c, "os_compute_api:os-flavor-access:remove_tenant_access", nil); err != nil {
		return nil, err
	}
	if err := s.checkProject(ctx, project, false); err != nil {
		return nil, err
	}
	if _, err := s.GetFlavor(ctx, c, id); err != nil {
		return nil, err
	}
	err := s.flavors.RemoveFlavorAccess(ctx, id, project)
	if errors.Is(err, compute.ErrNotFound) {
		return nil, compute.Errorf(compute.ErrNotFound, "Flavor access not found for %s / %s combination.", compute.Clip(id), project)
	}
	if err != nil {
		return nil, err
	}
	return s.flavorProjects(ctx, id)
}

func (s *Service) flavorProjects(ctx context.Context, id string) ([]string, error) {
	projects, err := s.flavors.FlavorProjects(ctx, id)
	if errors.Is(err, compute.ErrNotFound) {
		return nil, compute.Errorf(compute.ErrNotFound, "Flavor %s could not be found.", compute.Clip(id))
	}
	return projects, err
}

// checkProject validates a tenant of a flavor access call: 1 to 255
// characters and, when mustExist and the identity service is wired, an
// existing project. As in Nova, an identity service that cannot answer
// does not block the call.
func (s *Service) checkProject(ctx context.Context, project string, mustExist bool) error {
	if n := utf8.RuneCountInString(project); n == 0 || n > maxNameLen {
		return invalid("tenant", "It must be 1 to %d characters long.", maxNameLen)
	}
	if !mustExist || s.Projects == nil {
		return nil
	}
	ok, err := s.Projects.ProjectExists(ctx, project)
	if err != nil {
		s.log.WarnContext(ctx, "could not verify a project id; accepting it", "project", project, "err", err)
		return nil
	}
	if !ok {
		return compute.Errorf(compute.ErrBadRequest, "Project ID %s is not a valid project.", compute.Clip(project))
	}
	return nil
}
