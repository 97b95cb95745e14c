package service

import (
	"context"
	"maps"

	"imagestack/network"
	"imagestack/policy"
)

// QuotaUsage is one resource's line of /quotas/{project}/details.json.
type QuotaUsage struct{ Limit, Used, Reserved int }

func quotaTarget(project string) policy.Target {
	return policy.Target{"project_id": project, "tenant_id": project}
}

// limits are the project's limits: its own over the defaults.
func (s *Service) limits(ctx context.Context, project string) (map[string]int, error) {
	set, err := s.repo.Quotas(ctx, project)
	if err != nil {
		return nil, err
	}
	out := maps.Clone(s.quotas)
	for k, v := range set {
		if _, ok := out[k]; ok {
			out[k] = v
		}
	}
	return out, nil
}

// usage counts what the project owns of each resource.
func (s *Service) usage(ctx context.Context, project string) (map[string]int, error) {
	used := map[string]int{}
	nets, err := s.repo.ListNetworks(ctx)
	for _, n := range nets {
		used[network.QuotaNetwork] += b2i(n.ProjectID == project)
	}
	subs, err2 := s.repo.ListSubnets(ctx, "")
	for _, sub := range subs {
		used[network.QuotaSubnet] += b2i(sub.ProjectID == project)
	}
	ports, err3 := s.repo.ListPorts(ctx, network.PortFilter{})
	for _, p := range ports {
		used[network.QuotaPort] += b2i(p.ProjectID == project)
	}
	groups, err4 := s.repo.ListSecurityGroups(ctx)
	for _, g := range groups {
		used[network.QuotaSecurityGroup] += b2i(g.ProjectID == project)
		for _, r := range g.Rules {
			used[network.QuotaSecurityGroupRule] += b2i(r.ProjectID == project)
		}
	}
	for _, e := range []error{err, err2, err3, err4} {
		if e != nil {
			return nil, e
		}
	}
	return used, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkQuota refuses to add n of resource to the project beyond its limit
// (Neutron's 409 OverQuota). The count is not taken under a lock: two
// concurrent creates may together pass the limit by one.
func (s *Service) checkQuota(ctx context.Context, project, resource string, n int) error {
	lim, err := s.limits(ctx, project)
	if err != nil {
		return err
	}
	if lim[resource] < 0 {
		return nil
	}
	used, err := s.usage(ctx, project)
	if err != nil {
		return err
	}
	if used[resource]+n > lim[resource] {
		return network.Errorf(network.ErrConflict, "OverQuota", "Quota exceeded for resources: ['%s'].", resource)
	}
	return nil
}

// Quotas shows a project's limits.
func (s *Service) Quotas(ctx context.Context, c policy.Credentials, project string) (map[string]int, error) {
	if err := s.authorize(c, "get_quota", quotaTarget(project)); err != nil {
		return nil, err
	}
	return s.limits(ctx, project)
}

// DefaultQuotas shows the default limits.
func (s *Service) DefaultQuotas(ctx context.Context, c policy.Credentials, project string) (map[string]int, error) {
	if err := s.authorize(c, "get_quota", quotaTarget(project)); err != nil {
		return nil, err
	}
	return maps.Clone(s.quotas), nil
}

// QuotaDetails shows a project's limits with what it uses.
func (s *Service) QuotaDetails(ctx context.Context, c policy.Credentials, project string) (map[string]QuotaUsage, error) {
	lim, err := s.Quotas(ctx, c, project)
	if err != nil {
		return nil, err
	}
	used, err := s.usage(ctx, project)
	if err != nil {
		return nil, err
	}
	out := map[string]QuotaUsage{}
	for k, v := range lim {
		out[k] = QuotaUsage{Limit: v, Used: used[k]}
	}
	return out, nil
}

// UpdateQuotas sets some of a project's limits (admins); unknown resources
// and limits below -1 are 400.
func (s *Service) UpdateQuotas(ctx context.Context, c policy.Credentials, project string, limits map[string]int) (map[string]int, error) {
	if err := s.authorize(c, "update_quota", quotaTarget(project)); err != nil {
		return nil, err
	}
	for k, v := range limits {
		if _, ok := s.quotas[k]; !ok {
			return nil, invalid("Unrecognized attribute(s) '%s'", k)
		}
		if v < -1 {
			return nil, invalid("'%d' should be greater than or equal to -1", v)
		}
	}
	if err := s.repo.SetQuotas(ctx, project, limits); err != nil {
		return nil, err
	}
	return s.limits(ctx, project)
}

// DeleteQuotas returns a project to the default limits (admins).
func (s *Service) DeleteQuotas(ctx context.Context, c policy.Credentials, project string) error {
	if err := s.authorize(c, "delete_quota", quotaTarget(project)); err != nil {
		return err
	}
	return s.repo.DeleteQuotas(ctx, project)
}

// ProjectQuotas are one project's limits, in a list of them.
type ProjectQuotas struct {
	ProjectID string
	Limits    map[string]int
}

// ListQuotas lists the limits of the projects that have limits of their
// own (admins: Neutron checks get_quota on each project, which the
// default policy gives others for their own project only).
func (s *Service) ListQuotas(ctx context.Context, c policy.Credentials) ([]ProjectQuotas, error) {
	ids, err := s.repo.QuotaProjects(ctx)
	if err != nil {
		return nil, err
	}
	out := []ProjectQuotas{}
	for _, id := range ids {
		if !s.may(c, "get_quota", quotaTarget(id)) {
			continue
		}
		lim, err := s.limits(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, ProjectQuotas{ProjectID: id, Limits: lim})
	}
	return out, nil
}
