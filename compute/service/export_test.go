package service

import (
	"context"
	"time"
)

// SetSettlePauses shortens the retry pauses of settle for a test and
// returns the function that restores them.
func SetSettlePauses(first, max time.Duration) (restore func()) {
	oldFirst, oldMax := settleFirst, settleMax
	settleFirst, settleMax = first, max
	return func() { settleFirst, settleMax = oldFirst, oldMax }
}

// Place exposes the placement step to tests.
var Place = place

// CheckQuotaDelta exposes checkQuotaDelta to tests.
func (s *Service) CheckQuotaDelta(ctx context.Context, project string, vcpus, ram int) error {
	return s.checkQuotaDelta(ctx, project, vcpus, ram)
}

// DiskGB exposes diskGB to tests.
var DiskGB = diskGB
