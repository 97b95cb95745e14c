package service

import (
	"context"

	"imagestack/compute"
)

// UpdateRequest is a parsed PUT /servers/{id}: nil fields stay as they are.
type UpdateRequest struct {
	Name                   *string
	AccessIPv4, AccessIPv6 *string
	Description            Change[*string] // microversion 2.19
	Hostname               *string         // 2.90
}

// Change is an optional new value of a nullable field: Set false leaves
// the field as it is.
type Change[T any] struct {
	Set   bool
	Value T
}

// To is a Change that sets v.
func To[T any](v T) Change[T] { return Change[T]{Set: true, Value: v} }

// applyTo writes the change into dst when it is set.
func (c Change[T]) applyTo(dst *T) {
	if c.Set {
		*dst = c.Value
	}
}

// setIf writes *v into dst when v is not nil.
func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// Update renames a server and sets its access addresses, in any state, as
// Nova's PUT /servers/{id}; the name follows Nova's rules.
func (s *Service) Update(ctx context.Context, c Caller, id string, req UpdateRequest) (*compute.Server, error) {
	sv, err := s.Get(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if !s.authz.Enforce("os_compute_api:servers:update", serverTarget(sv), c.Creds) {
		return nil, compute.Errorf(compute.ErrForbidden, "Policy doesn't allow os_compute_api:servers:update to be performed.")
	}
	if req.Name != nil {
		if err := checkName("name", *req.Name); err != nil {
			return nil, err
		}
	}
	return s.update(ctx, id, func(sv *compute.Server) {
		setIf(&sv.Name, req.Name)
		setIf(&sv.AccessIPv4, req.AccessIPv4)
		setIf(&sv.AccessIPv6, req.AccessIPv6)
		setIf(&sv.Hostname, req.Hostname)
		req.Description.applyTo(&sv.Description)
	})
}
