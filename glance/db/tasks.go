package db

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

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
