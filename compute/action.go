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
	// UpdatedAt is when the action or one of its events last changed
	// (nil: never since it started).
	UpdatedAt *time.Time
	// Message is "Error" once one of its events failed, else nil.
	Message *string
}

// Event is one step of an action (Nova's instance action event): started
// when the compute host takes the action up, finished with a Result,
// "Success" or "Error" (then Traceback says why).
type Event struct {
	Name       string // compute_start_instance, compute__do_build_and_run_instance, ...
	StartTime  time.Time
	FinishTime *time.Time
	Result     string // "" while running
	Traceback  string
	Host       string
	Details    string
}

// Event results, as Nova records them.
const (
	EventSuccess = "Success"
	EventError   = "Error"
)

// ActionRepository keeps the actions of servers.
type ActionRepository interface {
	// AddAction records an action.
	AddAction(ctx context.Context, a Action) error
	// ListActions returns the actions of a server, newest first; none for
	// an unknown server.
	ListActions(ctx context.Context, serverID string) ([]Action, error)
	// StartEvent adds a running event to the server's action of that
	// request; ErrNotFound when there is no such action.
	StartEvent(ctx context.Context, serverID, requestID string, e Event) error
	// FinishEvent finishes the newest running event of that name of the
	// action (finish time, result, traceback) and sets the action's
	// UpdatedAt (and Message "Error" when the result is EventError);
	// ErrNotFound when there is none.
	FinishEvent(ctx context.Context, serverID, requestID string, e Event) error
	// ActionEvents returns the events of the server's action of that
	// request, oldest first; ErrNotFound when there is no such action.
	ActionEvents(ctx context.Context, serverID, requestID string) ([]Event, error)
}
