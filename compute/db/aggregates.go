package db

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	commondb "imagestack/common/db"
	"imagestack/compute"
)

type aggregateRow struct {
	ID        int `gorm:"primaryKey;autoIncrement"`
	UUID      string
	Name      string
	CreatedAt time.Time  `gorm:"autoCreateTime:false"`
	UpdatedAt *time.Time `gorm:"autoUpdateTime:false"`
}

func (aggregateRow) TableName() string { return "aggregates" }

type aggregateHostRow struct {
	AggregateID int
	Host        string
	CreatedAt   time.Time `gorm:"autoCreateTime:false"`
}

func (aggregateHostRow) TableName() string { return "aggregate_hosts" }

type aggregateMetaRow struct {
	AggregateID int
	Key         string `gorm:"column:meta_key"`
	Value       string `gorm:"column:meta_value"`
}

func (aggregateMetaRow) TableName() string { return "aggregate_metadata" }

var _ compute.AggregateRepository = (*Repo)(nil)

func aggregateName(id int) string { return "aggregate " + strconv.Itoa(id) }

// loadAggregates reads the aggregates q selects, with hosts and metadata.
func loadAggregates(q *gorm.DB) ([]compute.Aggregate, error) {
	var rows []aggregateRow
	if err := q.Order("id").Find(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, nil
	}
	ids := make([]int, len(rows))
	byID := map[int]int{}
	out := make([]compute.Aggregate, len(rows))
	for i, r := range rows {
		ids[i], byID[r.ID] = r.ID, i
		out[i] = compute.Aggregate{ID: r.ID, UUID: r.UUID, Name: r.Name, Metadata: map[string]string{},
			CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt}
	}
	db := q.Session(&gorm.Session{NewDB: true})
	var hosts []aggregateHostRow
	if err := db.Where("aggregate_id IN ?", ids).Order("created_at, host").Find(&hosts).Error; err != nil {
		return nil, err
	}
	for _, h := range hosts {
		a := &out[byID[h.AggregateID]]
		a.Hosts = append(a.Hosts, h.Host)
	}
	var meta []aggregateMetaRow
	if err := db.Where("aggregate_id IN ?", ids).Find(&meta).Error; err != nil {
		return nil, err
	}
	for _, m := range meta {
		out[byID[m.AggregateID]].Metadata[m.Key] = m.Value
	}
	return out, nil
}

// ListAggregates implements compute.AggregateRepository.
func (r *Repo) ListAggregates(ctx context.Context) ([]compute.Aggregate, error) {
	out, err := loadAggregates(r.db.WithContext(ctx))
	return out, classify(err, "aggregates")
}

// GetAggregate implements compute.AggregateRepository.
func (r *Repo) GetAggregate(ctx context.Context, id int) (compute.Aggregate, error) {
	out, err := loadAggregates(r.db.WithContext(ctx).Where("id = ?", id))
	if err == nil && len(out) == 0 {
		return compute.Aggregate{}, fmt.Errorf("%s: %w", aggregateName(id), compute.ErrNotFound)
	}
	if err != nil {
		return compute.Aggregate{}, classify(err, aggregateName(id))
	}
	return out[0], nil
}

// CreateAggregate implements compute.AggregateRepository.
func (r *Repo) CreateAggregate(ctx context.Context, a compute.Aggregate) (compute.Aggregate, error) {
	row := aggregateRow{UUID: uuid.NewString(), Name: a.Name, CreatedAt: ms(a.CreatedAt)}
	err := commondb.Transaction(ctx, r.db, func(tx *gorm.DB) error {
		row.ID = 0
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return writeAggregateRest(tx, row.ID, a, row.CreatedAt)
	})
	if err != nil {
		return compute.Aggregate{}, classify(err, "aggregate "+a.Name)
	}
	return r.GetAggregate(ctx, row.ID)
}

// writeAggregateRest replaces the hosts and metadata of aggregate id with
// a's; hosts new to it are added at now.
func writeAggregateRest(tx *gorm.DB, id int, a compute.Aggregate, now time.Time) error {
	var had []aggregateHostRow
	if err := tx.Where("aggregate_id = ?", id).Find(&had).Error; err != nil {
		return err
	}
	since := map[string]time.Time{}
	for _, h := range had {
		since[h.Host] = h.CreatedAt
	}
	if err := tx.Where("aggregate_id = ?", id).Delete(&aggregateHostRow{}).Error; err != nil {
		return err
	}
	if err := tx.Where("aggregate_id = ?", id).Delete(&aggregateMetaRow{}).Error; err != nil {
		return err
	}
	for i, h := range a.Hosts {
		at, ok := since[h]
		if !ok { // after those before it, in the order given
			at = now.Add(time.Duration(i) * time.Millisecond)
		}
		if err := tx.Create(&aggregateHostRow{AggregateID: id, Host: h, CreatedAt: at}).Error; err != nil {
			return err
		}
	}
	for k, v := range a.Metadata {
		if err := tx.Create(&aggregateMetaRow{AggregateID: id, Key: k, Value: v}).Error; err != nil {
			return err
		}
	}
	return nil
}

// serialize writes the row every change of aggregates writes first (see
// migration 19): changes run one after the other, on Galera too.
func serialize(tx *gorm.DB) error {
	return tx.Exec("UPDATE aggregate_serial SET version = version + 1 WHERE id = 1").Error
}

// UpdateAggregate implements compute.AggregateRepository: changes run one
// after the other (serialize).
func (r *Repo) UpdateAggregate(ctx context.Context, id int, change func(a *compute.Aggregate, all []compute.Aggregate) error) (compute.Aggregate, error) {
	var changeErr error
	err := commondb.Transaction(ctx, r.db, func(tx *gorm.DB) error {
		changeErr = nil
		if err := serialize(tx); err != nil {
			return err
		}
		all, err := loadAggregates(tx)
		if err != nil {
			return err
		}
		a, ok := findAggregate(all, id)
		if !ok {
			return fmt.Errorf("%s: %w", aggregateName(id), compute.ErrNotFound)
		}
		if changeErr = change(&a, all); changeErr != nil {
			return changeErr
		}
		now := ms(time.Now())
		res := tx.Model(&aggregateRow{}).Where("id = ?", id).Updates(map[string]any{"name": a.Name, "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		return writeAggregateRest(tx, id, a, now)
	})
	if changeErr != nil {
		return compute.Aggregate{}, changeErr
	}
	if err != nil {
		return compute.Aggregate{}, classify(err, aggregateName(id))
	}
	return r.GetAggregate(ctx, id)
}

// findAggregate returns a copy of aggregate id of all (hosts and metadata
// copied too: a change must not alter all).
func findAggregate(all []compute.Aggregate, id int) (compute.Aggregate, bool) {
	for _, a := range all {
		if a.ID == id {
			md := make(map[string]string, len(a.Metadata))
			for k, v := range a.Metadata {
				md[k] = v
			}
			a.Metadata, a.Hosts = md, append([]string(nil), a.Hosts...)
			return a, true
		}
	}
	return compute.Aggregate{}, false
}

// DeleteAggregate implements compute.AggregateRepository.
func (r *Repo) DeleteAggregate(ctx context.Context, id int, check func(a compute.Aggregate) error) error {
	var checkErr error
	err := commondb.Transaction(ctx, r.db, func(tx *gorm.DB) error {
		checkErr = nil
		if err := serialize(tx); err != nil {
			return err
		}
		list, err := loadAggregates(tx.Where("id = ?", id))
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return fmt.Errorf("%s: %w", aggregateName(id), compute.ErrNotFound)
		}
		if checkErr = check(list[0]); checkErr != nil {
			return checkErr
		}
		for _, m := range []any{&aggregateHostRow{}, &aggregateMetaRow{}} {
			if err := tx.Where("aggregate_id = ?", id).Delete(m).Error; err != nil {
				return err
			}
		}
		return tx.Where("id = ?", id).Delete(&aggregateRow{}).Error
	})
	if checkErr != nil {
		return checkErr
	}
	return classify(err, aggregateName(id))
}
