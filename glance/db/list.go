package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"gorm.io/gorm"

	commondb "imagestack/common/db"
	"imagestack/glance"
)

// sortColumns maps sort keys to SQL expressions. Nullable columns are
// coalesced to a value below every real one, so NULLs order first ascending
// on every engine and keyset paging can compare them.
var sortColumns = map[string]string{
	"name":             "COALESCE(name, '')",
	"status":           "status",
	"container_format": "COALESCE(container_format, '')",
	"disk_format":      "COALESCE(disk_format, '')",
	"size":             "COALESCE(size, -1)",
	"id":               "id",
	"created_at":       "created_at",
	"updated_at":       "updated_at",
}

// sortValue returns the marker row's value of a sort key, coalesced like sortColumns.
func sortValue(r *imageRow, key string) any {
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	switch key {
	case "name":
		return str(r.Name)
	case "status":
		return r.Status
	case "container_format":
		return str(r.ContainerFormat)
	case "disk_format":
		return str(r.DiskFormat)
	case "size":
		if r.Size == nil {
			return int64(-1)
		}
		return *r.Size
	case "id":
		return r.ID
	case "created_at":
		return r.CreatedAt
	default:
		return r.UpdatedAt
	}
}

var timeOps = map[string]string{"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "=", "neq": "<>"}

// List implements glance.Repository: one query for the marker (if any), one
// for the page, one each for the page's properties and tags.
func (r *Repo) List(ctx context.Context, q glance.ListQuery) ([]*glance.Image, error) {
	keys := effectiveSort(q.Sort)
	db := r.db.WithContext(ctx)
	if q.Marker != "" {
		var marker imageRow
		// The service has checked that the caller may see the marker image.
		err := db.Where("id = ? AND deleted = ?", q.Marker, false).Take(&marker).Error
		if err != nil {
			return nil, classify(err, "marker "+q.Marker)
		}
		db = afterMarker(db, keys, &marker)
	}
	query := filtered(visibleTo(db.Model(&imageRow{}), q), q)
	for _, k := range keys {
		dir := "ASC"
		if k.Desc {
			dir = "DESC"
		}
		query = query.Order(sortColumns[k.Key] + " " + dir)
	}
	if q.Limit > 0 {
		query = query.Limit(q.Limit)
	}
	out := make([]*glance.Image, 0, min(max(q.Limit, 0), 1000))
	err := commondb.EachRow(query.Select(imageColumns), func(rows *sql.Rows) error {
		im, err := scanImage(rows)
		out = append(out, im)
		return err
	})
	if err != nil {
		return nil, classify(err, "list images")
	}
	return out, loadChildren(r.db.WithContext(ctx), out)
}

// effectiveSort appends created_at and id (in the last key's direction) so
// that the order is total, as Glance does.
func effectiveSort(in []glance.SortKey) []glance.SortKey {
	keys := append([]glance.SortKey(nil), in...)
	desc := true
	if len(keys) > 0 {
		desc = keys[len(keys)-1].Desc
	}
	for _, extra := range []string{"created_at", "id"} {
		found := false
		for _, k := range keys {
			found = found || k.Key == extra
		}
		if !found {
			keys = append(keys, glance.SortKey{Key: extra, Desc: desc})
		}
	}
	return keys
}

// afterMarker restricts to rows strictly after the marker in sort order.
func afterMarker(db *gorm.DB, keys []glance.SortKey, m *imageRow) *gorm.DB {
	cols, vals, desc := make([]string, len(keys)), make([]any, len(keys)), make([]bool, len(keys))
	for i, k := range keys {
		cols[i], vals[i], desc[i] = sortColumns[k.Key], sortValue(m, k.Key), k.Desc
	}
	return afterKeys(db, cols, vals, desc)
}

// afterKeys restricts to rows strictly after the row whose sort columns
// cols hold vals, in the order the columns give (desc[i]: descending):
// keyset paging.
func afterKeys(db *gorm.DB, cols []string, vals []any, desc []bool) *gorm.DB {
	var ors []string
	var args []any
	for i, col := range cols {
		var ands []string
		for j, prev := range cols[:i] {
			ands = append(ands, prev+" = ?")
			args = append(args, vals[j])
		}
		op := ">"
		if desc[i] {
			op = "<"
		}
		ands = append(ands, col+" "+op+" ?")
		args = append(args, vals[i])
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	return db.Where("("+strings.Join(ors, " OR ")+")", args...)
}

// visibleTo limits a query to the images the caller may list, as Glance
// does: public, owned, shared with the caller (by member status) and, when
// asked for or owned, community images. Admins see every image.
func visibleTo(db *gorm.DB, q glance.ListQuery) *gorm.DB {
	db = db.Where("deleted = ? AND status <> ?", false, glance.StatusKilled)
	switch q.Visibility {
	case "", "all":
	default:
		db = db.Where("visibility = ?", q.Visibility)
	}
	if q.Visibility == "" {
		// Community images are listed only when asked for, or to their owner.
		db = db.Where("(visibility <> ? OR owner = ?)", glance.VisibilityCommunity, q.ProjectID)
	}
	memberStatus := q.MemberStatus
	if memberStatus == "" {
		memberStatus = glance.MemberAccepted
	}
	memberCond := "EXISTS (SELECT 1 FROM image_members m WHERE m.image_id = images.id AND m.member = ?"
	memberArgs := []any{q.ProjectID}
	if memberStatus != "all" {
		memberCond += " AND m.status = ?"
		memberArgs = append(memberArgs, memberStatus)
	}
	memberCond += ")"
	if q.IsAdmin {
		return db // as in Glance, membership does not narrow an admin's list
	}
	cond := "(visibility = ? OR owner = ? OR (visibility = ? AND " + memberCond + ")"
	args := append([]any{glance.VisibilityPublic, q.ProjectID, glance.VisibilityShared}, memberArgs...)
	if q.Visibility == glance.VisibilityCommunity || q.Visibility == "all" {
		cond += " OR visibility = ?"
		args = append(args, glance.VisibilityCommunity)
	}
	return db.Where(cond+")", args...)
}

// filtered applies the attribute filters.
func filtered(db *gorm.DB, q glance.ListQuery) *gorm.DB {
	in := func(col string, vals []string) {
		if len(vals) > 0 {
			db = db.Where(col+" IN ?", vals)
		}
	}
	in("id", q.IDs)
	in("name", q.Names)
	in("status", q.Statuses)
	in("container_format", q.ContainerFormats)
	in("disk_format", q.DiskFormats)
	if q.Owner != nil {
		db = db.Where("owner = ?", *q.Owner)
	}
	if q.Checksum != nil {
		db = db.Where("checksum = ?", *q.Checksum)
	}
	if q.OSHashValue != nil {
		db = db.Where("os_hash_value = ?", *q.OSHashValue)
	}
	for col, v := range q.IntEquals {
		switch col {
		case "size", "virtual_size", "min_ram", "min_disk":
			db = db.Where(col+" = ?", v)
		}
	}
	if q.SizeMin != nil {
		db = db.Where("size >= ?", *q.SizeMin)
	}
	if q.SizeMax != nil {
		db = db.Where("size <= ?", *q.SizeMax)
	}
	osHidden := false
	if q.OSHidden != nil {
		osHidden = *q.OSHidden
	}
	db = db.Where("os_hidden = ?", osHidden)
	if q.Protected != nil {
		db = db.Where("protected = ?", *q.Protected)
	}
	for _, tf := range q.CreatedAt {
		db = db.Where(fmt.Sprintf("created_at %s ?", timeOps[tf.Op]), dbTime(tf.Time))
	}
	for _, tf := range q.UpdatedAt {
		db = db.Where(fmt.Sprintf("updated_at %s ?", timeOps[tf.Op]), dbTime(tf.Time))
	}
	for _, tag := range q.Tags {
		db = db.Where("EXISTS (SELECT 1 FROM image_tags t WHERE t.image_id = images.id AND t.value = ?)", tag)
	}
	for name, value := range q.Properties {
		db = db.Where("EXISTS (SELECT 1 FROM image_properties p WHERE p.image_id = images.id AND p.name = ? AND p.value = ?)", name, value)
	}
	return db
}
