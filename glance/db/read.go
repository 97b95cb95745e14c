package db

import (
	"database/sql"
	"fmt"
	"strconv"

	"gorm.io/gorm"

	commondb "imagestack/common/db"
	"imagestack/glance"
)

// Reads of many images (a list page is up to a thousand, with ten
// thousand properties) scan their rows by hand: gorm's reflection over
// each row and field, and the garbage it leaves, took most of a page's
// time.

// imageColumns are the columns of images that scanImage reads, in its order.
const imageColumns = "id, name, status, visibility, protected, os_hidden, owner, container_format, disk_format, " +
	"min_ram, min_disk, size, virtual_size, checksum, os_hash_algo, os_hash_value, blob_key, created_at, updated_at, version"

// scanImage reads one row of imageColumns.
func scanImage(rows *sql.Rows) (*glance.Image, error) {
	im := &glance.Image{Tags: []string{}, Properties: map[string]string{}}
	err := rows.Scan(&im.ID, optString{&im.Name}, &im.Status, &im.Visibility, &im.Protected, &im.OSHidden,
		optString{&im.Owner}, optString{&im.ContainerFormat}, optString{&im.DiskFormat}, &im.MinRAM, &im.MinDisk,
		optInt{&im.Size}, optInt{&im.VirtualSize}, optString{&im.Checksum}, optString{&im.OSHashAlgo},
		optString{&im.OSHashValue}, &im.BlobKey, &im.CreatedAt, &im.UpdatedAt, &im.Version)
	im.CreatedAt, im.UpdatedAt = im.CreatedAt.UTC(), im.UpdatedAt.UTC()
	return im, err
}

// optString scans a nullable text column into a *string (nil for NULL)
// without database/sql's reflection.
type optString struct{ p **string }

func (o optString) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*o.p = nil
	case []byte:
		s := string(v)
		*o.p = &s
	case string:
		*o.p = &v
	default:
		return fmt.Errorf("cannot scan %T into a string", src)
	}
	return nil
}

// optInt scans a nullable integer column into an *int64.
type optInt struct{ p **int64 }

func (o optInt) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*o.p = nil
	case int64:
		*o.p = &v
	case []byte:
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return err
		}
		*o.p = &n
	default:
		return fmt.Errorf("cannot scan %T into an integer", src)
	}
	return nil
}

// loadChildren fills tags, properties and locations of ims with three
// queries in all, through db (a transaction, or the pool with a context).
func loadChildren(db *gorm.DB, ims []*glance.Image) error {
	if len(ims) == 0 {
		return nil
	}
	byID := make(map[string]*glance.Image, len(ims))
	ids := make([]string, len(ims))
	for i, im := range ims {
		byID[im.ID], ids[i] = im, im.ID
	}
	if err := loadProperties(db, ids, byID); err != nil {
		return classify(err, "load properties")
	}
	if err := loadTags(db, ids, byID); err != nil {
		return classify(err, "load tags")
	}
	return classify(loadLocations(db, ids, byID), "load locations")
}

// child finds the image a child row belongs to, looked up by the raw id
// (no copy).
func child(byID map[string]*glance.Image, id sql.RawBytes) (*glance.Image, error) {
	im := byID[string(id)]
	if im == nil {
		return nil, fmt.Errorf("a row of image %q, which was not asked for", id)
	}
	return im, nil
}

func loadProperties(db *gorm.DB, ids []string, byID map[string]*glance.Image) error {
	var id, name sql.RawBytes
	var value string
	names := map[string]string{} // one copy of each property name
	q := db.Raw("SELECT image_id, name, value FROM image_properties WHERE image_id IN ?", ids)
	return commondb.EachRow(q, func(rows *sql.Rows) error {
		if err := rows.Scan(&id, &name, &value); err != nil {
			return err
		}
		im, err := child(byID, id)
		if err != nil {
			return err
		}
		n, ok := names[string(name)]
		if !ok {
			n = string(name)
			names[n] = n
		}
		im.Properties[n] = value
		return nil
	})
}

// loadTags appends each image's tags in order of value (the primary key's
// order, so that the database sorts nothing).
func loadTags(db *gorm.DB, ids []string, byID map[string]*glance.Image) error {
	var id sql.RawBytes
	var value string
	q := db.Raw("SELECT image_id, value FROM image_tags WHERE image_id IN ? ORDER BY image_id, value", ids)
	return commondb.EachRow(q, func(rows *sql.Rows) error {
		if err := rows.Scan(&id, &value); err != nil {
			return err
		}
		im, err := child(byID, id)
		if err == nil {
			im.Tags = append(im.Tags, value)
		}
		return err
	})
}

// loadLocations appends each image's locations, oldest first.
func loadLocations(db *gorm.DB, ids []string, byID map[string]*glance.Image) error {
	var id sql.RawBytes
	var l glance.Location
	var md sql.NullString
	q := db.Raw("SELECT image_id, store, status, metadata FROM image_locations WHERE image_id IN ? ORDER BY created_at, store", ids)
	return commondb.EachRow(q, func(rows *sql.Rows) error {
		if err := rows.Scan(&id, &l.Store, &l.Status, &md); err != nil {
			return err
		}
		im, err := child(byID, id)
		if err == nil {
			l.Metadata = md.String
			im.Locations = append(im.Locations, l)
		}
		return err
	})
}
