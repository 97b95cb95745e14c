package glance

import (
	"context"
	"time"
)

// Kinds of work in flight that a member of the deployment owns by lease
// (glance.Lease.Kind), and what their Lease.ID names.
const (
	// LeaseUpload: data going into an image (upload, web-download or
	// glance-direct import, legacy import, location being placed): the
	// image is saving or importing. ID is the image id, Detail the image's
	// blob key for this attempt.
	LeaseUpload = "upload"
	// LeaseStage: data going into the staging area: the image is
	// uploading and has no size yet. ID is the image id.
	LeaseStage = "stage"
	// LeaseCopy: a copy of an active image's data to another store (a
	// pending location). ID is CopyLeaseID(image, store), Detail the
	// image's blob key.
	LeaseCopy = "copy"
	// LeaseTask: an import task pending or processing. ID is the task id.
	LeaseTask = "task"
)

// CopyLeaseID is the Lease.ID of a copy of image's data to store.
func CopyLeaseID(imageID, store string) string { return imageID + "/" + store }

// Lease says that a member of the deployment owns one piece of work in
// flight until Until; the owner renews it while the work goes on. When it
// is not renewed in time (the owner died or lost the database), any live
// member recovers the work, and exactly one does: it claims the lease
// first (ClaimLease).
type Lease struct {
	Kind, ID string
	// Owner is the member id (cluster.Member.ID) of the owner; "" for
	// work found in flight with no lease at all (AdoptOrphans).
	Owner string
	Until time.Time
	// Detail tells recovery which attempt the lease covers (a blob key),
	// so that it never undoes a later attempt on the same object.
	Detail string
}

// LeaseRepository keeps the leases on work in flight. Every member of a
// deployment shares it (one database); its operations are atomic
// compare-and-set steps, safe with members racing each other.
type LeaseRepository interface {
	// TakeLease records l: ErrConflict when Kind/ID is leased already
	// (live or not), which is what refuses a second owner.
	TakeLease(ctx context.Context, l Lease) error
	// RenewLeases moves Until of every lease owner holds to until, in one
	// step whatever their number, and returns how many it renewed.
	RenewLeases(ctx context.Context, owner string, until time.Time) (int64, error)
	// ReleaseLease drops the lease Kind/ID when owner holds it (nothing
	// otherwise: a lease claimed by a recoverer stays the recoverer's).
	ReleaseLease(ctx context.Context, kind, id, owner string) error
	// StaleLeases returns the leases that expired before now, and every
	// lease held by an id in the name's earlier runs: an owner id that
	// starts with name + "#" (the caller leaves out its own). name ""
	// returns the expired ones only.
	StaleLeases(ctx context.Context, now time.Time, name string) ([]Lease, error)
	// ClaimLease moves l to owner by, until until, provided it is still
	// held by l.Owner and, unless force, expired before now; it reports
	// whether it did. Of several members claiming one lease at once
	// exactly one gets true.
	ClaimLease(ctx context.Context, l Lease, by string, now, until time.Time, force bool) (bool, error)
	// AdoptOrphans records an expired lease with no owner (and the blob
	// key as Detail) on every piece of work in flight that has no lease:
	// images saving or importing (LeaseUpload), pending locations of
	// active or deactivated images (LeaseCopy), and tasks pending or
	// processing (LeaseTask). Such work was left by a process without
	// leases (an earlier version) or by one whose clean-up was cut short;
	// work that starts meanwhile takes its lease before it shows, so it is
	// never adopted. It returns how many leases it recorded.
	AdoptOrphans(ctx context.Context) (int, error)
}
