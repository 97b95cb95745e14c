package db

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	commondb "imagestack/common/db"
	"imagestack/policy/keystone"
)

// Unified limits. A null region is stored as "" so that the unique indexes
// hold on every engine (NULLs never collide in a unique index).

type v6RegisteredLimit struct {
	ID           string  `gorm:"primaryKey;size:64"`
	ServiceID    string  `gorm:"size:64;not null;uniqueIndex:uq_identity_registered_limits,priority:1"`
	RegionID     string  `gorm:"size:64;not null;uniqueIndex:uq_identity_registered_limits,priority:2"`
	ResourceName string  `gorm:"size:255;not null;uniqueIndex:uq_identity_registered_limits,priority:3"`
	DefaultLimit int64   `gorm:"not null"`
	Description  *string `gorm:"type:text"`
}

func (v6RegisteredLimit) TableName() string { return "identity_registered_limits" }

type v6Limit struct {
	ID                string  `gorm:"primaryKey;size:64"`
	RegisteredLimitID string  `gorm:"size:64;not null;uniqueIndex:uq_identity_limits,priority:1"`
	ProjectID         string  `gorm:"size:64;not null;uniqueIndex:uq_identity_limits,priority:2;index:ix_identity_limits_project"`
	DomainID          string  `gorm:"size:64;not null;uniqueIndex:uq_identity_limits,priority:3"`
	ResourceLimit     int64   `gorm:"not null"`
	Description       *string `gorm:"type:text"`
}

func (v6Limit) TableName() string { return "identity_limits" }

func migrate6(tx *gorm.DB) error { return tx.Migrator().AutoMigrate(&v6RegisteredLimit{}, &v6Limit{}) }

type registeredLimitRow = v6RegisteredLimit

type limitRow struct {
	ID                string
	RegisteredLimitID string
	ProjectID         string
	DomainID          string
	ResourceLimit     int64
	Description       *string
}

func (limitRow) TableName() string { return "identity_limits" }

// limitView is a limit joined with its registered limit.
type limitView struct {
	ID, RegisteredLimitID, ProjectID, DomainID string
	ResourceLimit                              int64
	Description                                *string
	ServiceID, RegionID, ResourceName          string
}

func (s *Repo) CreateRegisteredLimits(ctx context.Context, rls []keystone.RegisteredLimit) error {
	rows := make([]registeredLimitRow, len(rls))
	for i, rl := range rls {
		rows[i] = registeredLimitRow{ID: rl.ID, ServiceID: rl.ServiceID, RegionID: rl.RegionID,
			ResourceName: rl.ResourceName, DefaultLimit: rl.DefaultLimit, Description: rl.Description}
	}
	return classify(commondb.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		return tx.Create(&rows).Error
	}), "create registered limits")
}

func (s *Repo) GetRegisteredLimit(ctx context.Context, id string) (keystone.RegisteredLimit, error) {
	var r registeredLimitRow
	err := s.first(ctx, &r, "registered limit "+id, "id = ?", id)
	return keystone.RegisteredLimit(r), err
}

func (s *Repo) ListRegisteredLimits(ctx context.Context, f keystone.LimitFilter) ([]keystone.RegisteredLimit, error) {
	q := registeredFilter(s.db.WithContext(ctx).Order("id"), "", f)
	return findAll(q, "list registered limits", func(r registeredLimitRow) keystone.RegisteredLimit { return keystone.RegisteredLimit(r) })
}

// registeredFilter applies f's registered-limit fields to columns of table
// (a prefix such as "r." for joins, or "").
func registeredFilter(q *gorm.DB, table string, f keystone.LimitFilter) *gorm.DB {
	for col, v := range map[string]string{"service_id": f.ServiceID, "region_id": f.RegionID, "resource_name": f.ResourceName} {
		if v != "" {
			q = q.Where(table+col+" = ?", v)
		}
	}
	return q
}

func (s *Repo) UpdateRegisteredLimit(ctx context.Context, rl keystone.RegisteredLimit) error {
	return classify(commondb.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		if err := unreferenced(tx, rl.ID); err != nil {
			return err
		}
		res := tx.Model(&registeredLimitRow{}).Where("id = ?", rl.ID).Updates(map[string]any{
			"service_id": rl.ServiceID, "region_id": rl.RegionID, "resource_name": rl.ResourceName,
			"default_limit": rl.DefaultLimit, "description": rl.Description})
		return res.Error
	}), "update registered limit")
}

// unreferenced locks registered limit id (ErrNotFound when absent) and fails
// with ErrLimitReferenced when a limit overrides it.
func unreferenced(tx *gorm.DB, id string) error {
	var rl registeredLimitRow
	if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", id).Take(&rl).Error; err != nil {
		return classify(err, "registered limit "+id)
	}
	var n int64
	if err := tx.Model(&limitRow{}).Where("registered_limit_id = ?", id).Count(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("registered limit %s: %w", id, keystone.ErrLimitReferenced)
	}
	return nil
}

func (s *Repo) DeleteRegisteredLimit(ctx context.Context, id string) error {
	return classify(commondb.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		if err := unreferenced(tx, id); err != nil {
			return err
		}
		return deleteOne(tx, &registeredLimitRow{}, "registered limit "+id, id)
	}), "delete registered limit")
}

func (s *Repo) CreateLimits(ctx context.Context, ls []keystone.Limit) ([]keystone.Limit, error) {
	out := make([]keystone.Limit, len(ls))
	err := commondb.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		for i, l := range ls {
			var rl registeredLimitRow
			err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("service_id = ? AND region_id = ? AND resource_name = ?",
				l.ServiceID, l.RegionID, l.ResourceName).Take(&rl).Error
			if err != nil {
				if err = classify(err, "registered limit"); errors.Is(err, keystone.ErrNotFound) {
					return fmt.Errorf("limit %s: %w", l.ResourceName, keystone.ErrNoRegisteredLimit)
				}
				return err
			}
			l.RegisteredLimitID = rl.ID
			row := limitRow{ID: l.ID, RegisteredLimitID: rl.ID, ProjectID: l.ProjectID, DomainID: l.DomainID,
				ResourceLimit: l.ResourceLimit, Description: l.Description}
			if err := tx.Create(&row).Error; err != nil {
				return err
			}
			out[i] = l
		}
		return nil
	})
	if err != nil {
		return nil, classify(err, "create limits")
	}
	return out, nil
}

func (s *Repo) limitQuery(ctx context.Context) *gorm.DB {
	return s.db.WithContext(ctx).Table("identity_limits AS l").
		Select("l.*, r.service_id, r.region_id, r.resource_name").
		Joins("JOIN identity_registered_limits r ON r.id = l.registered_limit_id")
}

func (v limitView) limit() keystone.Limit {
	return keystone.Limit{ID: v.ID, ProjectID: v.ProjectID, DomainID: v.DomainID, ServiceID: v.ServiceID,
		RegionID: v.RegionID, ResourceName: v.ResourceName, ResourceLimit: v.ResourceLimit,
		Description: v.Description, RegisteredLimitID: v.RegisteredLimitID}
}

func (s *Repo) GetLimit(ctx context.Context, id string) (keystone.Limit, error) {
	var v limitView
	err := classify(s.limitQuery(ctx).Where("l.id = ?", id).Take(&v).Error, "limit "+id)
	return v.limit(), err
}

func (s *Repo) ListLimits(ctx context.Context, f keystone.LimitFilter) ([]keystone.Limit, error) {
	q := registeredFilter(s.limitQuery(ctx).Order("l.id"), "r.", f)
	if f.ProjectID != "" {
		q = q.Where("l.project_id = ?", f.ProjectID)
	}
	if f.DomainID != "" {
		q = q.Where("l.domain_id = ?", f.DomainID)
	}
	var vs []limitView
	if err := q.Find(&vs).Error; err != nil {
		return nil, classify(err, "list limits")
	}
	out := make([]keystone.Limit, len(vs))
	for i, v := range vs {
		out[i] = v.limit()
	}
	return out, nil
}

func (s *Repo) UpdateLimit(ctx context.Context, l keystone.Limit) error {
	res := s.db.WithContext(ctx).Model(&limitRow{}).Where("id = ?", l.ID).
		Updates(map[string]any{"resource_limit": l.ResourceLimit, "description": l.Description})
	if res.Error != nil {
		return classify(res.Error, "update limit")
	}
	return s.existsAfterUpdate(ctx, res, &limitRow{}, "limit "+l.ID, l.ID)
}

func (s *Repo) DeleteLimit(ctx context.Context, id string) error {
	return classify(deleteOne(s.db.WithContext(ctx), &limitRow{}, "limit "+id, id), "delete limit")
}
