package db

import (
	"context"

	"gorm.io/gorm"

	"imagestack/glance"
)

var _ glance.UsageRepository = (*Repo)(nil)

// gone are the statuses whose images count for nothing.
var gone = []string{glance.StatusKilled, glance.StatusDeleted, "pending_delete"}

// Usage counts as Glance's user_get_* helpers do, in four queries.
func (r *Repo) Usage(ctx context.Context, owner string) (glance.Usage, error) {
	var u glance.Usage
	db := r.db.WithContext(ctx)
	images := func() *gorm.DB {
		return db.Model(&imageRow{}).Where("owner = ? AND deleted = ? AND status NOT IN ?", owner, false, gone)
	}
	if err := images().Count(&u.Images).Error; err != nil {
		return u, classify(err, "count images")
	}
	// Each copy counts: the size once per active location.
	err := db.Table("images AS i").Select("COALESCE(SUM(i.size), 0)").
		Joins("JOIN image_locations AS l ON l.image_id = i.id AND l.status = ?", glance.LocationActive).
		Where("i.owner = ? AND i.deleted = ? AND i.size > 0 AND i.status NOT IN ?", owner, false, gone).Scan(&u.StoredBytes).Error
	if err != nil {
		return u, classify(err, "sum image sizes")
	}
	uploading := []string{glance.StatusSaving, glance.StatusUploading, glance.StatusImporting}
	copying := db.Model(&propertyRow{}).Select("image_id").Where("name = ? AND value <> ?", "os_glance_importing_to_stores", "")
	err = images().Select("COALESCE(SUM(size), 0)").Where("size > 0 AND (status IN ? OR id IN (?))",
		[]string{glance.StatusUploading, glance.StatusImporting}, copying).Scan(&u.StagedBytes).Error
	if err != nil {
		return u, classify(err, "sum staged sizes")
	}
	err = images().Where("status IN ? OR id IN (?)", uploading, copying).Count(&u.Uploading).Error
	return u, classify(err, "count uploading images")
}
