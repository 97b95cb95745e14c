package service

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"imagestack/common/cluster"
	"imagestack/common/metrics"
	"imagestack/glance"
)

// Ownership of work in flight. Several API replicas share one database:
// each upload, stage, import task and copy is owned by the member that runs
// it through a lease (glance.Lease), taken before the work shows in the
// database (an image saving, a pending location, a task) and dropped once
// it ended there. The owner renews all its leases in one statement every
// cluster.RenewEvery(LeaseTTL). A member whose leases expire is dead (or
// cut off): any live member recovers its work, claiming each lease first
// so that exactly one does. Work of an earlier run of this member's name is
// dead for certain and recovered at start-up at once.

// leaseState is the lease half of the service.
type leaseState struct {
	leases      glance.LeaseRepository
	me          cluster.Member
	leaseTTL    time.Duration
	held        atomic.Int64 // leases this member holds (LeasesHeld)
	onRecovered func(kind string)
}

// DefaultLeaseTTL is cluster.DefaultTiming's lease time to live.
var DefaultLeaseTTL = cluster.DefaultTiming.LeaseTTL

// setupLeases fills the lease state from d and cfg.
func (s *Service) setupLeases(d Deps, cfg Config) error {
	s.leases = d.Leases
	if lr, ok := d.Repository.(glance.LeaseRepository); ok && s.leases == nil {
		s.leases = lr
	}
	if s.leases == nil {
		return errors.New("image service: a lease repository is required")
	}
	s.me, s.leaseTTL, s.onRecovered = d.Member, cfg.LeaseTTL, d.OnLeaseRecovered
	if s.me.ID == "" {
		// Unnamed (a test, a tool): a name no other run shares, so only
		// expired leases are ever recovered.
		s.me = cluster.NewMember("", "", nil)
		s.me.Name = s.me.ID
	}
	if s.onRecovered == nil {
		s.onRecovered = metrics.LeaseRecovered
	}
	return nil
}

// Member is the member this service runs as.
func (s *Service) Member() cluster.Member { return s.me }

// LeasesHeld is how many leases this member holds now (work in flight it
// runs, and work it is recovering).
func (s *Service) LeasesHeld() int64 { return s.held.Load() }

// addHeld counts delta leases of kind taken (or dropped), here and in the
// leases-held metric.
func (s *Service) addHeld(kind string, delta int) {
	s.held.Add(int64(delta))
	metrics.LeaseHeld(kind, delta)
}

// hold takes the lease kind/id (with detail, see glance.Lease) for work
// about to start: glance.ErrConflict when another holds it. release, never
// nil, drops it once the work ended; it may be called more than once.
func (s *Service) hold(ctx context.Context, kind, id, detail string) (release func(), err error) {
	l := glance.Lease{Kind: kind, ID: id, Owner: s.me.ID, Until: s.now().Add(s.leaseTTL), Detail: detail}
	if err := s.leases.TakeLease(ctx, l); err != nil {
		return func() {}, err
	}
	s.addHeld(kind, 1)
	return s.releaser(ctx, kind, id), nil
}

// releaseWait bounds a lease release's first try.
const releaseWait = 2 * time.Second

// releaser returns the release of a lease this member holds: once the
// database answers, so that no lease of finished work stays renewed.
func (s *Service) releaser(ctx context.Context, kind, id string) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			s.addHeld(kind, -1)
			s.untilReachable(ctx, "release the lease on "+kind+" "+id, func(ctx context.Context) error {
				// Briefly: a request that ends while the database is away
				// answers without waiting out a statement timeout here too
				// (the release is retried in the background).
				ctx, cancel := context.WithTimeout(ctx, releaseWait)
				defer cancel()
				return s.leases.ReleaseLease(ctx, kind, id, s.me.ID)
			})
		})
	}
}

// holdAll takes one lease per id, all or none.
func (s *Service) holdAll(ctx context.Context, kind string, ids []string, detail string) (release func(), err error) {
	var releases []func()
	release = func() {
		for _, r := range releases {
			r()
		}
	}
	for _, id := range ids {
		r, err := s.hold(ctx, kind, id, detail)
		if err != nil {
			release()
			return func() {}, err
		}
		releases = append(releases, r)
	}
	return release, nil
}

// RunLeases renews this member's leases and recovers expired ones of other
// members, every cluster.RenewEvery(LeaseTTL), until ctx ends.
func (s *Service) RunLeases(ctx context.Context) {
	every := cluster.RenewEvery(s.leaseTTL)
	go cluster.Every(ctx, every, s.renew)
	cluster.Every(ctx, every, func(ctx context.Context) {
		if _, err := s.recoverStale(ctx, false); err != nil && ctx.Err() == nil {
			s.log.Warn("could not recover work whose lease expired", "err", err)
		}
	})
}

// renew extends every lease this member holds by LeaseTTL from now.
func (s *Service) renew(ctx context.Context) {
	if s.held.Load() == 0 {
		return
	}
	if _, err := s.leases.RenewLeases(ctx, s.me.ID, s.now().Add(s.leaseTTL)); err != nil && ctx.Err() == nil {
		s.log.Warn("could not renew the leases on work in flight", "member", s.me.ID, "err", err)
	}
}
