package keystone

import (
	"context"
	"errors"

	"imagestack/policy"
)

// CreateLimits stores all of ls or none (identity:create_limits). Each needs
// a registered limit of its service, region and resource (403 without).
func (s *Service) CreateLimits(ctx context.Context, creds policy.Credentials, ls []Limit) ([]Limit, error) {
	if err := s.authorize(creds, "identity:create_limits", nil); err != nil {
		return nil, err
	}
	for i := range ls {
		if err := s.checkLimitTarget(ctx, ls[i]); err != nil {
			return nil, err
		}
		ls[i].ID = newID()
	}
	out, err := s.repo.CreateLimits(ctx, ls)
	switch {
	case errors.Is(err, ErrNoRegisteredLimit):
		return nil, errorf(ErrForbidden, "Unable to create a limit that has no corresponding registered limit.")
	case errors.Is(err, ErrConflict):
		return nil, duplicateLimit("limit")
	}
	return out, err
}

// checkLimitTarget refuses a limit whose service, region, project or domain
// does not exist (400, as Keystone's ValidationError).
func (s *Service) checkLimitTarget(ctx context.Context, l Limit) error {
	if err := s.checkServiceRegion(l.ServiceID, l.RegionID, "limit"); err != nil {
		return err
	}
	if l.ProjectID != "" {
		if _, err := s.repo.GetProject(ctx, l.ProjectID); err != nil {
			return notFoundAs(err, validationError("project_id", "limit"))
		}
	}
	if l.DomainID != "" {
		if _, err := s.repo.GetDomain(ctx, l.DomainID); err != nil {
			return notFoundAs(err, validationError("domain_id", "limit"))
		}
	}
	return nil
}

func notFoundAs(err, instead error) error {
	if errors.Is(err, ErrNotFound) {
		return instead
	}
	return err
}

// ListLimits returns the matching limits the caller may see
// (identity:list_limits): all for admins, those of the domain and its
// projects for a domain-scoped token, those of the project otherwise.
func (s *Service) ListLimits(ctx context.Context, creds policy.Credentials, f LimitFilter) ([]Limit, error) {
	if err := s.authorize(creds, "identity:list_limits", nil); err != nil {
		return nil, err
	}
	switch {
	case hasRole(creds, "admin") || hasRole(creds, "service"):
		return s.repo.ListLimits(ctx, f)
	case creds.DomainID != "":
		return s.domainLimits(ctx, creds.DomainID, f)
	case creds.ProjectID != "":
		if f.ProjectID != "" && f.ProjectID != creds.ProjectID {
			return []Limit{}, nil
		}
		f.ProjectID = creds.ProjectID
		return s.repo.ListLimits(ctx, f)
	}
	return []Limit{}, nil
}

func hasRole(creds policy.Credentials, role string) bool {
	for _, r := range creds.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// domainLimits keeps the limits of domainID and of its projects.
func (s *Service) domainLimits(ctx context.Context, domainID string, f LimitFilter) ([]Limit, error) {
	all, err := s.repo.ListLimits(ctx, f)
	if err != nil {
		return nil, err
	}
	projects, err := s.repo.ListProjects(ctx, ProjectFilter{DomainID: domainID})
	if err != nil {
		return nil, err
	}
	in := map[string]bool{}
	for _, p := range projects {
		in[p.ID] = true
	}
	out := []Limit{}
	for _, l := range all {
		if in[l.ProjectID] || (l.DomainID != "" && l.DomainID == domainID) {
			out = append(out, l)
		}
	}
	return out, nil
}

// GetLimit returns one limit (identity:get_limit: admins, and readers of
// its project or domain).
func (s *Service) GetLimit(ctx context.Context, creds policy.Credentials, id string) (Limit, error) {
	l, err := s.repo.GetLimit(ctx, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Limit{}, err
	}
	// As Keystone: policy first (on what exists), then the existence check.
	if err := s.authorize(creds, "identity:get_limit", s.limitTarget(ctx, l)); err != nil {
		return Limit{}, err
	}
	return l, limitNotFound(err, "limit", id)
}

// limitTarget is the policy target of a limit: its project (with the
// project's domain) or its domain; empty keys are left out.
func (s *Service) limitTarget(ctx context.Context, l Limit) policy.Target {
	t := policy.Target{}
	if l.ProjectID != "" {
		t["target.limit.project_id"] = l.ProjectID
		if p, err := s.repo.GetProject(ctx, l.ProjectID); err == nil {
			t["target.limit.project.domain_id"] = p.DomainID
		}
	}
	if l.DomainID != "" {
		t["target.limit.domain_id"] = l.DomainID
		t["target.limit.domain.id"] = l.DomainID
	}
	return t
}

// UpdateLimit changes a limit's value or description (identity:update_limit).
func (s *Service) UpdateLimit(ctx context.Context, creds policy.Credentials, id string, p LimitPatch) (Limit, error) {
	if err := s.authorize(creds, "identity:update_limit", nil); err != nil {
		return Limit{}, err
	}
	l, err := s.repo.GetLimit(ctx, id)
	if err != nil {
		return Limit{}, limitNotFound(err, "limit", id)
	}
	if p.ResourceLimit != nil {
		l.ResourceLimit = *p.ResourceLimit
	}
	if p.SetDescription {
		l.Description = p.Description
	}
	return l, limitNotFound(s.repo.UpdateLimit(ctx, l), "limit", id)
}

// DeleteLimit removes a limit (identity:delete_limit).
func (s *Service) DeleteLimit(ctx context.Context, creds policy.Credentials, id string) error {
	if err := s.authorize(creds, "identity:delete_limit", nil); err != nil {
		return err
	}
	return limitNotFound(s.repo.DeleteLimit(ctx, id), "limit", id)
}

// ProjectLimits returns the limits in force for projectID of the named
// resources of the catalog service of type serviceType: the project's own
// limit, else the registered default (one of this region before one of no
// region). Resources with neither are left out: unlimited. A trusted call
// for the other services (no policy).
func (s *Service) ProjectLimits(ctx context.Context, projectID, serviceType string, resources []string) (map[string]int64, error) {
	f := LimitFilter{ServiceID: serviceID(serviceType)}
	regs, err := s.repo.ListRegisteredLimits(ctx, f)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, r := range resources {
		want[r] = true
	}
	out := map[string]int64{}
	for _, rl := range regs {
		if want[rl.ResourceName] && (rl.RegionID == s.cfg.Region || (rl.RegionID == "" && !hasKey(out, rl.ResourceName))) {
			out[rl.ResourceName] = rl.DefaultLimit
		}
	}
	if projectID == "" { // the registered defaults only
		return out, nil
	}
	f.ProjectID = projectID
	own, err := s.repo.ListLimits(ctx, f)
	if err != nil {
		return nil, err
	}
	for _, l := range own {
		if want[l.ResourceName] && (l.RegionID == "" || l.RegionID == s.cfg.Region) {
			out[l.ResourceName] = l.ResourceLimit
		}
	}
	return out, nil
}

func hasKey(m map[string]int64, k string) bool { _, ok := m[k]; return ok }
