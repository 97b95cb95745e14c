package db

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	commondb "imagestack/common/db"
	"imagestack/glance"
)

func entryRows(nsID int64, kind glance.MetadefKind, es []glance.MetadefEntry) []entryRow {
	rows := make([]entryRow, len(es))
	for i, e := range es {
		rows[i] = entryRow{NamespaceID: nsID, Kind: string(kind), NameKey: nameKey(kind, e.Name), Name: e.Name,
			Body: string(e.Body), CreatedAt: dbTime(e.CreatedAt), UpdatedAt: dbTime(e.UpdatedAt)}
	}
	return rows
}

func createEntries(tx *gorm.DB, nsID int64, kind glance.MetadefKind, es []glance.MetadefEntry) error {
	if len(es) == 0 {
		return nil
	}
	rows := entryRows(nsID, kind, es)
	return tx.Create(&rows).Error
}

// inNamespace selects a namespace's entries of a kind.
func inNamespace(tx *gorm.DB, namespace string, kind glance.MetadefKind) *gorm.DB {
	return tx.Model(&entryRow{}).Where("kind = ? AND namespace_id IN (?)", string(kind),
		tx.Session(&gorm.Session{NewDB: true}).Model(&namespaceRow{}).Select("id").Where("namespace = ?", namespace))
}

// ListEntries implements glance.MetadefRepository.
func (r *Repo) ListEntries(ctx context.Context, namespace string, kind glance.MetadefKind) ([]glance.MetadefEntry, error) {
	var rows []entryRow
	if err := inNamespace(r.db.WithContext(ctx), namespace, kind).Order("created_at").Order("id").Find(&rows).Error; err != nil {
		return nil, classify(err, "list metadef "+string(kind)+"s of "+namespace)
	}
	out := make([]glance.MetadefEntry, len(rows))
	for i := range rows {
		out[i] = entryFromRow(&rows[i])
	}
	return out, nil
}

// GetEntry implements glance.MetadefRepository.
func (r *Repo) GetEntry(ctx context.Context, namespace string, kind glance.MetadefKind, name string) (glance.MetadefEntry, error) {
	var row entryRow
	err := inNamespace(r.db.WithContext(ctx), namespace, kind).Where("name_key = ?", nameKey(kind, name)).Take(&row).Error
	if err != nil {
		return glance.MetadefEntry{}, classify(err, fmt.Sprintf("metadef %s %s of %s", kind, name, namespace))
	}
	return entryFromRow(&row), nil
}

// CreateEntries implements glance.MetadefRepository.
func (r *Repo) CreateEntries(ctx context.Context, namespace string, kind glance.MetadefKind, es []glance.MetadefEntry, replace bool) error {
	err := commondb.Transaction(ctx, r.db, func(tx *gorm.DB) error {
		id, err := namespaceID(tx, namespace)
		if err != nil {
			return err
		}
		if replace {
			if err := tx.Where("namespace_id = ? AND kind = ?", id, string(kind)).Delete(&entryRow{}).Error; err != nil {
				return err
			}
		}
		return createEntries(tx, id, kind, es)
	})
	return classify(err, fmt.Sprintf("metadef %ss of %s", kind, namespace))
}

// UpdateEntry implements glance.MetadefRepository.
func (r *Repo) UpdateEntry(ctx context.Context, namespace string, kind glance.MetadefKind, name string, e glance.MetadefEntry) error {
	// Found first, then updated by id: MySQL counts only changed rows.
	err := commondb.Transaction(ctx, r.db, func(tx *gorm.DB) error {
		var row entryRow
		if err := inNamespace(tx, namespace, kind).Where("name_key = ?", nameKey(kind, name)).Take(&row).Error; err != nil {
			return err
		}
		return tx.Model(&entryRow{}).Where("id = ?", row.ID).Updates(map[string]any{"name": e.Name,
			"name_key": nameKey(kind, e.Name), "body": string(e.Body), "updated_at": dbTime(e.UpdatedAt)}).Error
	})
	return classify(err, fmt.Sprintf("metadef %s %s of %s", kind, name, namespace))
}

// DeleteEntry implements glance.MetadefRepository.
func (r *Repo) DeleteEntry(ctx context.Context, namespace string, kind glance.MetadefKind, name string) error {
	res := inNamespace(r.db.WithContext(ctx), namespace, kind).Where("name_key = ?", nameKey(kind, name)).Delete(&entryRow{})
	if res.Error != nil {
		return classify(res.Error, fmt.Sprintf("metadef %s %s of %s", kind, name, namespace))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("metadef %s %s of %s: %w", kind, name, namespace, glance.ErrNotFound)
	}
	return nil
}

// DeleteEntries implements glance.MetadefRepository.
func (r *Repo) DeleteEntries(ctx context.Context, namespace string, kind glance.MetadefKind) error {
	err := inNamespace(r.db.WithContext(ctx), namespace, kind).Delete(&entryRow{}).Error
	return classify(err, fmt.Sprintf("metadef %ss of %s", kind, namespace))
}
