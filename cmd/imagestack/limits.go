package main

import (
	"context"
	"errors"
	"fmt"

	"imagestack/common/config"
	"imagestack/glance"
	"imagestack/policy/keystone"
)

// serviceLimits reads one catalog service's unified limits from the
// identity service, for the services that enforce them.
type serviceLimits struct {
	identity    *keystone.Service
	serviceType string
}

func (l serviceLimits) ProjectLimits(ctx context.Context, projectID string, resources []string) (map[string]int64, error) {
	ls, err := l.identity.ProjectLimits(ctx, projectID, l.serviceType, resources)
	if errors.Is(err, keystone.ErrUnavailable) {
		// The image API answers 503 with Retry-After for an unreachable database.
		return nil, fmt.Errorf("%w: %v", glance.ErrUnavailable, err)
	}
	return ls, err
}

// imageLimits is what the image service enforces: the image service's
// limits with image.use_keystone_limits, nothing otherwise.
func imageLimits(cfg config.Config, identity *keystone.Service) glance.Limits {
	if !cfg.Image.UseKeystoneLimits {
		return nil
	}
	return serviceLimits{identity: identity, serviceType: "image"}
}
