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
			ProjectID: row.ProjectID, StartTime: row.StartTime.UTC()}
	}
	return out, nil
}
