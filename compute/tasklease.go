package compute

import (
	"context"
	"time"
)

// A server's background task (a boot, an action, a delete) is run by one
// member of the deployment, which holds a lease on it in the server's row
// and renews it while the task runs. A task whose lease expired lost its
// member (a crash, a partition): any live member recovers it, exactly once,
// by moving the lease to itself with a compare-and-set.

// TaskLease is who runs a server's task, and until when.
type TaskLease struct {
	ServerID string
	// Owner is the member id (cluster.Member.ID) holding the lease; ""
	// for none.
	Owner string
	// Until is when the lease expires unless renewed (zero with no owner).
	Until time.Time
	// TaskState and VMState are the server's, UpdatedAt its last change:
	// a task without an owner is one whose request died before its work
	// began (or one left by a version without leases).
	TaskState, VMState string
	UpdatedAt          time.Time
}

// TaskLeaseRepository keeps the leases on servers' tasks. Every change is
// a compare-and-set on the server's row, so that members racing for one
// lease (two recoverers, a recoverer and a late renewal) see exactly one
// of them win.
type TaskLeaseRepository interface {
	// TakeTask leases server id's task to owner until until when the
	// lease is free, owner's already, or expired before now, and reports
	// whether owner holds it (false: a live lease of another member).
	// ErrNotFound if there is no such server.
	TakeTask(ctx context.Context, id, owner string, now, until time.Time) (bool, error)
	// ClaimTask moves the lease of server id from exactly from ("" for
	// none) to owner until until, and reports whether it did. With a
	// non-zero expiredBy the lease must also have expired before it (a
	// renewal meanwhile wins over the claim).
	ClaimTask(ctx context.Context, id, from string, expiredBy time.Time, owner string, until time.Time) (bool, error)
	// RenewTasks extends every lease of owner to until and returns the
	// servers whose lease owner still holds.
	RenewTasks(ctx context.Context, owner string, until time.Time) ([]string, error)
	// ReleaseTask ends owner's lease on server id (nothing if the lease
	// is no longer owner's).
	ReleaseTask(ctx context.Context, id, owner string) error
	// TaskLeases lists the servers with a lease and, with unowned, those
	// with a task (or still building) but no lease.
	TaskLeases(ctx context.Context, unowned bool) ([]TaskLease, error)
}
