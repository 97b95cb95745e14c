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

// Task types: Glance 25's schema enum. Only TaskTypeImport (the legacy
// import task) may be created through the tasks API; the interoperable
// import records its work as TaskTypeImageImport tasks.
const (
	TaskTypeImport      = "import"
	TaskTypeImageImport = "api_image_import"
)

// TaskTypes and TaskStatuses are the values the task schema admits.
var (
	TaskTypes    = []string{TaskTypeImport, TaskTypeImageImport}
	TaskStatuses = []string{TaskPending, TaskProcessing, TaskSuccess, TaskFailure}
)

// TaskSortKeys are the keys tasks can be sorted by.
var TaskSortKeys = []string{"id", "type", "status", "owner", "created_at", "updated_at"}

// Task records an asynchronous image import.
type Task struct {
	ID, Type, Status     string
	Owner, UserID        string
	ImageID, RequestID   string
	Input, Result        map[string]any
	Message              string
	CreatedAt, UpdatedAt time.Time
	// ExpiresAt is set when the task ends: from then on it lives for the
	// service's task time to live, then it is gone (Glance's expires_at).
	ExpiresAt *time.Time
}

// Expired reports whether the task's time to live has passed at now.
func (t *Task) Expired(now time.Time) bool { return t.ExpiresAt != nil && !t.ExpiresAt.After(now) }

// TaskQuery selects one page of tasks (GET /v2/tasks). Empty strings match
// everything.
type TaskQuery struct {
	Owner, Status, Type, ImageID string
	// SortKey (one of TaskSortKeys; default created_at) and Desc order the
	// page; created_at and id follow as tie-breakers in the same direction.
	SortKey string
	Desc    bool
	// Limit bounds the page (0: no bound); Marker is the id of the last
	// task of the previous page.
	Limit  int
	Marker string
	// Now leaves out tasks expired by then.
	Now time.Time
}

// TaskRepository persists tasks.
type TaskRepository interface {
	CreateTask(ctx context.Context, t *Task) error
	// GetTask returns a task or ErrNotFound.
	GetTask(ctx context.Context, id string) (*Task, error)
	UpdateTask(ctx context.Context, t *Task) error
	// ListTasks returns tasks, newest first; empty filters match all.
	ListTasks(ctx context.Context, owner, imageID string) ([]*Task, error)
	// PageTasks returns the page of tasks q selects, expired ones left
	// out. A marker that is not among the tasks q could list (unknown,
	// another owner's, expired) is ErrNotFound.
	PageTasks(ctx context.Context, q TaskQuery) ([]*Task, error)
	// DeleteExpiredTasks removes the tasks expired at now and returns
	// how many went.
	DeleteExpiredTasks(ctx context.Context, now time.Time) (int64, error)
}
