package service

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"

	"imagestack/compute"
)

// actionEvents names the event each action runs on the compute host, as
// Nova's compute manager names them; actions done by the API alone (lock,
// unlock) have none.
var actionEvents = map[string]string{
	compute.ActionCreate: "compute__do_build_and_run_instance", compute.ActionDelete: "compute_terminate_instance",
	compute.ActionRebuild: "compute_rebuild_instance", compute.ActionCreateImage: "compute_snapshot_instance",
	"start": "compute_start_instance", "stop": "compute_stop_instance", "reboot": "compute_reboot_instance",
	"pause": "compute_pause_instance", "unpause": "compute_unpause_instance", "suspend": "compute_suspend_instance",
	"resume": "compute_resume_instance", "shelve": "compute_shelve_instance", "unshelve": "compute_unshelve_instance",
	"resize": "compute_prep_resize", "confirmResize": "compute_confirm_resize", "revertResize": "compute_revert_resize",
	"createBackup": "compute_backup_instance", "rescue": "compute_rescue_instance", "unrescue": "compute_unrescue_instance",
	"restore": "compute_restore_instance", "trigger_crash_dump": "compute_trigger_crash_dump",
	"evacuate": "compute_rebuild_instance", "migrate": "compute_prep_resize", "live-migration": "compute_live_migration",
}

// ActionEvent is the running event of a recorded action; Finish ends it.
// A nil *ActionEvent (nothing recorded) finishes nothing.
type ActionEvent struct {
	s                   *Service
	serverID, requestID string
	name                string
}

// Finish records the event's end: Success, or Error with err's text as
// the traceback. Failing to record is logged.
func (e *ActionEvent) Finish(ctx context.Context, err error) {
	if e == nil {
		return
	}
	e.s.pending.CompareAndDelete(e.serverID, e)
	now := e.s.now().UTC()
	ev := compute.Event{Name: e.name, FinishTime: &now, Result: compute.EventSuccess}
	if err != nil {
		ev.Result, ev.Traceback = compute.EventError, err.Error()
	}
	if ferr := e.s.Actions.FinishEvent(ctx, e.serverID, e.requestID, ev); ferr != nil {
		e.s.log.Error("could not record the end of a server action", "server", e.serverID, "event", e.name, "err", ferr)
	}
}

// record notes that the caller's request asked for action on a server
// (Nova's instance actions) and starts the action's event, which the
// caller may Finish; otherwise the background work that follows on the
// server finishes it (see finishPending). Failing to record is logged,
// never the request's failure: the action itself has been accepted.
func (s *Service) record(ctx context.Context, c Caller, serverID, action string) *ActionEvent {
	if s.Actions == nil {
		return nil
	}
	reqID := c.RequestID
	if reqID == "" {
		reqID = "req-" + uuid.NewString()
	}
	now := s.now().UTC()
	a := compute.Action{ServerID: serverID, Name: action, RequestID: reqID, UserID: c.Creds.UserID,
		ProjectID: c.Creds.ProjectID, StartTime: now}
	if err := s.Actions.AddAction(ctx, a); err != nil {
		s.log.Error("could not record server action", "server", serverID, "action", action, "err", err)
		return nil
	}
	name, ok := actionEvents[action]
	if !ok {
		return nil
	}
	if err := s.Actions.StartEvent(ctx, serverID, reqID, compute.Event{Name: name, StartTime: now, Host: s.host()}); err != nil {
		s.log.Error("could not record server action event", "server", serverID, "event", name, "err", err)
		return nil
	}
	e := &ActionEvent{s: s, serverID: serverID, requestID: reqID, name: name}
	s.pending.Store(serverID, e)
	return e
}

// finishPending finishes the server's running event, if its caller left
// it open, once the server's background work is done: Error when the
// server was left in ERROR, Success otherwise.
func (s *Service) finishPending(ctx context.Context, serverID string) {
	v, ok := s.pending.Load(serverID)
	if !ok {
		return
	}
	var err error
	if sv, gerr := s.Servers.GetServer(ctx, serverID); gerr == nil && sv.VMState == compute.VMError {
		err = errors.New(sv.Fault)
	}
	v.(*ActionEvent).Finish(ctx, err)
}

// actionServer returns the server whose actions the caller asks for and
// checks rule on it. From microversion 2.21 (withDeleted) a deleted
// server's actions stay visible.
func (s *Service) actionServer(ctx context.Context, c Caller, id, rule string, withDeleted bool) (*compute.Server, error) {
	sv, err := s.Get(ctx, c, id)
	if err != nil && withDeleted && errors.Is(err, compute.ErrNotFound) {
		if d, derr := s.Servers.GetServer(ctx, id); derr == nil && d.VMState == compute.VMDeleted &&
			s.authz.Enforce("os_compute_api:servers:show", serverTarget(d), c.Creds) {
			sv, err = d, nil
		}
	}
	if err != nil {
		return nil, err
	}
	if !s.authz.Enforce(rule, serverTarget(sv), c.Creds) {
		return nil, compute.Errorf(compute.ErrForbidden, "Policy doesn't allow %s to be performed.", rule)
	}
	return sv, nil
}

// ActionFilter pages and narrows a server's actions (microversion 2.58:
// limit, marker (a request id), changes-since; 2.66: changes-before), on
// their updated_at (their start when never updated).
type ActionFilter struct {
	Limit                       int // < 0: all
	Marker                      string
	ChangesSince, ChangesBefore *time.Time
	WithDeleted                 bool // 2.21: a deleted server's too
}

// ListActions returns the actions taken on a server the caller can see,
// newest first, for GET /servers/{id}/os-instance-actions.
func (s *Service) ListActions(ctx context.Context, c Caller, id string, f ActionFilter) ([]compute.Action, error) {
	if _, err := s.actionServer(ctx, c, id, "os_compute_api:os-instance-actions:list", f.WithDeleted); err != nil {
		return nil, err
	}
	if s.Actions == nil {
		return []compute.Action{}, nil
	}
	all, err := s.Actions.ListActions(ctx, id)
	if err != nil {
		return nil, err
	}
	if f.Marker != "" {
		i := slices.IndexFunc(all, func(a compute.Action) bool { return a.RequestID == f.Marker })
		if i < 0 {
			return nil, compute.Errorf(compute.ErrBadRequest, "Marker %s could not be found.", compute.Clip(f.Marker))
		}
		all = all[i+1:]
	}
	all = slices.DeleteFunc(all, func(a compute.Action) bool {
		t := a.StartTime
		if a.UpdatedAt != nil {
			t = *a.UpdatedAt
		}
		return f.ChangesSince != nil && t.Before(*f.ChangesSince) || f.ChangesBefore != nil && t.After(*f.ChangesBefore)
	})
	if f.Limit >= 0 && len(all) > f.Limit {
		all = all[:f.Limit]
	}
	return all, nil
}

// ActionDetail is one action with what the caller may see of its events.
type ActionDetail struct {
	compute.Action
	// Events is nil when the caller may not see them; AllEvents says the
	// caller has the events rule (tracebacks and hosts), EventDetails the
	// events:details rule.
	Events                  []compute.Event
	AllEvents, EventDetails bool
}

// GetAction returns the server's action of a request (404 "Action %s not
// found") and, for callers the events rule allows (or from 2.51, withEvents),
// its events.
func (s *Service) GetAction(ctx context.Context, c Caller, id, requestID string, withDeleted, withEvents bool) (ActionDetail, error) {
	sv, err := s.actionServer(ctx, c, id, "os_compute_api:os-instance-actions:show", withDeleted)
	if err != nil {
		return ActionDetail{}, err
	}
	notFound := compute.Errorf(compute.ErrNotFound, "Action %s not found", compute.Clip(requestID))
	if s.Actions == nil {
		return ActionDetail{}, notFound
	}
	all, err := s.Actions.ListActions(ctx, id)
	if err != nil {
		return ActionDetail{}, err
	}
	i := slices.IndexFunc(all, func(a compute.Action) bool { return a.RequestID == requestID })
	if i < 0 {
		return ActionDetail{}, notFound
	}
	d := ActionDetail{Action: all[i]}
	d.AllEvents = s.authz.Enforce("os_compute_api:os-instance-actions:events", serverTarget(sv), c.Creds)
	d.EventDetails = s.authz.Enforce("os_compute_api:os-instance-actions:events:details", serverTarget(sv), c.Creds)
	if d.AllEvents || withEvents {
		if d.Events, err = s.Actions.ActionEvents(ctx, id, requestID); err != nil {
			return ActionDetail{}, err
		}
	}
	return d, nil
}
