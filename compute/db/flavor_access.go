package db

import (
	"context"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	commondb "imagestack/common/db"
	"imagestack/compute"
)

type flavorProjectRow struct {
	FlavorID  string `gorm:"primaryKey"`
	ProjectID string `gorm:"primaryKey"`
}

func (flavorProjectRow) TableName() string { return "flavor_projects" }

// lockFlavor locks the flavor's row for the rest of tx (MySQL; SQLite's
// transactions take the database write lock when they begin), so that an
// access grant and the flavor's deletion happen one after the other and no
// grant outlives its flavor.
func lockFlavor(tx *gorm.DB, flavorID string) error {
	var row flavorRow
	err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Select("id").Where("id = ?", flavorID).Take(&row).Error
	return classify(err, "flavor "+flavorID)
}

// FlavorProjects implements compute.FlavorRepository.
func (r *Repo) FlavorProjects(ctx context.Context, flavorID string) ([]string, error) {
	var n int64
	db := r.db.WithContext(ctx)
	if err := db.Model(&flavorRow{}).Where("id = ?", flavorID).Count(&n).Error; err != nil {
		return nil, classify(err, "flavor "+flavorID)
	}
	if n == 0 {
		return nil, fmt.Errorf("flavor %s: %w", flavorID, compute.ErrNotFound)
	}
	projects := []string{}
	err := db.Model(&flavorProjectRow{}).Where("flavor_id = ?", flavorID).Order("project_id").Pluck("project_id", &projects).Error
	return projects, classify(err, "access to flavor "+flavorID)
}

// AddFlavorAccess implements compute.FlavorRepository.
func (r *Repo) AddFlavorAccess(ctx context.Context, flavorID, projectID string) error {
	return classify(commondb.Transaction(ctx, r.db, func(tx *gorm.DB) error {
		if err := lockFlavor(tx, flavorID); err != nil {
			return err
		}
		row := flavorProjectRow{FlavorID: flavorID, ProjectID: projectID}
		return classify(tx.Create(&row).Error, "access of project "+projectID+" to flavor "+flavorID)
	}), "add flavor access")
}

// RemoveFlavorAccess implements compute.FlavorRepository.
func (r *Repo) RemoveFlavorAccess(ctx context.Context, flavorID, projectID string) error {
	res := r.db.WithContext(ctx).Where("flavor_id = ? AND project_id = ?", flavorID, projectID).Delete(&flavorProjectRow{})
	if res.Error != nil {
		return classify(res.Error, "access to flavor "+flavorID)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("access of project %s to flavor %s: %w", projectID, flavorID, compute.ErrNotFound)
	}
	return nil
}
