package service

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"imagestack/common/cluster"
	"imagestack/compute"
)

// errLeaseLost tells background work that another member recovered its
// server (this member's lease expired unrenewed), so it must record
// nothing more.
var errLeaseLost = errors.New("the lease on the server's task was lost to another member")

// takeRetry is how often a task tries again to take a lease another
// member holds (or that the database could not give).
const takeRetry = 500 * time.Millisecond

// taskLeases are the leases this member holds on servers' tasks: one per
// server while at least one of its tasks is queued or running here. Nil
// repo: no leases (a single process, as before leases).
type taskLeases struct {
	repo   compute.TaskLeaseRepository
	member cluster.Member
	ttl    time.Duration
	now    func() time.Time
	mu     sync.Mutex
	held   map[string]*heldTask
}

// heldTask is the lease on one server, shared by its tasks here.
type heldTask struct {
	refs    int
	taken   chan struct{} // closed once the lease is this member's
	takenAt time.Time
	lost    bool
	cancel  []context.CancelFunc // the contexts of the tasks running under it
}

func newTaskLeases(d Deps, now func() time.Time) *taskLeases {
	ttl := d.Timing.LeaseTTL
	if ttl <= 0 {
		ttl = cluster.DefaultTiming.LeaseTTL
	}
	return &taskLeases{repo: d.TaskLeases, member: d.Member, ttl: ttl, now: now, held: map[string]*heldTask{}}
}

// enter counts one more task of server id here and returns its lease; the
// first task of a server tries to take the lease at once (first reports
// it: its goroutine keeps trying while another member holds it).
func (l *taskLeases) enter(id string) (h *heldTask, first bool) {
	l.mu.Lock()
	h = l.held[id]
	if h == nil {
		h, first = &heldTask{taken: make(chan struct{})}, true
		l.held[id] = h
	}
	h.refs++
	l.mu.Unlock()
	if first {
		l.take(id, h)
	}
	return h, first
}

// take tries once to take server id's lease for h.
func (l *taskLeases) take(id string, h *heldTask) {
	if l.repo != nil && !l.tryTake(id) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	h.markTaken(l.now())
}

func (h *heldTask) markTaken(at time.Time) {
	select {
	case <-h.taken:
	default:
		h.takenAt = at
		close(h.taken)
	}
}

func (h *heldTask) isTaken() bool {
	select {
	case <-h.taken:
		return true
	default:
		return false
	}
}

// tryTake takes server id's lease if free, expired or this member's (a
// server that is no more has none to take: its work finds it gone).
func (l *taskLeases) tryTake(id string) bool {
	now := l.now().UTC()
	ok, err := l.repo.TakeTask(context.Background(), id, l.member.ID, now, now.Add(l.ttl))
	return (ok && err == nil) || errors.Is(err, compute.ErrNotFound)
}

// await waits until h is this member's lease on server id (taking it,
// when first, as soon as another member's lease ends) and returns the
// context of a task under it, cancelled if the lease is lost; false: quit
// closed first.
func (l *taskLeases) await(id string, h *heldTask, first bool, quit <-chan struct{}) (context.Context, bool) {
	for {
		select {
		case <-h.taken:
			return l.taskContext(h), true
		case <-quit:
			return nil, false
		case <-time.After(min(cluster.RenewEvery(l.ttl), takeRetry)):
		}
		if first {
			l.take(id, h)
		}
	}
}

func (l *taskLeases) taskContext(h *heldTask) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	l.mu.Lock()
	defer l.mu.Unlock()
	h.cancel = append(h.cancel, cancel)
	return ctx
}

// adopt holds server id's lease, which this member just claimed.
func (l *taskLeases) adopt(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.held[id]
	if h == nil {
		h = &heldTask{taken: make(chan struct{})}
		l.held[id] = h
	}
	h.refs++
	h.markTaken(l.now())
}

// leave ends one task of server id here; the last one releases the lease
// (under the lock: a task entering meanwhile takes it afresh).
func (l *taskLeases) leave(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.held[id]
	if h == nil {
		return
	}
	if h.refs--; h.refs > 0 {
		return
	}
	delete(l.held, id)
	for _, c := range h.cancel {
		c()
	}
	if l.repo != nil && !h.lost {
		// Not released (the database is out of reach): it expires, and a
		// member recovers the server, whose task is over.
		_ = l.repo.ReleaseTask(context.Background(), id, l.member.ID)
	}
}

// fence refuses the write of background work on sv once this member has
// lost the lease it holds on sv's task.
func (l *taskLeases) fence(sv *compute.Server) error {
	if l.repo == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.held[sv.ID]
	if h == nil || !h.isTaken() {
		return nil // not background work of this member
	}
	if h.lost || sv.TaskOwner != l.member.ID {
		h.lost = true
		return errLeaseLost
	}
	return nil
}

// RenewTaskLeases renews this member's leases on servers' tasks every
// cluster.RenewEvery(LeaseTTL) until ctx ends; work whose lease another
// member took meanwhile is cancelled.
func (s *Service) RenewTaskLeases(ctx context.Context) {
	l := s.leases
	if l.repo == nil {
		return
	}
	cluster.Every(ctx, cluster.RenewEvery(l.ttl), func(context.Context) {
		lost, err := l.renew(ctx)
		if err != nil {
			s.log.Warn("could not renew the leases on server tasks", "err", err)
		}
		for _, id := range lost {
			s.log.Error("lost the lease on a server's task to another member: the task records nothing more", "server", id)
		}
	})
}

// renew extends this member's leases and cancels the tasks of those lost,
// which it returns.
func (l *taskLeases) renew(ctx context.Context) (lost []string, err error) {
	start := l.now()
	ids, err := l.repo.RenewTasks(ctx, l.member.ID, start.UTC().Add(l.ttl))
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, h := range l.held {
		if h.isTaken() && h.takenAt.Before(start) && !slices.Contains(ids, id) && !h.lost {
			h.lost, lost = true, append(lost, id)
			for _, c := range h.cancel {
				c()
			}
		}
	}
	return lost, nil
}
