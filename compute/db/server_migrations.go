package db

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"imagestack/compute"
)

type migrationRow struct {
	ID            int64 `gorm:"primaryKey;autoIncrement"`
	UUID          string
	ServerID      string `gorm:"column:instance_uuid"`
	Type          string `gorm:"column:migration_type"`
	Status        string
	SourceCompute string
	SourceNode    string
	DestCompute   string
	DestNode      string
	DestHost      string
	OldFlavorID   string
	NewFlavorID   string
	ProjectID     string
	UserID        string
	CreatedAt     time.Time `gorm:"autoCreateTime:false"`
	UpdatedAt     time.Time `gorm:"autoUpdateTime:false"`
}

func (migrationRow) TableName() string { return "migrations" }

var _ compute.MigrationRepository = (*Repo)(nil)

func migrationFromRow(r migrationRow) compute.Migration {
	m := compute.Migration(r)
	m.CreatedAt, m.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return m
}

// CreateMigration implements compute.MigrationRepository.
func (r *Repo) CreateMigration(ctx context.Context, m *compute.Migration) error {
	row := migrationRow(*m)
	row.ID, row.CreatedAt, row.UpdatedAt = 0, ms(m.CreatedAt), ms(m.UpdatedAt)
	if err := r.db.WithContext(ctx).Create(&row).Error; err != nil {
		return classify(err, "migration "+m.UUID)
	}
	m.ID = row.ID
	return nil
}

// UpdateMigration implements compute.MigrationRepository.
func (r *Repo) UpdateMigration(ctx context.Context, m compute.Migration) error {
	res := r.db.WithContext(ctx).Model(&migrationRow{}).Where("uuid = ?", m.UUID).Updates(map[string]any{
		"status": m.Status, "dest_compute": m.DestCompute, "dest_node": m.DestNode, "dest_host": m.DestHost,
		"updated_at": ms(m.UpdatedAt)})
	if res.Error != nil {
		return classify(res.Error, "migration "+m.UUID)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("migration %s: %w", m.UUID, compute.ErrNotFound)
	}
	return nil
}

// ListMigrations implements compute.MigrationRepository. The marker's place
// is its (created_at, id): ids break ties between migrations created in
// the same millisecond, whatever order the engine handed them out in.
func (r *Repo) ListMigrations(ctx context.Context, f compute.MigrationFilter) ([]compute.Migration, error) {
	q := migrationQuery(r.db.WithContext(ctx), f)
	if f.Marker != "" {
		var m migrationRow
		if err := r.db.WithContext(ctx).Where("uuid = ?", f.Marker).Take(&m).Error; err != nil {
			return nil, classify(err, "marker "+f.Marker)
		}
		q = q.Where("(created_at < ? OR (created_at = ? AND id < ?))", m.CreatedAt, m.CreatedAt, m.ID)
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	var rows []migrationRow
	if err := q.Order("created_at DESC, id DESC").Find(&rows).Error; err != nil {
		return nil, classify(err, "migrations")
	}
	out := make([]compute.Migration, len(rows))
	for i, row := range rows {
		out[i] = migrationFromRow(row)
	}
	return out, nil
}

// migrationQuery applies f's filters but the marker and limit.
func migrationQuery(q *gorm.DB, f compute.MigrationFilter) *gorm.DB {
	for col, v := range map[string]string{"status": f.Status, "migration_type": f.Type, "instance_uuid": f.ServerID,
		"source_compute": f.SourceCompute, "project_id": f.ProjectID, "user_id": f.UserID} {
		if v != "" {
			q = q.Where(col+" = ?", v)
		}
	}
	if f.Host != "" {
		q = q.Where("(source_compute = ? OR dest_compute = ?)", f.Host, f.Host)
	}
	if f.ChangesSince != nil {
		q = q.Where("updated_at >= ?", ms(*f.ChangesSince))
	}
	if f.ChangesBefore != nil {
		q = q.Where("updated_at <= ?", ms(*f.ChangesBefore))
	}
	return q
}
