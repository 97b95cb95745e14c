package db

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"imagestack/glance"
)

type taskRow struct {
	ID        string `gorm:"primaryKey"`
	Type      string
	Status    string
	Owner     string
	UserID    string
	ImageID   string
	RequestID string
	Input     string
	Result    string
	Message   string
	CreatedAt time.Time `gorm:"autoCreateTime:false"`
	UpdatedAt time.Time `gorm:"autoUpdateTime:false"`
	ExpiresAt *time.Time
}

func (taskRow) TableName() string { return "tasks" }

var _ glance.TaskRepository = (*Repo)(nil)

func taskToRow(t *glance.Task) taskRow {
	in, _ := json.Marshal(t.Input)
	out, _ := json.Marshal(t.Result)
	r := taskRow{ID: t.ID, Type: t.Type, Status: t.Status, Owner: t.Owner, UserID: t.UserID, ImageID: t.ImageID,
		RequestID: t.RequestID, Input: string(in), Result: string(out), Message: t.Message,
		CreatedAt: dbTime(t.CreatedAt), UpdatedAt: dbTime(t.UpdatedAt)}
	if t.ExpiresAt != nil {
		e := dbTime(*t.ExpiresAt)
		r.ExpiresAt = &e
	}
	return r
}

func taskFromRow(r *taskRow) *glance.Task {
	t := &glance.Task{ID: r.ID, Type: r.Type, Status: r.Status, Owner: r.Owner, UserID: r.UserID, ImageID: r.ImageID,
		RequestID: r.RequestID, Message: r.Message, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	_ = json.Unmarshal([]byte(r.Input), &t.Input)
	_ = json.Unmarshal([]byte(r.Result), &t.Result)
	if r.ExpiresAt != nil {
		e := r.ExpiresAt.UTC()
		t.ExpiresAt = &e
	}
	return t
}

// CreateTask implements glance.TaskRepository.
func (r *Repo) CreateTask(ctx context.Context, t *glance.Task) error {
	row := taskToRow(t)
	return classify(r.db.WithContext(ctx).Create(&row).Error, "task "+t.ID)
}

// GetTask implements glance.TaskRepository.
func (r *Repo) GetTask(ctx context.Context, id string) (*glance.Task, error) {
	var row taskRow
	if err := r.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return nil, classify(err, "task "+id)
	}
	return taskFromRow(&row), nil
}

// UpdateTask implements glance.TaskRepository.
func (r *Repo) UpdateTask(ctx context.Context, t *glance.Task) error {
	row := taskToRow(t)
	res := r.db.WithContext(ctx).Model(&taskRow{}).Where("id = ?", t.ID).Select("*").Omit("id", "created_at").Updates(&row)
	if res.Error != nil {
		return classify(res.Error, "task "+t.ID)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("task %s: %w", t.ID, glance.ErrNotFound)
	}
	return nil
}

// ListTasks implements glance.TaskRepository.
func (r *Repo) ListTasks(ctx context.Context, owner, imageID string) ([]*glance.Task, error) {
	q := r.db.WithContext(ctx).Order("created_at DESC").Order("id DESC")
	if owner != "" {
		q = q.Where("owner = ?", owner)
	}
	if imageID != "" {
		q = q.Where("image_id = ?", imageID)
	}
	return findTasks(q)
}

// findTasks runs a task query.
func findTasks(q *gorm.DB) ([]*glance.Task, error) {
	var rows []taskRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, classify(err, "list tasks")
	}
	out := make([]*glance.Task, len(rows))
	for i := range rows {
		out[i] = taskFromRow(&rows[i])
	}
	return out, nil
}

// taskSortValue is the marker row's value of a sort key (glance.TaskSortKeys).
func taskSortValue(r *taskRow, key string) any {
	switch key {
	case "id":
		return r.ID
	case "type":
		return r.Type
	case "status":
		return r.Status
	case "owner":
		return r.Owner
	case "updated_at":
		return r.UpdatedAt
	}
	return r.CreatedAt
}

// unexpiredTasks are the tasks of q's owner (all for ""), expired ones left
// out.
func unexpiredTasks(db *gorm.DB, q glance.TaskQuery) *gorm.DB {
	db = db.Model(&taskRow{}).Where("(expires_at IS NULL OR expires_at > ?)", dbTime(q.Now))
	if q.Owner != "" {
		db = db.Where("owner = ?", q.Owner)
	}
	return db
}

// PageTasks implements glance.TaskRepository: the sort key, then
// created_at and id, all in one direction, as Glance pages tasks.
func (r *Repo) PageTasks(ctx context.Context, q glance.TaskQuery) ([]*glance.Task, error) {
	db := r.db.WithContext(ctx)
	keys := []string{"created_at", "id"}
	if q.SortKey != "" && !slices.Contains(keys, q.SortKey) {
		keys = append([]string{q.SortKey}, keys...)
	}
	query := unexpiredTasks(db, q)
	for col, v := range map[string]string{"status": q.Status, "type": q.Type, "image_id": q.ImageID} {
		if v != "" {
			query = query.Where(col+" = ?", v)
		}
	}
	if q.Marker != "" {
		var m taskRow
		if err := unexpiredTasks(db, q).Where("id = ?", q.Marker).Take(&m).Error; err != nil {
			return nil, classify(err, "marker task "+q.Marker)
		}
		vals, desc := make([]any, len(keys)), make([]bool, len(keys))
		for i, k := range keys {
			vals[i], desc[i] = taskSortValue(&m, k), q.Desc
		}
		query = afterKeys(query, keys, vals, desc)
	}
	dir := " ASC"
	if q.Desc {
		dir = " DESC"
	}
	for _, k := range keys {
		query = query.Order(k + dir)
	}
	if q.Limit > 0 {
		query = query.Limit(q.Limit)
	}
	return findTasks(query)
}

// DeleteExpiredTasks implements glance.TaskRepository.
func (r *Repo) DeleteExpiredTasks(ctx context.Context, now time.Time) (int64, error) {
	res := r.db.WithContext(ctx).Where("expires_at IS NOT NULL AND expires_at <= ?", dbTime(now)).Delete(&taskRow{})
	return res.RowsAffected, classify(res.Error, "delete expired tasks")
}
