package main

import (
	"errors"

	"imagestack/common/metrics"
	"imagestack/compute"
	computeservice "imagestack/compute/service"
)

// countDecision records a placement of the scheduler in the metrics:
// scheduled, no valid host, or another failure.
func countDecision(d computeservice.Decision) {
	switch {
	case d.Err == nil:
		metrics.SchedulerDecision(metrics.Scheduled)
	case errors.Is(d.Err, compute.ErrNoValidHost):
		metrics.SchedulerDecision(metrics.NoValidHost)
	default:
		metrics.SchedulerDecision(metrics.ClaimFailed)
	}
}
