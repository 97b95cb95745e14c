package db

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	commondb "imagestack/common/db"
	"imagestack/glance"
)

type namespaceRow struct {
	ID          int64 `gorm:"primaryKey"`
	Namespace   string
	DisplayName *string
	Description *string
	Visibility  string
	Protected   bool
	Owner       string
	CreatedAt   time.Time `gorm:"autoCreateTime:false"`
	UpdatedAt   time.Time `gorm:"autoUpdateTime:false"`
}

func (namespaceRow) TableName() string { return "metadef_namespaces" }

type resourceTypeRow struct {
	ID        int64 `gorm:"primaryKey"`
	Name      string
	Protected bool
	CreatedAt time.Time `gorm:"autoCreateTime:false"`
	UpdatedAt time.Time `gorm:"autoUpdateTime:false"`
}

func (resourceTypeRow) TableName() string { return "metadef_resource_types" }

type associationRow struct {
	NamespaceID      int64 `gorm:"primaryKey;autoIncrement:false"`
	ResourceTypeID   int64 `gorm:"primaryKey;autoIncrement:false"`
	Prefix           string
	PropertiesTarget string
	CreatedAt        time.Time `gorm:"autoCreateTime:false"`
	UpdatedAt        time.Time `gorm:"autoUpdateTime:false"`
}

func (associationRow) TableName() string { return "metadef_namespace_resource_types" }

type entryRow struct {
	ID          int64 `gorm:"primaryKey"`
	NamespaceID int64
	Kind        string
	NameKey     string
	Name        string
	Body        string
	CreatedAt   time.Time `gorm:"autoCreateTime:false"`
	UpdatedAt   time.Time `gorm:"autoUpdateTime:false"`
}

func (entryRow) TableName() string { return "metadef_entries" }

var _ glance.MetadefRepository = (*Repo)(nil)

// nameKey is what makes an entry name unique: tag names are
// case-insensitive, as in Glance.
func nameKey(kind glance.MetadefKind, name string) string {
	if kind == glance.MetadefTags {
		return strings.ToLower(name)
	}
	return name
}

func nsToRow(ns *glance.MetadefNamespace) namespaceRow {
	return namespaceRow{Namespace: ns.Namespace, DisplayName: ns.DisplayName, Description: ns.Description,
		Visibility: ns.Visibility, Protected: ns.Protected, Owner: ns.Owner,
		CreatedAt: dbTime(ns.CreatedAt), UpdatedAt: dbTime(ns.UpdatedAt)}
}

func nsFromRow(r *namespaceRow) *glance.MetadefNamespace {
	return &glance.MetadefNamespace{Namespace: r.Namespace, DisplayName: r.DisplayName, Description: r.Description,
		Visibility: r.Visibility, Protected: r.Protected, Owner: r.Owner,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), Associations: []glance.MetadefAssociation{}}
}

func entryFromRow(r *entryRow) glance.MetadefEntry {
	return glance.MetadefEntry{Name: r.Name, Body: []byte(r.Body), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// namespaceID is the row id of a namespace, ErrNotFound when absent.
func namespaceID(tx *gorm.DB, name string) (int64, error) {
	var row namespaceRow
	if err := tx.Select("id").Where("namespace = ?", name).Take(&row).Error; err != nil {
		return 0, classify(err, "metadef namespace "+name)
	}
	return row.ID, nil
}

// CreateNamespace implements glance.MetadefRepository.
func (r *Repo) CreateNamespace(ctx context.Context, ns *glance.MetadefNamespace, c glance.MetadefContents) error {
	err := commondb.Transaction(ctx, r.db, func(tx *gorm.DB) error {
		row := nsToRow(ns)
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		for _, a := range c.Associations {
			if err := associate(tx, row.ID, a); err != nil {
				return err
			}
		}
		for kind, es := range c.Entries {
			if err := createEntries(tx, row.ID, kind, es); err != nil {
				return err
			}
		}
		return nil
	})
	return classify(err, "metadef namespace "+ns.Namespace)
}

// GetNamespace implements glance.MetadefRepository.
func (r *Repo) GetNamespace(ctx context.Context, name string) (*glance.MetadefNamespace, error) {
	var row namespaceRow
	if err := r.db.WithContext(ctx).Where("namespace = ?", name).Take(&row).Error; err != nil {
		return nil, classify(err, "metadef namespace "+name)
	}
	out := []*glance.MetadefNamespace{nsFromRow(&row)}
	if err := r.loadAssociations(ctx, []int64{row.ID}, out); err != nil {
		return nil, err
	}
	return out[0], nil
}

// loadAssociations fills the namespaces' associations (ids[i] is nss[i]'s
// row id) in one query.
func (r *Repo) loadAssociations(ctx context.Context, ids []int64, nss []*glance.MetadefNamespace) error {
	if len(ids) == 0 {
		return nil
	}
	var rows []struct {
		NamespaceID                    int64
		Name, Prefix, PropertiesTarget string
		CreatedAt, UpdatedAt           time.Time
	}
	err := r.db.WithContext(ctx).Table("metadef_namespace_resource_types AS a").
		Select("a.namespace_id, t.name, a.prefix, a.properties_target, a.created_at, a.updated_at").Joins("JOIN metadef_resource_types t ON t.id = a.resource_type_id").
		Where("a.namespace_id IN ?", ids).Order("a.created_at").Order("a.resource_type_id").Scan(&rows).Error
	if err != nil {
		return classify(err, "metadef associations")
	}
	index := make(map[int64]*glance.MetadefNamespace, len(ids))
	for i, id := range ids {
		index[id] = nss[i]
	}
	for _, a := range rows {
		ns := index[a.NamespaceID]
		ns.Associations = append(ns.Associations, glance.MetadefAssociation{Name: a.Name, Prefix: a.Prefix,
			PropertiesTarget: a.PropertiesTarget, CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC()})
	}
	return nil
}

// ListNamespaces implements glance.MetadefRepository.
func (r *Repo) ListNamespaces(ctx context.Context, q glance.MetadefNamespaceQuery) ([]*glance.MetadefNamespace, error) {
	tx := r.db.WithContext(ctx).Model(&namespaceRow{})
	if !q.IsAdmin {
		tx = tx.Where("visibility = ? OR owner = ?", "public", q.ProjectID)
	}
	if q.Visibility != "" {
		tx = tx.Where("visibility = ?", q.Visibility)
	}
	if len(q.ResourceTypes) > 0 {
		tx = tx.Where("id IN (?)", r.db.Table("metadef_namespace_resource_types AS a").Select("a.namespace_id").
			Joins("JOIN metadef_resource_types t ON t.id = a.resource_type_id").Where("t.name IN ?", q.ResourceTypes))
	}
	var err error
	if tx, err = r.pageAfter(ctx, tx, q); err != nil {
		return nil, err
	}
	var rows []namespaceRow
	if err := tx.Find(&rows).Error; err != nil {
		return nil, classify(err, "list metadef namespaces")
	}
	out := make([]*glance.MetadefNamespace, len(rows))
	ids := make([]int64, len(rows))
	for i := range rows {
		out[i], ids[i] = nsFromRow(&rows[i]), rows[i].ID
	}
	return out, r.loadAssociations(ctx, ids, out)
}

// pageAfter orders tx by the query's key (then id) and keeps what follows
// the marker.
func (r *Repo) pageAfter(ctx context.Context, tx *gorm.DB, q glance.MetadefNamespaceQuery) (*gorm.DB, error) {
	key, dir, cmp := q.SortKey, "ASC", ">"
	if key == "" {
		key = "created_at"
	}
	if q.SortDesc {
		dir, cmp = "DESC", "<"
	}
	tx = tx.Order(key + " " + dir).Order("id " + dir)
	if q.Limit > 0 {
		tx = tx.Limit(q.Limit)
	}
	if q.Marker == "" {
		return tx, nil
	}
	var m namespaceRow
	if err := r.db.WithContext(ctx).Where("namespace = ?", q.Marker).Take(&m).Error; err != nil {
		return nil, classify(err, "metadef namespace marker "+q.Marker)
	}
	val := map[string]any{"created_at": m.CreatedAt, "updated_at": m.UpdatedAt, "namespace": m.Namespace,
		"display_name": m.DisplayName, "visibility": m.Visibility, "protected": m.Protected, "owner": m.Owner}[key]
	if key == "display_name" && m.DisplayName == nil {
		// NULLs sort first ascending: after a NULL marker come the later NULLs, then every value.
		if q.SortDesc {
			return tx.Where("display_name IS NULL AND id < ?", m.ID), nil
		}
		return tx.Where("display_name IS NOT NULL OR id > ?", m.ID), nil
	}
	cond := fmt.Sprintf("%s %s ? OR (%s = ? AND id %s ?)", key, cmp, key, cmp)
	if key == "display_name" && q.SortDesc {
		cond = "(" + cond + ") OR display_name IS NULL"
	}
	return tx.Where(cond, val, val, m.ID), nil
}

// UpdateNamespace implements glance.MetadefRepository.
func (r *Repo) UpdateNamespace(ctx context.Context, name string, ns *glance.MetadefNamespace) error {
	// Found first, then updated by id: MySQL counts only changed rows.
	err := commondb.Transaction(ctx, r.db, func(tx *gorm.DB) error {
		id, err := namespaceID(tx, name)
		if err != nil {
			return err
		}
		row := nsToRow(ns)
		return tx.Model(&namespaceRow{}).Where("id = ?", id).Select("*").Omit("id", "created_at").Updates(&row).Error
	})
	return classify(err, "metadef namespace "+name)
}

// DeleteNamespace implements glance.MetadefRepository.
func (r *Repo) DeleteNamespace(ctx context.Context, name string) error {
	err := commondb.Transaction(ctx, r.db, func(tx *gorm.DB) error {
		id, err := namespaceID(tx, name)
		if err != nil {
			return err
		}
		if err := tx.Where("namespace_id = ?", id).Delete(&entryRow{}).Error; err != nil {
			return err
		}
		if err := tx.Where("namespace_id = ?", id).Delete(&associationRow{}).Error; err != nil {
			return err
		}
		return tx.Where("id = ?", id).Delete(&namespaceRow{}).Error
	})
	return classify(err, "metadef namespace "+name)
}

// ListResourceTypes implements glance.MetadefRepository: oldest first, as
// Glance lists them.
func (r *Repo) ListResourceTypes(ctx context.Context) ([]glance.MetadefResourceType, error) {
	var rows []resourceTypeRow
	if err := r.db.WithContext(ctx).Order("created_at").Order("id").Find(&rows).Error; err != nil {
		return nil, classify(err, "list metadef resource types")
	}
	out := make([]glance.MetadefResourceType, len(rows))
	for i, t := range rows {
		out[i] = glance.MetadefResourceType{Name: t.Name, Protected: t.Protected, CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC()}
	}
	return out, nil
}

// Associate implements glance.MetadefRepository.
func (r *Repo) Associate(ctx context.Context, namespace string, a glance.MetadefAssociation) error {
	err := commondb.Transaction(ctx, r.db, func(tx *gorm.DB) error {
		id, err := namespaceID(tx, namespace)
		if err != nil {
			return err
		}
		return associate(tx, id, a)
	})
	return classify(err, "metadef association "+a.Name+" of "+namespace)
}

// associate adds an association, creating its resource type when missing.
func associate(tx *gorm.DB, nsID int64, a glance.MetadefAssociation) error {
	var rt resourceTypeRow
	err := tx.Where("name = ?", a.Name).Take(&rt).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		rt = resourceTypeRow{Name: a.Name, CreatedAt: dbTime(a.CreatedAt), UpdatedAt: dbTime(a.CreatedAt)}
		err = tx.Create(&rt).Error
	}
	if err != nil {
		return err
	}
	return tx.Create(&associationRow{NamespaceID: nsID, ResourceTypeID: rt.ID, Prefix: a.Prefix,
		PropertiesTarget: a.PropertiesTarget, CreatedAt: dbTime(a.CreatedAt), UpdatedAt: dbTime(a.UpdatedAt)}).Error
}

// Dissociate implements glance.MetadefRepository.
func (r *Repo) Dissociate(ctx context.Context, namespace, resourceType string) error {
	err := commondb.Transaction(ctx, r.db, func(tx *gorm.DB) error {
		id, err := namespaceID(tx, namespace)
		if err != nil {
			return err
		}
		res := tx.Where("namespace_id = ? AND resource_type_id IN (?)", id,
			tx.Model(&resourceTypeRow{}).Select("id").Where("name = ?", resourceType)).Delete(&associationRow{})
		if res.Error == nil && res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		return res.Error
	})
	return classify(err, "metadef association "+resourceType+" of "+namespace)
}
