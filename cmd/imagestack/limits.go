package main

import (
	"context"
	"errors"
	"fmt"

	"imagestack/common/config"
	"imagestack/compute"
	"imagestack/glance"
	"imagestack/policy/external"
	"imagestack/policy/keystone"
)

// limitReader reads a project's unified limits (registered defaults
// overridden by the project's own) for one catalog service type; a
// resource without a registered limit is absent (unlimited).
type limitReader interface {
	ProjectLimits(ctx context.Context, projectID, serviceType string, resources []string) (map[string]int64, error)
}

// serviceLimits reads one catalog service's unified limits from the
// identity service, for the services that enforce them.
type serviceLimits struct {
	identity    limitReader
	serviceType string
	unavailable error // the service's error kind for an unreachable database (503)
}

func (l serviceLimits) ProjectLimits(ctx context.Context, projectID string, resources []string) (map[string]int64, error) {
	ls, err := l.identity.ProjectLimits(ctx, projectID, l.serviceType, resources)
	if errors.Is(err, keystone.ErrUnavailable) || errors.Is(err, external.ErrUnavailable) {
		return nil, fmt.Errorf("%w: %v", l.unavailable, err)
	}
	return ls, err
}

// imageLimits is what the image service enforces: the image service's
// limits with image.use_keystone_limits, nothing otherwise.
func imageLimits(cfg config.Config, identity limitReader) glance.Limits {
	if !cfg.Image.UseKeystoneLimits || identity == nil {
		return nil
	}
	return serviceLimits{identity: identity, serviceType: "image", unavailable: glance.ErrUnavailable}
}

// computeLimits is Nova's [quota]driver: the compute service's unified
// limits with compute.quota_driver unified, nil (the database) otherwise.
func computeLimits(cfg config.Config, identity limitReader) compute.Limits {
	if cfg.Compute.QuotaDriver != config.QuotaDriverUnified || identity == nil {
		return nil
	}
	return serviceLimits{identity: identity, serviceType: "compute", unavailable: compute.ErrUnavailable}
}
