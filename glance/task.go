package glance

import (
	"context"
	"time"
)

// Task statuses.
const (
	TaskPending    = "pending"
	TaskProcessing = "processing"
	TaskSuccess    = "success"
	TaskFailure    = "failure"
)

// Import methods.
const (
	ImportGlanceDirect = "glance-direct"
	ImportWebDownload  = "web-download"
	ImportCopyImage    = "copy-image"
)

// Task records an asynchronous image import.
type Task struct {
	ID, Type, Status     string
	Owner, UserID        string
	ImageID, RequestID   string
	Input, Result        map[string]any
	Message              string
	CreatedAt, UpdatedAt time.Time
	ExpiresAt            *time.Time
}

// TaskRepository persists tasks.
type TaskRepository interface {
	CreateTask(ctx context.Context, t *Task) error
	// GetTask returns a task or ErrNotFound.
	GetTask(ctx context.Context, id string) (*Task, error)
	UpdateTask(ctx context.Context, t *Task) error
	// ListTasks returns tasks, newest first; empty filters match all.
	ListTasks(ctx context.Context, owner, imageID string) ([]*Task, error)
}
