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

// SetMetadata merges md into a server's metadata (POST .../metadata).
func (s *Service) SetMetadata(ctx context.Context, c Caller, id string, md map[string]string) (map[string]string, error) {
	return s.writeMetadata(ctx, c, id, "os_compute_api:server-metadata:create", md, false)
}

// ReplaceMetadata replaces a server's metadata with md (PUT .../metadata).
func (s *Service) ReplaceMetadata(ctx context.Context, c Caller, id string, md map[string]string) (map[string]string, error) {
	return s.writeMetadata(ctx, c, id, "os_compute_api:server-metadata:update_all", md, true)
}

// SetMetadataItem sets one metadata item (PUT .../metadata/{key}).
func (s *Service) SetMetadataItem(ctx context.Context, c Caller, id, key, value string) error {
	_, err := s.writeMetadata(ctx, c, id, "os_compute_api:server-metadata:update", map[string]string{key: value}, false)
	return err
}

// writeMetadata merges (replace=false) or replaces (replace=true) a
// server's metadata under rule, the policy rule of the call.
func (s *Service) writeMetadata(ctx context.Context, c Caller, id, rule string, md map[string]string, replace bool) (map[string]string, error) {
	sv, err := s.Get(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if !s.authz.Enforce(rule, serverTarget(sv), c.Creds) {
		return nil, compute.Errorf(compute.ErrForbidden, "Policy doesn't allow %s to be performed.", rule)
	}
	if err := checkMetadata("metadata", md); err != nil {
		return nil, err
	}
	limits, err := s.limitsOf(ctx, sv.ProjectID, "")
	if err != nil {
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
		if err := checkMetadataQuota(limits[compute.QuotaMetadataItems], len(next)); err != nil {
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
