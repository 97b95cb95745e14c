// Package db keeps compute data (flavors, servers) in the metadata database
// through gorm, converting driver errors into compute.ErrNotFound and
// compute.ErrConflict at its boundary.
package db

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	commondb "imagestack/common/db"
	"imagestack/compute"
)

type flavorRow struct {
	ID         string `gorm:"primaryKey"`
	Name       string
	RAM        int `gorm:"column:memory_mb"`
	VCPUs      int `gorm:"column:vcpus"`
	Disk       int `gorm:"column:root_gb"`
	Swap       int
	Ephemeral  int `gorm:"column:ephemeral_gb"`
	RxTxFactor float64
	IsPublic   bool
	Disabled   bool
	CreatedAt  time.Time `gorm:"autoCreateTime:false"`
	// Description (migration 12).
	Description *string
}

func (flavorRow) TableName() string { return "flavors" }

type extraSpecRow struct {
	FlavorID string `gorm:"primaryKey"`
	Key      string `gorm:"primaryKey;column:spec_key"`
	Value    string
}

func (extraSpecRow) TableName() string { return "flavor_extra_specs" }

// Repo implements the compute repositories.
type Repo struct{ db *gorm.DB }

var _ compute.FlavorRepository = (*Repo)(nil)

// New migrates the compute schema and returns the repository.
func New(gdb *gorm.DB) (*Repo, error) {
	if err := commondb.Migrate(gdb, Component, Migrations); err != nil {
		return nil, err
	}
	return &Repo{db: gdb}, nil
}

// classify converts gorm/driver errors into domain error kinds.
func classify(err error, what string) error { return errorKinds.Classify(err, what) }

var errorKinds = commondb.Kinds{NotFound: compute.ErrNotFound, Conflict: compute.ErrConflict, Unavailable: compute.ErrUnavailable}

// CreateFlavor implements compute.FlavorRepository.
func (r *Repo) CreateFlavor(ctx context.Context, f compute.Flavor) error {
	row := flavorRow(f)
	row.CreatedAt = f.CreatedAt.UTC().Truncate(time.Millisecond)
	return classify(r.db.WithContext(ctx).Create(&row).Error, "flavor "+f.ID)
}

// GetFlavor implements compute.FlavorRepository.
func (r *Repo) GetFlavor(ctx context.Context, id string) (compute.Flavor, error) {
	var row flavorRow
	err := r.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	return compute.Flavor(row), classify(err, "flavor "+id)
}

// flavorSortColumns maps Nova's flavor sort keys to columns.
var flavorSortColumns = map[string]string{
	"flavorid": "id", "id": "id", "name": "name", "memory_mb": "memory_mb", "vcpus": "vcpus",
	"root_gb": "root_gb", "swap": "swap", "ephemeral_gb": "ephemeral_gb", "rxtx_factor": "rxtx_factor",
	"created_at": "created_at", "disabled": "disabled", "is_public": "is_public", "description": "description",
}

// ListFlavors implements compute.FlavorRepository.
func (r *Repo) ListFlavors(ctx context.Context, f compute.FlavorFilter) ([]compute.Flavor, error) {
	col := flavorSortColumns[f.SortKey]
	if col == "" {
		col = "id"
	}
	op, dir := ">", "ASC"
	if f.SortDesc {
		op, dir = "<", "DESC"
	}
	q := r.db.WithContext(ctx).Model(&flavorRow{}).Where("disabled = ?", false)
	if f.MinRAM > 0 {
		q = q.Where("memory_mb >= ?", f.MinRAM)
	}
	if f.MinDisk > 0 {
		q = q.Where("root_gb >= ?", f.MinDisk)
	}
	switch {
	case f.IsPublic != nil && *f.IsPublic && f.AccessProject != "":
		q = q.Where("(is_public = ? OR id IN (?))", true,
			r.db.Model(&flavorProjectRow{}).Select("flavor_id").Where("project_id = ?", f.AccessProject))
	case f.IsPublic != nil:
		q = q.Where("is_public = ?", *f.IsPublic)
	}
	if f.Marker != "" {
		var m flavorRow
		if err := r.db.WithContext(ctx).Where("id = ?", f.Marker).Take(&m).Error; err != nil {
			return nil, classify(err, "marker "+f.Marker)
		}
		var mv any
		switch col {
		case "id":
			mv = m.ID
		case "name":
			mv = m.Name
		default:
			if err := r.db.WithContext(ctx).Model(&flavorRow{}).Select(col).Where("id = ?", m.ID).Scan(&mv).Error; err != nil {
				return nil, classify(err, "marker "+f.Marker)
			}
		}
		q = q.Where("("+col+" "+op+" ? OR ("+col+" = ? AND id "+op+" ?))", mv, mv, m.ID)
	}
	q = q.Order(col + " " + dir)
	if col != "id" {
		q = q.Order("id " + dir)
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	var rows []flavorRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, classify(err, "list flavors")
	}
	out := make([]compute.Flavor, len(rows))
	for i, row := range rows {
		out[i] = compute.Flavor(row)
	}
	return out, nil
}

// DeleteFlavor implements compute.FlavorRepository.
func (r *Repo) DeleteFlavor(ctx context.Context, id string) error {
	return classify(commondb.Transaction(ctx, r.db, func(tx *gorm.DB) error {
		if err := lockFlavor(tx, id); err != nil {
			return err
		}
		if err := tx.Where("flavor_id = ?", id).Delete(&extraSpecRow{}).Error; err != nil {
			return classify(err, "flavor "+id)
		}
		if err := tx.Where("flavor_id = ?", id).Delete(&flavorProjectRow{}).Error; err != nil {
			return classify(err, "flavor "+id)
		}
		return classify(tx.Where("id = ?", id).Delete(&flavorRow{}).Error, "flavor "+id)
	}), "delete flavor")
}

// SetFlavorDescription implements compute.FlavorRepository.
func (r *Repo) SetFlavorDescription(ctx context.Context, id string, description *string) error {
	res := r.db.WithContext(ctx).Model(&flavorRow{}).Where("id = ?", id).Update("description", description)
	if res.Error != nil {
		return classify(res.Error, "flavor "+id)
	}
	if res.RowsAffected == 0 {
		if _, err := r.GetFlavor(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// CountFlavors implements compute.FlavorRepository.
func (r *Repo) CountFlavors(ctx context.Context) (int64, error) {
	var n int64
	err := r.db.WithContext(ctx).Model(&flavorRow{}).Count(&n).Error
	return n, classify(err, "count flavors")
}

// ExtraSpecs implements compute.FlavorRepository.
func (r *Repo) ExtraSpecs(ctx context.Context, flavorID string) (map[string]string, error) {
	var rows []extraSpecRow
	if err := r.db.WithContext(ctx).Where("flavor_id = ?", flavorID).Find(&rows).Error; err != nil {
		return nil, classify(err, "extra specs")
	}
	out := make(map[string]string, len(rows))
	for _, row := range rows {
		out[row.Key] = row.Value
	}
	return out, nil
}

// SetExtraSpecs implements compute.FlavorRepository.
func (r *Repo) SetExtraSpecs(ctx context.Context, flavorID string, specs map[string]string) error {
	return classify(commondb.Transaction(ctx, r.db, func(tx *gorm.DB) error {
		for k, v := range specs {
			if err := tx.Where("flavor_id = ? AND spec_key = ?", flavorID, k).Delete(&extraSpecRow{}).Error; err != nil {
				return classify(err, "extra spec "+k)
			}
			if err := tx.Create(&extraSpecRow{FlavorID: flavorID, Key: k, Value: v}).Error; err != nil {
				return classify(err, "extra spec "+k)
			}
		}
		return nil
	}), "set extra specs")
}

// DeleteExtraSpec implements compute.FlavorRepository.
func (r *Repo) DeleteExtraSpec(ctx context.Context, flavorID, key string) error {
	res := r.db.WithContext(ctx).Where("flavor_id = ? AND spec_key = ?", flavorID, key).Delete(&extraSpecRow{})
	if res.Error != nil {
		return classify(res.Error, "extra spec "+key)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("extra spec %s: %w", key, compute.ErrNotFound)
	}
	return nil
}
