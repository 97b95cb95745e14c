package service

import (
	"context"
	"maps"

	"imagestack/compute"
)

// Metadata returns a server's metadata.
func (s *Service) Metadata(ctx context.Context, c Caller, id string) (map[string]string, error) {
	sv, err := s.Get(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if !s.authz.Enforce("os_compute_api:server-metadata:index", serverTarget(sv), c.Creds) {
		return nil, compute.Errorf(compute.ErrForbidden, "Policy doesn't allow os_compute_api:server-metadata:index to be performed.")
	}
	return sv.Metadata, nil
}

// SetMetadata merges (replace=false) or replaces (replace=true) a server's
// metadata; rule is the server-metadata policy rule of the call.
func (s *Service) SetMetadata(ctx context.Context, c Caller, id, rule string, md map[string]string, replace bool) (map[string]string, error) {
	sv, err := s.Get(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if !s.authz.Enforce("os_compute_api:server-metadata:"+rule, serverTarget(sv), c.Creds) {
		return nil, compute.Errorf(compute.ErrForbidden, "Policy doesn't allow os_compute_api:server-metadata:%s to be performed.", rule)
	}
	if err := checkMetadata("metadata", md); err != nil {
		return nil, err
	}
	sv, err = s.updateIf(ctx, id, func(sv *compute.Server) error {
		next := map[string]string{}
		if !replace {
			maps.Copy(next, sv.Metadata)
		}
		maps.Copy(next, md)
		if err := checkMetadataCount(len(next)); err != nil {
			return err
		}
		sv.Metadata = next
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sv.Metadata, nil
}

// DeleteMetadata removes one metadata item; ErrNotFound when absent.
func (s *Service) DeleteMetadata(ctx context.Context, c Caller, id, key string) error {
	sv, err := s.Get(ctx, c, id)
	if err != nil {
		return err
	}
	if !s.authz.Enforce("os_compute_api:server-metadata:delete", serverTarget(sv), c.Creds) {
		return compute.Errorf(compute.ErrForbidden, "Policy doesn't allow os_compute_api:server-metadata:delete to be performed.")
	}
	if _, ok := sv.Metadata[key]; !ok {
		return compute.Errorf(compute.ErrNotFound, "Metadata item was not found")
	}
	_, err = s.update(ctx, id, func(sv *compute.Server) { delete(sv.Metadata, key) })
	return err
}
