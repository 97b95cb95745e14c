// Package db keeps images and members in the metadata database (SQLite or
// MySQL) through gorm, converting driver errors into glance.ErrNotFound and
// glance.ErrConflict at its boundary.
package db

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	commondb "imagestack/common/db"
	"imagestack/glance"
)

type imageRow struct {
	ID              string `gorm:"primaryKey"`
	Name            *string
	Status          string
	Visibility      string
	Deleted         bool
	Protected       bool
	OSHidden        bool `gorm:"column:os_hidden"`
	Owner           *string
	ContainerFormat *string
	DiskFormat      *string
	MinRAM          int `gorm:"column:min_ram"`
	MinDisk         int
	Size            *int64
	VirtualSize     *int64 `gorm:"column:virtual_size"`
	Checksum        *string
	OSHashAlgo      *string `gorm:"column:os_hash_algo"`
	OSHashValue     *string `gorm:"column:os_hash_value"`
	BlobKey         string
	CreatedAt       time.Time `gorm:"autoCreateTime:false"`
	UpdatedAt       time.Time `gorm:"autoUpdateTime:false"`
	DeletedAt       *time.Time
	Version         int64
}

func (imageRow) TableName() string { return "images" }

type propertyRow struct {
	ImageID string `gorm:"primaryKey"`
	Name    string `gorm:"primaryKey"`
	Value   string
}

func (propertyRow) TableName() string { return "image_properties" }

type tagRow struct {
	ImageID string `gorm:"primaryKey"`
	Value   string `gorm:"primaryKey"`
}

func (tagRow) TableName() string { return "image_tags" }

type memberRow struct {
	ImageID   string `gorm:"primaryKey"`
	Member    string `gorm:"primaryKey"`
	Status    string
	CreatedAt time.Time `gorm:"autoCreateTime:false"`
	UpdatedAt time.Time `gorm:"autoUpdateTime:false"`
}

func (memberRow) TableName() string { return "image_members" }

type locationRow struct {
	ImageID   string `gorm:"primaryKey"`
	Store     string `gorm:"primaryKey"`
	Status    string
	CreatedAt time.Time `gorm:"autoCreateTime:false"`
	Metadata  *string
}

func (locationRow) TableName() string { return "image_locations" }

// Repo implements glance.Repository.
type Repo struct{ db *gorm.DB }

var _ glance.Repository = (*Repo)(nil)

// New migrates the image schema and returns the repository.
func New(gdb *gorm.DB) (*Repo, error) {
	if err := commondb.Migrate(gdb, Component, Migrations); err != nil {
		return nil, err
	}
	return &Repo{db: gdb}, nil
}

// dbTime is the precision every engine stores exactly (MySQL datetime(3)).
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// classify converts gorm/driver errors into domain error kinds.
func classify(err error, what string) error { return errorKinds.Classify(err, what) }

var errorKinds = commondb.Kinds{NotFound: glance.ErrNotFound, Conflict: glance.ErrConflict, Unavailable: glance.ErrUnavailable}

func toRow(im *glance.Image) imageRow {
	return imageRow{ID: im.ID, Name: im.Name, Status: im.Status, Visibility: im.Visibility, Protected: im.Protected,
		OSHidden: im.OSHidden, Owner: im.Owner, ContainerFormat: im.ContainerFormat, DiskFormat: im.DiskFormat,
		MinRAM: im.MinRAM, MinDisk: im.MinDisk, Size: im.Size, VirtualSize: im.VirtualSize, Checksum: im.Checksum,
		OSHashAlgo: im.OSHashAlgo, OSHashValue: im.OSHashValue, BlobKey: im.BlobKey,
		CreatedAt: dbTime(im.CreatedAt), UpdatedAt: dbTime(im.UpdatedAt), Version: im.Version}
}

func fromRow(r *imageRow) *glance.Image {
	return &glance.Image{ID: r.ID, Name: r.Name, Status: r.Status, Visibility: r.Visibility, Protected: r.Protected,
		OSHidden: r.OSHidden, Owner: r.Owner, ContainerFormat: r.ContainerFormat, DiskFormat: r.DiskFormat,
		MinRAM: r.MinRAM, MinDisk: r.MinDisk, Size: r.Size, VirtualSize: r.VirtualSize, Checksum: r.Checksum,
		OSHashAlgo: r.OSHashAlgo, OSHashValue: r.OSHashValue, BlobKey: r.BlobKey, Version: r.Version,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), Tags: []string{}, Properties: map[string]string{}}
}

// writeChildren replaces the image's tags and properties.
func writeChildren(tx *gorm.DB, im *glance.Image) error {
	if err := tx.Where("image_id = ?", im.ID).Delete(&propertyRow{}).Error; err != nil {
		return err
	}
	if err := tx.Where("image_id = ?", im.ID).Delete(&tagRow{}).Error; err != nil {
		return err
	}
	return insertChildren(tx, im)
}

// insertChildren writes the tags and properties of an image that has none
// stored.
func insertChildren(tx *gorm.DB, im *glance.Image) error {
	if len(im.Properties) > 0 {
		props := make([]propertyRow, 0, len(im.Properties))
		for k, v := range im.Properties {
			props = append(props, propertyRow{ImageID: im.ID, Name: k, Value: v})
		}
		if err := tx.Create(&props).Error; err != nil {
			return err
		}
	}
	if len(im.Tags) > 0 {
		tags := make([]tagRow, 0, len(im.Tags))
		for _, t := range im.Tags {
			tags = append(tags, tagRow{ImageID: im.ID, Value: t})
		}
		if err := tx.Create(&tags).Error; err != nil {
			return err
		}
	}
	return nil
}

// Create implements glance.Repository.
func (r *Repo) Create(ctx context.Context, im *glance.Image) error {
	return classify(commondb.Transaction(ctx, r.db, func(tx *gorm.DB) error {
		row := toRow(im)
		if err := tx.Create(&row).Error; err != nil {
			return classify(err, "create image "+im.ID)
		}
		return classify(insertChildren(tx, im), "create image "+im.ID)
	}), "create")
}

// Get implements glance.Repository.
func (r *Repo) Get(ctx context.Context, id string) (*glance.Image, error) {
	var row imageRow
	if err := r.db.WithContext(ctx).Where("id = ? AND deleted = ?", id, false).Take(&row).Error; err != nil {
		return nil, classify(err, "image "+id)
	}
	ims := []*glance.Image{fromRow(&row)}
	if err := loadChildren(r.db.WithContext(ctx), ims); err != nil {
		return nil, err
	}
	return ims[0], nil
}

// Update implements glance.Repository: the row is locked (MySQL; SQLite's
// immediate transactions lock the database when they begin), read with its
// tags and properties, changed and written back with the next version.
func (r *Repo) Update(ctx context.Context, id string, change func(*glance.Image) error) (*glance.Image, error) {
	var out *glance.Image
	var changeErr error // returned as it is
	err := commondb.Transaction(ctx, r.db, func(tx *gorm.DB) error {
		var row imageRow
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ? AND deleted = ?", id, false).Take(&row).Error
		if err != nil {
			return classify(err, "image "+id)
		}
		im := fromRow(&row)
		if err := loadChildren(tx, []*glance.Image{im}); err != nil {
			return err
		}
		if changeErr = change(im); changeErr != nil {
			return changeErr
		}
		im.ID, im.Version = id, row.Version+1
		next := toRow(im)
		res := tx.Model(&imageRow{}).Where("id = ?", id).
			Select("*").Omit("id", "created_at", "deleted", "deleted_at").Updates(&next)
		if res.Error != nil {
			return classify(res.Error, "update image "+id)
		}
		out = im
		return classify(writeChildren(tx, im), "update image "+id)
	})
	if err != nil && err != changeErr {
		err = classify(err, "update image "+id)
	}
	return out, err
}

// Delete implements glance.Repository.
func (r *Repo) Delete(ctx context.Context, id string) error {
	return classify(commondb.Transaction(ctx, r.db, func(tx *gorm.DB) error {
		now := dbTime(time.Now())
		res := tx.Model(&imageRow{}).Where("id = ? AND deleted = ?", id, false).
			Updates(map[string]any{"deleted": true, "deleted_at": now, "status": glance.StatusDeleted, "updated_at": now})
		if res.Error != nil {
			return classify(res.Error, "delete image "+id)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("image %s: %w", id, glance.ErrNotFound)
		}
		for _, m := range []any{&propertyRow{}, &tagRow{}, &memberRow{}, &locationRow{}} {
			if err := tx.Where("image_id = ?", id).Delete(m).Error; err != nil {
				return classify(err, "delete image "+id)
			}
		}
		return nil
	}), "delete")
}

// ListByStatus implements glance.Repository.
func (r *Repo) ListByStatus(ctx context.Context, statuses ...string) ([]*glance.Image, error) {
	var rows []imageRow
	if err := r.db.WithContext(ctx).Where("deleted = ? AND status IN ?", false, statuses).Order("id").Find(&rows).Error; err != nil {
		return nil, classify(err, "list images by status")
	}
	out := make([]*glance.Image, len(rows))
	for i := range rows {
		out[i] = fromRow(&rows[i])
	}
	return out, loadChildren(r.db.WithContext(ctx), out)
}

// --- locations

// lockImage locks the image's row for the rest of tx (MySQL; SQLite's
// transactions take the database write lock when they begin), so that
// location changes and the image's deletion happen one after the other.
func lockImage(tx *gorm.DB, imageID string) error {
	var row imageRow
	err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Select("id").Where("id = ? AND deleted = ?", imageID, false).Take(&row).Error
	return classify(err, "image "+imageID)
}

// AddLocation implements glance.LocationRepository.
func (r *Repo) AddLocation(ctx context.Context, imageID, store, status string) error {
	return classify(commondb.Transaction(ctx, r.db, func(tx *gorm.DB) error {
		if err := lockImage(tx, imageID); err != nil {
			return err
		}
		// Milliseconds (what every engine keeps) order the locations.
		row := locationRow{ImageID: imageID, Store: store, Status: status, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
		return classify(tx.Create(&row).Error, "location of image "+imageID+" in store "+store)
	}), "add location")
}

// SetLocationStatus implements glance.LocationRepository.
func (r *Repo) SetLocationStatus(ctx context.Context, imageID, store, status string) error {
	res := r.db.WithContext(ctx).Model(&locationRow{}).Where("image_id = ? AND store = ?", imageID, store).Update("status", status)
	if res.Error != nil {
		return classify(res.Error, "location of image "+imageID)
	}
	if res.RowsAffected == 0 {
		var n int64
		if err := r.db.WithContext(ctx).Model(&locationRow{}).Where("image_id = ? AND store = ?", imageID, store).Count(&n).Error; err != nil {
			return classify(err, "location of image "+imageID)
		}
		if n == 0 { // MySQL reports 0 rows for an update that changed nothing
			return fmt.Errorf("image %s has no location in store %s: %w", imageID, store, glance.ErrNotFound)
		}
	}
	return nil
}

// RemoveLocation implements glance.LocationRepository.
func (r *Repo) RemoveLocation(ctx context.Context, imageID, store string) error {
	res := r.db.WithContext(ctx).Where("image_id = ? AND store = ?", imageID, store).Delete(&locationRow{})
	if res.Error != nil {
		return classify(res.Error, "location of image "+imageID)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("image %s has no location in store %s: %w", imageID, store, glance.ErrNotFound)
	}
	return nil
}

// RemoveCopy implements glance.LocationRepository.
func (r *Repo) RemoveCopy(ctx context.Context, imageID, store string) error {
	return classify(commondb.Transaction(ctx, r.db, func(tx *gorm.DB) error {
		if err := lockImage(tx, imageID); err != nil {
			return err
		}
		var others int64
		if err := tx.Model(&locationRow{}).Where("image_id = ? AND store <> ? AND status = ?", imageID, store, glance.LocationActive).
			Count(&others).Error; err != nil {
			return classify(err, "locations of image "+imageID)
		}
		if others == 0 {
			return fmt.Errorf("image %s has no other complete copy than in %s: %w", imageID, store, glance.ErrConflict)
		}
		res := tx.Where("image_id = ? AND store = ? AND status = ?", imageID, store, glance.LocationActive).Delete(&locationRow{})
		if res.Error != nil {
			return classify(res.Error, "location of image "+imageID)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("image %s has no complete copy in store %s: %w", imageID, store, glance.ErrNotFound)
		}
		return nil
	}), "remove copy")
}

// ListLocations implements glance.LocationRepository.
func (r *Repo) ListLocations(ctx context.Context, status string) ([]glance.LocationRef, error) {
	var rows []locationRow
	err := r.db.WithContext(ctx).Where("status = ? AND image_id IN (?)", status,
		r.db.Model(&imageRow{}).Select("id").Where("deleted = ?", false)).Order("image_id, store").Find(&rows).Error
	if err != nil {
		return nil, classify(err, "list locations")
	}
	out := make([]glance.LocationRef, len(rows))
	for i, l := range rows {
		out[i] = glance.LocationRef{ImageID: l.ImageID, Store: l.Store}
	}
	return out, nil
}

// AdoptUnplacedData implements glance.LocationRepository.
func (r *Repo) AdoptUnplacedData(ctx context.Context, store string) (int, error) {
	var ids []string
	err := r.db.WithContext(ctx).Model(&imageRow{}).
		Where("deleted = ? AND blob_key <> '' AND status IN ? AND id NOT IN (?)", false,
			[]string{glance.StatusActive, glance.StatusDeactivated}, r.db.Model(&locationRow{}).Select("image_id")).
		Pluck("id", &ids).Error
	if err != nil {
		return 0, classify(err, "find unplaced image data")
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	for _, id := range ids {
		row := locationRow{ImageID: id, Store: store, Status: glance.LocationActive, CreatedAt: now}
		if err := r.db.WithContext(ctx).Create(&row).Error; err != nil && !commondb.IsDuplicate(err) {
			return 0, classify(err, "place image data")
		}
	}
	return len(ids), nil
}

// --- members

// AddMember implements glance.Repository.
func (r *Repo) AddMember(ctx context.Context, m glance.Member) error {
	row := memberRow{ImageID: m.ImageID, Member: m.MemberID, Status: m.Status, CreatedAt: dbTime(m.CreatedAt), UpdatedAt: dbTime(m.UpdatedAt)}
	return classify(r.db.WithContext(ctx).Create(&row).Error, "member "+m.MemberID)
}

func memberFromRow(r memberRow) glance.Member {
	return glance.Member{ImageID: r.ImageID, MemberID: r.Member, Status: r.Status, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// GetMember implements glance.Repository.
func (r *Repo) GetMember(ctx context.Context, imageID, memberID string) (glance.Member, error) {
	var row memberRow
	err := r.db.WithContext(ctx).Where("image_id = ? AND member = ?", imageID, memberID).Take(&row).Error
	return memberFromRow(row), classify(err, "member "+memberID)
}

// ListMembers implements glance.Repository.
func (r *Repo) ListMembers(ctx context.Context, imageID string) ([]glance.Member, error) {
	var rows []memberRow
	if err := r.db.WithContext(ctx).Where("image_id = ?", imageID).Order("member").Find(&rows).Error; err != nil {
		return nil, classify(err, "list members")
	}
	out := make([]glance.Member, len(rows))
	for i, row := range rows {
		out[i] = memberFromRow(row)
	}
	return out, nil
}

// UpdateMember implements glance.Repository.
func (r *Repo) UpdateMember(ctx context.Context, m glance.Member) error {
	res := r.db.WithContext(ctx).Model(&memberRow{}).Where("image_id = ? AND member = ?", m.ImageID, m.MemberID).
		Updates(map[string]any{"status": m.Status, "updated_at": dbTime(m.UpdatedAt)})
	if res.Error != nil {
		return classify(res.Error, "update member")
	}
	if res.RowsAffected == 0 {
		if _, err := r.GetMember(ctx, m.ImageID, m.MemberID); err != nil {
			return err
		}
	}
	return nil
}

// DeleteMember implements glance.Repository.
func (r *Repo) DeleteMember(ctx context.Context, imageID, memberID string) error {
	res := r.db.WithContext(ctx).Where("image_id = ? AND member = ?", imageID, memberID).Delete(&memberRow{})
	if res.Error != nil {
		return classify(res.Error, "delete member")
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("member %s: %w", memberID, glance.ErrNotFound)
	}
	return nil
}

// BlobKeyTaken implements glance.LocationRepository.
func (r *Repo) BlobKeyTaken(ctx context.Context, key, imageID string) (bool, error) {
	var n int64
	err := r.db.WithContext(ctx).Model(&imageRow{}).Where("blob_key = ? AND id <> ?", key, imageID).Count(&n).Error
	return n > 0, classify(err, "blob key "+key)
}

// SetLocationMetadata implements glance.LocationRepository.
func (r *Repo) SetLocationMetadata(ctx context.Context, imageID, store, metadata string) error {
	var n int64
	err := r.db.WithContext(ctx).Model(&locationRow{}).Where("image_id = ? AND store = ?", imageID, store).Count(&n).Error
	if err != nil {
		return classify(err, "location of image "+imageID)
	}
	if n == 0 {
		return fmt.Errorf("image %s has no location in store %s: %w", imageID, store, glance.ErrNotFound)
	}
	err = r.db.WithContext(ctx).Model(&locationRow{}).Where("image_id = ? AND store = ?", imageID, store).Update("metadata", metadata).Error
	return classify(err, "location of image "+imageID)
}
