package service

import (
	"context"
	"maps"
	"math"

	"imagestack/compute"
	"imagestack/policy"
)

// Quota is one resource's limit (compute.Unlimited: none) and what the
// scope uses of it.
type Quota struct {
	Limit, InUse int
}

// QuotaSet is the quotas of a project (or of a user within it, or a quota
// class), by resource name (compute.QuotaResources); the API shows the
// names its microversion has.
type QuotaSet map[string]Quota

// Limits returns the caller's project's limits and usage (GET /limits), or
// with tenantID another project's, which Nova's limits:other_project rule
// keeps for admins.
func (s *Service) Limits(ctx context.Context, c Caller, tenantID string) (QuotaSet, error) {
	if err := s.authorize(c, "os_compute_api:limits", policy.Target{}); err != nil {
		return nil, err
	}
	project := c.Creds.ProjectID
	if tenantID != "" {
		if err := s.authorize(c, "os_compute_api:limits:other_project", nil); err != nil {
			return nil, err
		}
		project = tenantID
	}
	return s.quotaSet(ctx, project, "")
}

// ProjectQuotas returns a project's quotas (os-quota-sets show, or with
// detail its /detail), a user's within it when user is not "".
func (s *Service) ProjectQuotas(ctx context.Context, c Caller, project, user string, detail bool) (QuotaSet, error) {
	rule := "os_compute_api:os-quota-sets:show"
	if detail {
		rule = "os_compute_api:os-quota-sets:detail"
	}
	if err := s.quotaRule(ctx, c, rule, project); err != nil {
		return nil, err
	}
	return s.quotaSet(ctx, project, user)
}

// DefaultQuotas returns the limits every project starts with
// (os-quota-sets/{project}/defaults).
func (s *Service) DefaultQuotas(ctx context.Context, c Caller, project string) (QuotaSet, error) {
	if err := s.quotaRule(ctx, c, "os_compute_api:os-quota-sets:defaults", project); err != nil {
		return nil, err
	}
	d, err := s.defaultLimits(ctx)
	return withoutUsage(d), err
}

// UpdateProjectQuotas sets limits of a project (of a user within it when
// user is not ""), as Nova: unless force, a limit below what is in use is
// 400. It returns the quotas then in force.
func (s *Service) UpdateProjectQuotas(ctx context.Context, c Caller, project, user string, limits map[string]int, force bool) (QuotaSet, error) {
	if err := s.quotaRule(ctx, c, "os_compute_api:os-quota-sets:update", project); err != nil {
		return nil, err
	}
	if !force {
		current, err := s.quotaSet(ctx, project, user)
		if err != nil {
			return nil, err
		}
		for _, res := range compute.QuotaResources {
			l, ok := limits[res]
			if ok && l != compute.Unlimited && l < current[res].InUse {
				return nil, compute.Errorf(compute.ErrBadRequest, "Quota limit %d for %s must be greater than or equal to already used and reserved %d.", l, res, current[res].InUse)
			}
		}
	}
	if err := s.setQuotaLimits(ctx, compute.QuotaScope{ProjectID: project, UserID: user}, limits); err != nil {
		return nil, err
	}
	return s.quotaSet(ctx, project, user)
}

// DeleteProjectQuotas returns a project (or a user within it) to the
// default limits.
func (s *Service) DeleteProjectQuotas(ctx context.Context, c Caller, project, user string) error {
	if err := s.authorize(c, "os_compute_api:os-quota-sets:delete", policy.Target{"project_id": project}); err != nil {
		return err
	}
	if s.UnifiedLimits != nil {
		return nil // as Nova's UnifiedLimitsDriver: the limits live in Keystone
	}
	return s.QuotaStore.DeleteQuotaLimits(ctx, compute.QuotaScope{ProjectID: project, UserID: user})
}

// ClassQuotas returns a quota class's limits: what is set for it over the
// defaults (os-quota-class-sets; only "default" is ever consulted).
func (s *Service) ClassQuotas(ctx context.Context, c Caller, class string) (QuotaSet, error) {
	if err := s.authorize(c, "os_compute_api:os-quota-class-sets:show", policy.Target{}); err != nil {
		return nil, err
	}
	return s.classQuotas(ctx, class)
}

// UpdateClassQuotas sets limits of a quota class; those of "default"
// become every project's defaults.
func (s *Service) UpdateClassQuotas(ctx context.Context, c Caller, class string, limits map[string]int) (QuotaSet, error) {
	if err := s.authorize(c, "os_compute_api:os-quota-class-sets:update", policy.Target{}); err != nil {
		return nil, err
	}
	if class == "" || len([]rune(class)) > 255 {
		return nil, compute.Errorf(compute.ErrBadRequest, "quota_class_name has a length of %d characters; it must be 1 to 255.", len([]rune(class)))
	}
	if err := s.setQuotaLimits(ctx, compute.QuotaScope{Class: class}, limits); err != nil {
		return nil, err
	}
	return s.classQuotas(ctx, class)
}

func (s *Service) classQuotas(ctx context.Context, class string) (QuotaSet, error) {
	limits := s.configuredLimits()
	set, err := s.QuotaStore.QuotaLimits(ctx, compute.QuotaScope{Class: class})
	if err != nil {
		return nil, err
	}
	maps.Copy(limits, set)
	return withoutUsage(limits), nil
}

// quotaRule checks a quota-set rule against the project and, as Nova's
// verify_project_id, refuses a project the identity service does not know.
func (s *Service) quotaRule(ctx context.Context, c Caller, rule, project string) error {
	if err := s.authorize(c, rule, policy.Target{"project_id": project}); err != nil {
		return err
	}
	if s.Projects == nil {
		return nil
	}
	ok, err := s.Projects.ProjectExists(ctx, project)
	if err != nil {
		return err
	}
	if !ok {
		return compute.Errorf(compute.ErrBadRequest, "Project ID %s is not a valid project.", compute.Clip(project))
	}
	return nil
}

// configuredLimits are Nova's defaults with the configured instance, core
// and RAM limits.
func (s *Service) configuredLimits() map[string]int {
	out := maps.Clone(compute.DefaultQuotaLimits)
	out[compute.QuotaInstances], out[compute.QuotaCores], out[compute.QuotaRAM] = s.Quotas.Instances, s.Quotas.Cores, s.Quotas.RAM
	return out
}

// defaultLimits are every project's defaults: the configured ones with the
// "default" class's over them.
func (s *Service) defaultLimits(ctx context.Context) (map[string]int, error) {
	if s.UnifiedLimits != nil {
		return s.unifiedLimits(ctx, "")
	}
	out := s.configuredLimits()
	class, err := s.QuotaStore.QuotaLimits(ctx, compute.QuotaScope{Class: compute.DefaultQuotaClass})
	maps.Copy(out, class)
	return out, err
}

// limitsOf are the limits in force for a project (and user): defaults,
// then the project's own, then the user's.
func (s *Service) limitsOf(ctx context.Context, project, user string) (map[string]int, error) {
	if s.UnifiedLimits != nil {
		return s.unifiedLimits(ctx, project)
	}
	out, err := s.defaultLimits(ctx)
	if err != nil {
		return nil, err
	}
	scopes := []compute.QuotaScope{{ProjectID: project}}
	if user != "" {
		scopes = append(scopes, compute.QuotaScope{ProjectID: project, UserID: user})
	}
	for _, sc := range scopes {
		set, err := s.QuotaStore.QuotaLimits(ctx, sc)
		if err != nil {
			return nil, err
		}
		maps.Copy(out, set)
	}
	return out, nil
}

// quotaSet is the limits in force for a project (and user) with its usage.
func (s *Service) quotaSet(ctx context.Context, project, user string) (QuotaSet, error) {
	limits, err := s.limitsOf(ctx, project, user)
	if err != nil {
		return nil, err
	}
	used, err := s.Servers.CountUsage(ctx, project)
	if err != nil {
		return nil, err
	}
	groups, err := s.Groups.CountServerGroups(ctx, project)
	if err != nil {
		return nil, err
	}
	set := withoutUsage(limits)
	for res, n := range map[string]int{compute.QuotaInstances: used.Instances, compute.QuotaCores: used.VCPUs,
		compute.QuotaRAM: used.RAM, compute.QuotaServerGroups: groups} {
		set[res] = Quota{Limit: limits[res], InUse: n}
	}
	if user != "" {
		keys, err := s.KeyPairs.ListKeyPairs(ctx, user)
		if err != nil {
			return nil, err
		}
		set[compute.QuotaKeyPairs] = Quota{Limit: limits[compute.QuotaKeyPairs], InUse: len(keys)}
	}
	return set, nil
}

func withoutUsage(limits map[string]int) QuotaSet {
	set := make(QuotaSet, len(limits))
	for res, l := range limits {
		set[res] = Quota{Limit: l}
	}
	return set
}

// room is how much of a limit is left beside used: math.MaxInt when the
// limit is unlimited.
func room(limit, used int) int {
	if limit < 0 {
		return math.MaxInt
	}
	return limit - used
}

// checkQuotaDelta reports whether a project may hold vcpus more cores and
// ram more MiB of RAM than it does now (resize to a larger flavor,
// unshelve): nil, or Nova's 403 naming the first resource short. Negative
// deltas always fit. It reads the limits in force (defaults, the default
// class, the project's own) and the usage of the project's live servers;
// the check is not atomic with the caller's change.
func (s *Service) checkQuotaDelta(ctx context.Context, project string, vcpus, ram int) error {
	limits, err := s.limitsOf(ctx, project, "")
	if err != nil {
		return err
	}
	used, err := s.Servers.CountUsage(ctx, project)
	if err != nil {
		return err
	}
	for _, r := range []struct {
		name         string
		delta, inUse int
	}{{compute.QuotaCores, vcpus, used.VCPUs}, {compute.QuotaRAM, ram, used.RAM}} {
		if r.delta > 0 && r.delta > room(limits[r.name], r.inUse) {
			return compute.Errorf(compute.ErrOverQuota, "Quota exceeded for %s: Requested %d, but already used %d of %d %s", r.name, r.delta, r.inUse, limits[r.name], r.name)
		}
	}
	return nil
}

// checkMetadataQuota refuses n metadata items beyond the metadata_items
// limit (403, Nova's words).
func checkMetadataQuota(limit, n int) error {
	if n > room(limit, 0) {
		return compute.Errorf(compute.ErrOverQuota, "Maximum number of metadata items exceeds %d", limit)
	}
	return nil
}
