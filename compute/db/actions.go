package db

import (
	"context"
	"time"

	"imagestack/compute"
)

type actionRow struct {
	ID        uint64 `gorm:"primaryKey;autoIncrement"`
	ServerID  string
	Action    string
	RequestID string
	UserID    string
	ProjectID string
	StartTime time.Time
	UpdatedAt *time.Time `gorm:"autoUpdateTime:false"`
	Message   *string
}

func (actionRow) TableName() string { return "instance_actions" }

var _ compute.ActionRepository = (*Repo)(nil)

// AddAction implements compute.ActionRepository.
func (r *Repo) AddAction(ctx context.Context, a compute.Action) error {
	row := actionRow{ServerID: a.ServerID, Action: a.Name, RequestID: a.RequestID, UserID: a.UserID,
		ProjectID: a.ProjectID, StartTime: ms(a.StartTime)}
	return classify(r.db.WithContext(ctx).Create(&row).Error, "action of server "+a.ServerID)
}

// ListActions implements compute.ActionRepository.
func (r *Repo) ListActions(ctx context.Context, serverID string) ([]compute.Action, error) {
	var rows []actionRow
	err := r.db.WithContext(ctx).Where("server_id = ?", serverID).Order("start_time DESC, id DESC").Find(&rows).Error
	if err != nil {
		return nil, classify(err, "actions of server "+serverID)
	}
	out := make([]compute.Action, len(rows))
	for i, row := range rows {
		out[i] = compute.Action{ServerID: row.ServerID, Name: row.Action, RequestID: row.RequestID, UserID: row.UserID,
			ProjectID: row.ProjectID, StartTime: row.StartTime.UTC(), UpdatedAt: utcPtr(row.UpdatedAt), Message: row.Message}
	}
	return out, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

type eventRow struct {
	ID         uint64 `gorm:"primaryKey;autoIncrement"`
	ActionID   uint64
	Event      string
	StartTime  time.Time
	FinishTime *time.Time
	Result     string
	Traceback  string
	Host       string
	Details    string
}

func (eventRow) TableName() string { return "instance_actions_events" }

// actionID is the id of the server's action of a request, or ErrNotFound.
func (r *Repo) actionID(ctx context.Context, serverID, requestID string) (uint64, error) {
	var row actionRow
	err := r.db.WithContext(ctx).Select("id").Where("server_id = ? AND request_id = ?", serverID, requestID).
		Order("id DESC").Take(&row).Error
	return row.ID, classify(err, "action "+requestID)
}

// StartEvent implements compute.ActionRepository.
func (r *Repo) StartEvent(ctx context.Context, serverID, requestID string, e compute.Event) error {
	id, err := r.actionID(ctx, serverID, requestID)
	if err != nil {
		return err
	}
	row := eventRow{ActionID: id, Event: e.Name, StartTime: ms(e.StartTime), Host: e.Host, Details: e.Details}
	return classify(r.db.WithContext(ctx).Create(&row).Error, "event "+e.Name)
}

// FinishEvent implements compute.ActionRepository.
func (r *Repo) FinishEvent(ctx context.Context, serverID, requestID string, e compute.Event) error {
	id, err := r.actionID(ctx, serverID, requestID)
	if err != nil {
		return err
	}
	var row eventRow
	err = r.db.WithContext(ctx).Where("action_id = ? AND event = ? AND finish_time IS NULL", id, e.Name).Order("id DESC").Take(&row).Error
	if err != nil {
		return classify(err, "event "+e.Name)
	}
	finish := ms(*e.FinishTime)
	err = r.db.WithContext(ctx).Model(&eventRow{}).Where("id = ?", row.ID).
		Updates(map[string]any{"finish_time": finish, "result": e.Result, "traceback": e.Traceback}).Error
	if err != nil {
		return classify(err, "event "+e.Name)
	}
	changes := map[string]any{"updated_at": finish}
	if e.Result == compute.EventError {
		changes["message"] = "Error" // as Nova marks an action whose event failed
	}
	return classify(r.db.WithContext(ctx).Model(&actionRow{}).Where("id = ?", id).Updates(changes).Error, "action "+requestID)
}

// ActionEvents implements compute.ActionRepository.
func (r *Repo) ActionEvents(ctx context.Context, serverID, requestID string) ([]compute.Event, error) {
	id, err := r.actionID(ctx, serverID, requestID)
	if err != nil {
		return nil, err
	}
	var rows []eventRow
	if err := r.db.WithContext(ctx).Where("action_id = ?", id).Order("id").Find(&rows).Error; err != nil {
		return nil, classify(err, "events of "+requestID)
	}
	out := make([]compute.Event, len(rows))
	for i, row := range rows {
		out[i] = compute.Event{Name: row.Event, StartTime: row.StartTime.UTC(), FinishTime: utcPtr(row.FinishTime), Result: row.Result,
			Traceback: row.Traceback, Host: row.Host, Details: row.Details}
	}
	return out, nil
}
