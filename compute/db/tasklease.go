package db

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	commondb "imagestack/common/db"
	"imagestack/compute"
)

var _ compute.TaskLeaseRepository = (*Repo)(nil)

// taskLeaseRow is what the lease code reads of a server.
type taskLeaseRow struct {
	ID             string
	TaskOwner      string
	TaskLeaseUntil *time.Time
	TaskState      string
	VMState        string
	UpdatedAt      time.Time
}

func (taskLeaseRow) TableName() string { return "servers" }

// leaseCAS runs one compare-and-set update of servers' lease columns and
// reports whether it changed a row (on MySQL an update that sets the
// values a row has counts no row: every update here changes the owner or
// the expiry).
func (r *Repo) leaseCAS(ctx context.Context, what string, set map[string]any, where string, args ...any) (bool, error) {
	var n int64
	err := commondb.Transaction(ctx, r.db, func(tx *gorm.DB) error {
		res := tx.Model(&taskLeaseRow{}).Where(where, args...).Updates(set)
		n = res.RowsAffected
		return res.Error
	})
	return n > 0, classify(err, what)
}

// TakeTask implements compute.TaskLeaseRepository.
func (r *Repo) TakeTask(ctx context.Context, id, owner string, now, until time.Time) (bool, error) {
	ok, err := r.leaseCAS(ctx, "take task lease", map[string]any{"task_owner": owner, "task_lease_until": ms(until)},
		"id = ? AND (task_owner = '' OR task_owner = ? OR task_lease_until < ?)", id, owner, ms(now))
	if err != nil || ok {
		return ok, err
	}
	// On MySQL an update that changes nothing (owner's own lease, renewed
	// twice within a millisecond) counts no row: the owner says.
	var owners []string
	if err := r.db.WithContext(ctx).Model(&taskLeaseRow{}).Where("id = ?", id).Pluck("task_owner", &owners).Error; err != nil {
		return false, classify(err, "server "+id)
	}
	if len(owners) == 0 {
		return false, fmt.Errorf("server %s: %w", id, compute.ErrNotFound)
	}
	return owners[0] == owner, nil
}

// ClaimTask implements compute.TaskLeaseRepository.
func (r *Repo) ClaimTask(ctx context.Context, id, from string, expiredBy time.Time, owner string, until time.Time) (bool, error) {
	set := map[string]any{"task_owner": owner, "task_lease_until": ms(until)}
	if expiredBy.IsZero() {
		return r.leaseCAS(ctx, "claim task lease", set, "id = ? AND task_owner = ?", id, from)
	}
	return r.leaseCAS(ctx, "claim task lease", set, "id = ? AND task_owner = ? AND task_lease_until < ?", id, from, ms(expiredBy))
}

// RenewTasks implements compute.TaskLeaseRepository.
func (r *Repo) RenewTasks(ctx context.Context, owner string, until time.Time) ([]string, error) {
	if _, err := r.leaseCAS(ctx, "renew task leases", map[string]any{"task_lease_until": ms(until)}, "task_owner = ?", owner); err != nil {
		return nil, err
	}
	var ids []string
	err := r.db.WithContext(ctx).Model(&taskLeaseRow{}).Where("task_owner = ?", owner).Pluck("id", &ids).Error
	return ids, classify(err, "task leases")
}

// ReleaseTask implements compute.TaskLeaseRepository.
func (r *Repo) ReleaseTask(ctx context.Context, id, owner string) error {
	_, err := r.leaseCAS(ctx, "release task lease", map[string]any{"task_owner": "", "task_lease_until": nil},
		"id = ? AND task_owner = ?", id, owner)
	return err
}

// TaskLeases implements compute.TaskLeaseRepository.
func (r *Repo) TaskLeases(ctx context.Context, unowned bool) ([]compute.TaskLease, error) {
	var rows []taskLeaseRow
	q := r.db.WithContext(ctx).Where("task_lease_until IS NOT NULL")
	if unowned {
		q = q.Or("task_owner = '' AND (task_state <> '' OR vm_state = ?)", compute.VMBuilding)
	}
	if err := q.Order("id").Find(&rows).Error; err != nil {
		return nil, classify(err, "task leases")
	}
	out := make([]compute.TaskLease, 0, len(rows))
	for _, row := range rows {
		tl := compute.TaskLease{ServerID: row.ID, Owner: row.TaskOwner, TaskState: row.TaskState, VMState: row.VMState, UpdatedAt: row.UpdatedAt.UTC()}
		if row.TaskLeaseUntil != nil {
			tl.Until = row.TaskLeaseUntil.UTC()
		}
		out = append(out, tl)
	}
	return out, nil
}
