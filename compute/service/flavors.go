package service

import (
	"context"
	"errors"
	"unicode/utf8"

	"github.com/google/uuid"

	"imagestack/compute"
)

// FlavorScope is the is_public parameter of a flavor listing.
type FlavorScope int

// Flavor scopes: the default shows public flavors; admins may ask for
// private ones or for all ("is_public=None").
const (
	FlavorsDefault FlavorScope = iota
	FlavorsPublic
	FlavorsPrivate
	FlavorsAll
)

// ListFlavors returns one page of flavors. Non-admins always see public
// flavors only, as in Nova.
func (s *Service) ListFlavors(ctx context.Context, c Caller, f compute.FlavorFilter, scope FlavorScope) ([]compute.Flavor, error) {
	if !c.IsAdmin {
		scope = FlavorsPublic
	}
	pub, priv := true, false
	switch scope {
	case FlavorsDefault, FlavorsPublic:
		f.IsPublic = &pub
	case FlavorsPrivate:
		f.IsPublic = &priv
	case FlavorsAll:
		f.IsPublic = nil
	}
	fl, err := s.flavors.ListFlavors(ctx, f)
	if errors.Is(err, compute.ErrNotFound) {
		return nil, compute.Errorf(compute.ErrBadRequest, "marker [%s] not found", f.Marker)
	}
	return fl, err
}

// GetFlavor returns one flavor.
func (s *Service) GetFlavor(ctx context.Context, c Caller, id string) (compute.Flavor, error) {
	f, err := s.flavors.GetFlavor(ctx, id)
	if errors.Is(err, compute.ErrNotFound) {
		return f, compute.Errorf(compute.ErrNotFound, "Flavor %s could not be found.", id)
	}
	return f, err
}

// CreateFlavor adds a flavor (admin).
func (s *Service) CreateFlavor(ctx context.Context, c Caller, f compute.Flavor) (compute.Flavor, error) {
	if err := s.authorize(c, "os_compute_api:os-flavor-manage:create", nil); err != nil {
		return f, err
	}
	bad := func(format string, args ...any) error { return compute.Errorf(compute.ErrBadRequest, format, args...) }
	switch {
	case f.Name == "" || utf8.RuneCountInString(f.Name) > 255:
		return f, bad("Invalid input for field/attribute name. Value: %q. It must be 1 to 255 characters long.", f.Name)
	case f.RAM < 1:
		return f, bad("Invalid input for field/attribute ram. Value: %d. %d is less than the minimum of 1", f.RAM, f.RAM)
	case f.VCPUs < 1:
		return f, bad("Invalid input for field/attribute vcpus. Value: %d. %d is less than the minimum of 1", f.VCPUs, f.VCPUs)
	case f.Disk < 0 || f.Swap < 0 || f.Ephemeral < 0:
		return f, bad("Invalid input: disk, swap and ephemeral sizes must not be negative.")
	case f.RxTxFactor <= 0:
		return f, bad("Invalid input for field/attribute rxtx_factor: it must be positive.")
	case utf8.RuneCountInString(f.ID) > 255:
		return f, bad("Invalid input for field/attribute id: at most 255 characters.")
	}
	if f.ID == "" || f.ID == "auto" {
		f.ID = uuid.NewString()
	}
	f.CreatedAt = s.now().UTC()
	if err := s.flavors.CreateFlavor(ctx, f); err != nil {
		if errors.Is(err, compute.ErrConflict) {
			return f, compute.Errorf(compute.ErrConflict, "Flavor with name %s or ID %s already exists.", f.Name, f.ID)
		}
		return f, err
	}
	return f, nil
}

// DeleteFlavor removes a flavor (admin).
func (s *Service) DeleteFlavor(ctx context.Context, c Caller, id string) error {
	if err := s.authorize(c, "os_compute_api:os-flavor-manage:delete", nil); err != nil {
		return err
	}
	if err := s.flavors.DeleteFlavor(ctx, id); err != nil {
		if errors.Is(err, compute.ErrNotFound) {
			return compute.Errorf(compute.ErrNotFound, "Flavor %s could not be found.", id)
		}
		return err
	}
	return nil
}

// ExtraSpecs returns a flavor's extra specs.
func (s *Service) ExtraSpecs(ctx context.Context, c Caller, id string) (map[string]string, error) {
	if err := s.authorize(c, "os_compute_api:os-flavor-extra-specs:index", nil); err != nil {
		return nil, err
	}
	if _, err := s.GetFlavor(ctx, c, id); err != nil {
		return nil, err
	}
	return s.flavors.ExtraSpecs(ctx, id)
}

// SetExtraSpecs adds or updates extra specs (admin); rule is the create or
// update rule name, as the call was made.
func (s *Service) SetExtraSpecs(ctx context.Context, c Caller, id, rule string, specs map[string]string) error {
	if err := s.authorize(c, "os_compute_api:os-flavor-extra-specs:"+rule, nil); err != nil {
		return err
	}
	if _, err := s.GetFlavor(ctx, c, id); err != nil {
		return err
	}
	for k, v := range specs {
		if k == "" || utf8.RuneCountInString(k) > 255 || utf8.RuneCountInString(v) > 255 {
			return compute.Errorf(compute.ErrBadRequest, "Invalid extra spec %q: keys and values are 1 to 255 characters.", k)
		}
	}
	return s.flavors.SetExtraSpecs(ctx, id, specs)
}

// DeleteExtraSpec removes one extra spec (admin).
func (s *Service) DeleteExtraSpec(ctx context.Context, c Caller, id, key string) error {
	if err := s.authorize(c, "os_compute_api:os-flavor-extra-specs:delete", nil); err != nil {
		return err
	}
	if _, err := s.GetFlavor(ctx, c, id); err != nil {
		return err
	}
	if err := s.flavors.DeleteExtraSpec(ctx, id, key); err != nil {
		if errors.Is(err, compute.ErrNotFound) {
			return compute.Errorf(compute.ErrNotFound, "Flavor %s has no extra specs with key %s.", id, key)
		}
		return err
	}
	return nil
}
