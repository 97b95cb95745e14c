package db

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	commondb "imagestack/common/db"
	"imagestack/glance"
)

type leaseRow struct {
	Kind       string `gorm:"primaryKey"`
	ID         string `gorm:"primaryKey"`
	Owner      string
	LeaseUntil time.Time
	Detail     string
}

func (leaseRow) TableName() string { return "image_leases" }

var _ glance.LeaseRepository = (*Repo)(nil)

// orphanUntil is the expiry recorded on adopted orphans: long past, and
// within what every engine's datetime holds.
var orphanUntil = time.Unix(0, 0).UTC()

// Every write below runs in commondb.Transaction: two members writing one
// lease at once on Galera make one of them fail certification, which is
// retried (and then decided by the row as the winner left it).

// TakeLease implements glance.LeaseRepository.
func (r *Repo) TakeLease(ctx context.Context, l glance.Lease) error {
	row := leaseRow{Kind: l.Kind, ID: l.ID, Owner: l.Owner, LeaseUntil: dbTime(l.Until), Detail: l.Detail}
	err := commondb.Transaction(ctx, r.db, func(tx *gorm.DB) error { return tx.Create(&row).Error })
	return classify(err, "lease on "+l.Kind+" "+l.ID)
}

// RenewLeases implements glance.LeaseRepository.
func (r *Repo) RenewLeases(ctx context.Context, owner string, until time.Time) (int64, error) {
	var n int64
	err := commondb.Transaction(ctx, r.db, func(tx *gorm.DB) error {
		res := tx.Model(&leaseRow{}).Where("owner = ?", owner).Update("lease_until", dbTime(until))
		n = res.RowsAffected
		return res.Error
	})
	return n, classify(err, "renew leases")
}

// ReleaseLease implements glance.LeaseRepository.
func (r *Repo) ReleaseLease(ctx context.Context, kind, id, owner string) error {
	err := commondb.Transaction(ctx, r.db, func(tx *gorm.DB) error {
		return tx.Where("kind = ? AND id = ? AND owner = ?", kind, id, owner).Delete(&leaseRow{}).Error
	})
	return classify(err, "release lease on "+kind+" "+id)
}

// StaleLeases implements glance.LeaseRepository.
func (r *Repo) StaleLeases(ctx context.Context, now time.Time, name string) ([]glance.Lease, error) {
	q := r.db.WithContext(ctx).Where("lease_until < ?", dbTime(now))
	if name != "" {
		// LIKE with the wildcards in name escaped: a member name is free text.
		// ("!" as the escape character: a backslash means different
		// things in MySQL's and SQLite's string literals).
		esc := strings.NewReplacer(`!`, `!!`, `%`, `!%`, `_`, `!_`).Replace(name)
		q = q.Or(`owner LIKE ? ESCAPE '!'`, esc+"#%")
	}
	var rows []leaseRow
	if err := q.Order("kind, id").Find(&rows).Error; err != nil {
		return nil, classify(err, "list stale leases")
	}
	out := make([]glance.Lease, len(rows))
	for i, row := range rows {
		out[i] = glance.Lease{Kind: row.Kind, ID: row.ID, Owner: row.Owner, Until: row.LeaseUntil.UTC(), Detail: row.Detail}
	}
	return out, nil
}

// ClaimLease implements glance.LeaseRepository: one conditional UPDATE,
// whose affected row count says who won. It is retried on a deadlock or a
// Galera certification failure, and decided by the row's values alone.
func (r *Repo) ClaimLease(ctx context.Context, l glance.Lease, by string, now, until time.Time, force bool) (bool, error) {
	var won bool
	err := commondb.Transaction(ctx, r.db, func(tx *gorm.DB) error {
		q := tx.Model(&leaseRow{}).Where("kind = ? AND id = ? AND owner = ?", l.Kind, l.ID, l.Owner)
		if !force {
			q = q.Where("lease_until < ?", dbTime(now))
		}
		res := q.Updates(map[string]any{"owner": by, "lease_until": dbTime(until)})
		won = res.RowsAffected == 1
		return res.Error
	})
	return won, classify(err, "claim lease on "+l.Kind+" "+l.ID)
}

// AdoptOrphans implements glance.LeaseRepository. Each orphan is inserted
// on its own, doing nothing when a lease exists: work that took its lease
// since it was listed keeps it.
func (r *Repo) AdoptOrphans(ctx context.Context) (int, error) {
	orphans, err := r.workInFlight(ctx)
	if err != nil {
		return 0, classify(err, "find work in flight")
	}
	n := 0
	for _, row := range orphans {
		row.LeaseUntil = orphanUntil
		res := r.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
		if res.Error != nil {
			return n, classify(res.Error, "adopt "+row.Kind+" "+row.ID)
		}
		n += int(res.RowsAffected)
	}
	return n, nil
}

// workInFlight lists what AdoptOrphans covers, as ownerless lease rows.
func (r *Repo) workInFlight(ctx context.Context) ([]leaseRow, error) {
	db := r.db.WithContext(ctx)
	var ims []imageRow
	err := db.Select("id, blob_key").Where("deleted = ? AND status IN ?", false,
		[]string{glance.StatusSaving, glance.StatusImporting}).Find(&ims).Error
	if err != nil {
		return nil, err
	}
	var out []leaseRow
	for _, im := range ims {
		out = append(out, leaseRow{Kind: glance.LeaseUpload, ID: im.ID, Detail: im.BlobKey})
	}
	var copies []struct{ ImageID, Store, BlobKey string }
	err = db.Table("image_locations AS l").Select("l.image_id, l.store, i.blob_key").
		Joins("JOIN images AS i ON i.id = l.image_id").
		Where("l.status = ? AND i.deleted = ? AND i.status IN ?", glance.LocationPending, false,
			[]string{glance.StatusActive, glance.StatusDeactivated}).Scan(&copies).Error
	if err != nil {
		return nil, err
	}
	for _, c := range copies {
		out = append(out, leaseRow{Kind: glance.LeaseCopy, ID: glance.CopyLeaseID(c.ImageID, c.Store), Detail: c.BlobKey})
	}
	var tasks []string
	err = db.Model(&taskRow{}).Where("status IN ?", []string{glance.TaskPending, glance.TaskProcessing}).Pluck("id", &tasks).Error
	for _, id := range tasks {
		out = append(out, leaseRow{Kind: glance.LeaseTask, ID: id})
	}
	return out, err
}
