package cluster

import (
	"context"
	"time"
)

// Every runs step every period until ctx ends: the shape of a member's
// periodic work (renewing leases, recovering expired ones, heartbeats).
// A step that overruns delays the next one; none run concurrently.
func Every(ctx context.Context, period time.Duration, step func(context.Context)) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			step(ctx)
		}
	}
}
