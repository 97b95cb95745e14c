package service

import (
	"context"

	"imagestack/compute"
)

// UpdateRequest is a parsed PUT /servers/{id}: nil fields stay as they are.
type UpdateRequest struct {
	Name                   *string
	AccessIPv4, AccessIPv6 *string
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
		if req.Name != nil {
			sv.Name = *req.Name
		}
		if req.AccessIPv4 != nil {
			sv.AccessIPv4 = *req.AccessIPv4
		}
		if req.AccessIPv6 != nil {
			sv.AccessIPv6 = *req.AccessIPv6
		}
	})
}
