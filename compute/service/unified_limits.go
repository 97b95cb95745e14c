package service

import (
	"context"
	"fmt"
	"maps"
	"math"

	"imagestack/compute"
)

// unifiedLimits are the limits in force for project under Nova's
// UnifiedLimitsDriver: Keystone's limits of the compute service under
// their quota names, unlimited where none is registered (project "": the
// registered defaults).
func (s *Service) unifiedLimits(ctx context.Context, project string) (map[string]int, error) {
	names := make([]string, 0, len(compute.UnifiedLimitNames))
	for name := range compute.UnifiedLimitNames {
		names = append(names, name)
	}
	ls, err := s.UnifiedLimits.ProjectLimits(ctx, project, names)
	if err != nil {
		return nil, fmt.Errorf("read unified limits: %w", err)
	}
	out := maps.Clone(compute.DefaultQuotaLimits)
	for res := range out {
		out[res] = compute.Unlimited
	}
	for name, l := range ls {
		if l > math.MaxInt32 {
			l = math.MaxInt32
		}
		out[compute.UnifiedLimitNames[name]] = int(l)
	}
	return out, nil
}

// setQuotaLimits stores limits set through os-quota-sets or
// os-quota-class-sets; with unified limits, as Nova, they are accepted and
// change nothing (operators set limits in Keystone).
func (s *Service) setQuotaLimits(ctx context.Context, scope compute.QuotaScope, limits map[string]int) error {
	if s.UnifiedLimits != nil {
		return nil
	}
	return s.QuotaStore.SetQuotaLimits(ctx, scope, limits)
}
