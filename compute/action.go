package compute

import (
	"context"
	"time"
)

// Action names of server actions, as Nova records them.
const (
	ActionCreate      = "create"
	ActionDelete      = "delete"
	ActionCreateImage = "createImage"
	ActionRebuild     = "rebuild"
)

// Action is one request made on a server (Nova's instance action): what
// was asked for, by whom, in which request, when. Create, delete and each
// accepted server action record one; the outcome is not recorded.
type Action struct {
	ServerID  string
	Name      string // create, delete, start, stop, reboot, rebuild, createImage, ...
	RequestID string // req-<uuid>
	UserID    string
	ProjectID string
	StartTime time.Time
}

// ActionRepository keeps the actions of servers.
type ActionRepository interface {
	// AddAction records an action.
	AddAction(ctx context.Context, a Action) error
	// ListActions returns the actions of a server, newest first; none for
	// an unknown server.
	ListActions(ctx context.Context, serverID string) ([]Action, error)
}
