package keystone

import (
	"context"
	"errors"
	"strings"

	"imagestack/policy"
)

// Keystone's unified limits with the flat enforcement model: a registered
// limit is a service's default for a resource, a limit overrides it for one
// project or domain. Services read the limits in force through ProjectLimits.

// LimitModel is GET /v3/limits/model: the flat model, the only one here.
type LimitModel struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// RegisteredLimitPatch lists the fields an update changes (nil = unchanged);
// SetDescription with a nil Description clears it (JSON null).
type RegisteredLimitPatch struct {
	ServiceID, RegionID, ResourceName *string
	DefaultLimit                      *int64
	SetDescription                    bool
	Description                       *string
}

// LimitPatch lists the fields of a limit an update changes.
type LimitPatch struct {
	ResourceLimit  *int64
	SetDescription bool
	Description    *string
}

// GetLimitModel answers the enforcement model (identity:get_limit_model).
func (s *Service) GetLimitModel(creds policy.Credentials) (LimitModel, error) {
	if err := s.authorize(creds, "identity:get_limit_model", nil); err != nil {
		return LimitModel{}, err
	}
	return LimitModel{Name: "flat", Description: "Limit enforcement and validation does not take project hierarchy into consideration."}, nil
}

// validationError is Keystone's ValidationError for an attribute naming
// something that does not exist.
func validationError(attribute, target string) error {
	return errorf(ErrBadRequest, "Expecting to find %s in %s. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.", attribute, target)
}

// checkServiceRegion refuses a service id not in the catalog and a region
// other than the configured one.
func (s *Service) checkServiceRegion(serviceID, regionID, target string) error {
	found := false
	for _, e := range s.Catalog() {
		found = found || e.ID == serviceID
	}
	if !found {
		return validationError("service_id", target)
	}
	if regionID != "" && regionID != s.cfg.Region {
		return validationError("region_id", target)
	}
	return nil
}

func duplicateLimit(kind string) error {
	return errorf(ErrConflict, "Conflict occurred attempting to store %s - Duplicate entry.", kind)
}

// CreateRegisteredLimits stores all of rls or none (identity:create_registered_limits).
func (s *Service) CreateRegisteredLimits(ctx context.Context, creds policy.Credentials, rls []RegisteredLimit) ([]RegisteredLimit, error) {
	if err := s.authorize(creds, "identity:create_registered_limits", nil); err != nil {
		return nil, err
	}
	seen := map[[3]string]bool{}
	for i := range rls {
		if err := s.checkServiceRegion(rls[i].ServiceID, rls[i].RegionID, "registered_limit"); err != nil {
			return nil, err
		}
		key := [3]string{rls[i].ServiceID, rls[i].RegionID, rls[i].ResourceName}
		if seen[key] {
			return nil, duplicateLimit("registered_limit")
		}
		seen[key] = true
		rls[i].ID = newID()
	}
	if err := s.repo.CreateRegisteredLimits(ctx, rls); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, duplicateLimit("registered_limit")
		}
		return nil, err
	}
	return rls, nil
}

// ListRegisteredLimits returns the matching registered limits (identity:list_registered_limits).
func (s *Service) ListRegisteredLimits(ctx context.Context, creds policy.Credentials, f LimitFilter) ([]RegisteredLimit, error) {
	if err := s.authorize(creds, "identity:list_registered_limits", nil); err != nil {
		return nil, err
	}
	return s.repo.ListRegisteredLimits(ctx, f)
}

// GetRegisteredLimit returns one registered limit (identity:get_registered_limit).
func (s *Service) GetRegisteredLimit(ctx context.Context, creds policy.Credentials, id string) (RegisteredLimit, error) {
	if err := s.authorize(creds, "identity:get_registered_limit", nil); err != nil {
		return RegisteredLimit{}, err
	}
	rl, err := s.repo.GetRegisteredLimit(ctx, id)
	return rl, limitNotFound(err, "registered limit", id)
}

func limitNotFound(err error, kind, id string) error {
	switch {
	case errors.Is(err, ErrNotFound):
		return errorf(ErrNotFound, "Could not find %s for %s.", kind, id)
	case errors.Is(err, ErrLimitReferenced):
		return errorf(ErrForbidden, "Unable to update or delete registered limit %s because there are project limits associated with it.", id)
	case errors.Is(err, ErrConflict):
		return duplicateLimit(strings.ReplaceAll(kind, " ", "_"))
	}
	return err
}

// UpdateRegisteredLimit changes a registered limit no limit overrides
// (identity:update_registered_limit).
func (s *Service) UpdateRegisteredLimit(ctx context.Context, creds policy.Credentials, id string, p RegisteredLimitPatch) (RegisteredLimit, error) {
	if err := s.authorize(creds, "identity:update_registered_limit", nil); err != nil {
		return RegisteredLimit{}, err
	}
	rl, err := s.repo.GetRegisteredLimit(ctx, id)
	if err != nil {
		return RegisteredLimit{}, limitNotFound(err, "registered limit", id)
	}
	setIf(&rl.ServiceID, p.ServiceID)
	setIf(&rl.RegionID, p.RegionID)
	setIf(&rl.ResourceName, p.ResourceName)
	if p.DefaultLimit != nil {
		rl.DefaultLimit = *p.DefaultLimit
	}
	if p.SetDescription {
		rl.Description = p.Description
	}
	if err := s.checkServiceRegion(rl.ServiceID, rl.RegionID, "registered_limit"); err != nil {
		return RegisteredLimit{}, err
	}
	return rl, limitNotFound(s.repo.UpdateRegisteredLimit(ctx, rl), "registered limit", id)
}

func setIf(dst *string, v *string) {
	if v != nil {
		*dst = *v
	}
}

// DeleteRegisteredLimit removes a registered limit no limit overrides
// (identity:delete_registered_limit).
func (s *Service) DeleteRegisteredLimit(ctx context.Context, creds policy.Credentials, id string) error {
	if err := s.authorize(creds, "identity:delete_registered_limit", nil); err != nil {
		return err
	}
	return limitNotFound(s.repo.DeleteRegisteredLimit(ctx, id), "registered limit", id)
}
