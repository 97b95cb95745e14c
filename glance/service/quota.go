package service

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"imagestack/glance"
)

// Unified limits, as Glance's use_keystone_limits enforces them: image
// creation checks image_count_total; uploads image_size_total and
// image_count_uploading; stages image_stage_total and image_count_uploading;
// imports image_size_total. Sizes are in MiB and usage rounds down, as in
// Glance. Unlike Glance, which checks only before the data arrives, uploads
// and stages are also metered while they stream: the read that would take
// the project past its limit fails with 413, and the upload is undone.
//
// Bytes in flight are counted per project in this process, so concurrent
// uploads of one project cannot together pass a limit by more than one byte
// each. Other processes sharing the database see them only once they are
// stored: with N processes a project may exceed a limit by at most the
// uploads in flight in the other N-1.

const mib = 1 << 20

// Kinds of metered bytes.
const (
	meterStored = iota
	meterStaged
	meterKinds
)

// quotas enforces the limits; the zero value (no Limits) enforces nothing.
type quotas struct {
	limits glance.Limits
	usage  glance.UsageRepository
	mu     sync.Mutex
	flows  map[string]*projectFlow
}

// projectFlow is a project's bytes in flight in this process.
type projectFlow struct {
	inflight [meterKinds]int64 // being written now
	settled  [meterKinds]int64 // written and stored, since the entry was made
	users    int
}

func (q *quotas) on() bool { return q.limits != nil }

// overLimit is Glance's LimitExceeded (413) with oslo.limit's message.
func overLimit(project, resource string, limit, usage, delta int64) error {
	return glance.Errorf(glance.ErrTooLarge, "The request returned a 413 Request Entity Too Large. This generally means that rate limiting or a quota threshold was breached.\n\nThe response body:\n"+
		"Project %s is over a limit for [Resource %s is over limit of %d due to current usage %d and delta %d]", project, resource, limit, usage, delta)
}

// limitOf returns the limit of resource for project, or -1 (unlimited).
func (q *quotas) limitOf(ctx context.Context, project, resource string) (int64, error) {
	ls, err := q.limits.ProjectLimits(ctx, project, []string{resource})
	if err != nil {
		return 0, fmt.Errorf("read limits: %w", err)
	}
	if l, ok := ls[resource]; ok {
		return l, nil
	}
	return -1, nil
}

// usageOf is the usage of resource in its unit (MiB for sizes).
func usageOf(u glance.Usage, resource string) int64 {
	switch resource {
	case glance.LimitImageSizeTotal:
		return u.StoredBytes / mib
	case glance.LimitImageStageTotal:
		return u.StagedBytes / mib
	case glance.LimitImageCountTotal:
		return u.Images
	}
	return u.Uploading
}

// enforce fails with 413 when project's usage of resource plus delta is
// over its limit (oslo.limit's rule).
func (q *quotas) enforce(ctx context.Context, project, resource string, delta int64) error {
	if !q.on() || project == "" {
		return nil
	}
	limit, err := q.limitOf(ctx, project, resource)
	if err != nil || limit < 0 {
		return err
	}
	u, err := q.usage.Usage(ctx, project)
	if err != nil {
		return err
	}
	if used := usageOf(u, resource); used+delta > limit {
		return overLimit(project, resource, limit, used, delta)
	}
	return nil
}

// QuotaUsage is one resource of GET /v2/info/usage.
type QuotaUsage struct {
	Limit, Usage int64
}

// Usage reports the caller's project's limits and usage of the four
// resources, or nothing when limits are not enforced (as Glance).
func (s *Service) Usage(ctx context.Context, c Caller) (map[string]QuotaUsage, error) {
	out := map[string]QuotaUsage{}
	if !s.quotas.on() || c.Project() == "" {
		return out, nil
	}
	ls, err := s.quotas.limits.ProjectLimits(ctx, c.Project(), glance.LimitResources)
	if err != nil {
		return nil, fmt.Errorf("read limits: %w", err)
	}
	u, err := s.quotas.usage.Usage(ctx, c.Project())
	if err != nil {
		return nil, err
	}
	for _, r := range glance.LimitResources {
		l, ok := ls[r]
		if !ok {
			l = -1
		}
		out[r] = QuotaUsage{Limit: l, Usage: usageOf(u, r)}
	}
	return out, nil
}

// errQuota marks a stream stopped by a byte limit; meter.err holds the 413.
var errQuota = errors.New("over quota")
