package service

import (
	"context"

	"github.com/google/uuid"

	"imagestack/compute"
)

// record notes that the caller's request asked for action on a server
// (Nova's instance actions). Failing to record is logged, never the
// request's failure: the action itself has been accepted.
func (s *Service) record(ctx context.Context, c Caller, serverID, action string) {
	if s.Actions == nil {
		return
	}
	reqID := c.RequestID
	if reqID == "" {
		reqID = "req-" + uuid.NewString()
	}
	a := compute.Action{ServerID: serverID, Name: action, RequestID: reqID, UserID: c.Creds.UserID,
		ProjectID: c.Creds.ProjectID, StartTime: s.now().UTC()}
	if err := s.Actions.AddAction(ctx, a); err != nil {
		s.log.Error("could not record server action", "server", serverID, "action", action, "err", err)
	}
}

// ListActions returns the actions taken on a server the caller can see,
// newest first, for GET /servers/{id}/os-instance-actions.
func (s *Service) ListActions(ctx context.Context, c Caller, id string) ([]compute.Action, error) {
	sv, err := s.Get(ctx, c, id)
	if err != nil {
		return nil, err
	}
	const rule = "os_compute_api:os-instance-actions:list"
	if !s.authz.Enforce(rule, serverTarget(sv), c.Creds) {
		return nil, compute.Errorf(compute.ErrForbidden, "Policy doesn't allow %s to be performed.", rule)
	}
	if s.Actions == nil {
		return []compute.Action{}, nil
	}
	return s.Actions.ListActions(ctx, id)
}
