package service

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
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

// ListFlavors returns one page of flavors. Non-admins always get the
// public flavors and the private ones their project was given access to;
// admins choose, and their "public" includes their own project's private
// flavors too, as Nova's is_public=True does.
func (s *Service) ListFlavors(ctx context.Context, c Caller, f compute.FlavorFilter, scope FlavorScope) ([]compute.Flavor, error) {
	if !c.IsAdmin {
		scope = FlavorsPublic
	}
	pub, priv := true, false
	switch scope {
	case FlavorsDefault, FlavorsPublic:
		f.IsPublic, f.AccessProject = &pub, c.Creds.ProjectID
	case FlavorsPrivate:
		f.IsPublic = &priv
	case FlavorsAll:
		f.IsPublic = nil
	}
	fl, err := s.flavors.ListFlavors(ctx, f)
	if errors.Is(err, compute.ErrNotFound) {
		return nil, compute.Errorf(compute.ErrBadRequest, "marker [%s] not found", compute.Clip(f.Marker))
	}
	return fl, err
}

// visibleFlavor returns a flavor the caller may see and use: a public one,
// or a private one its project was given access to; admins see all. Other
// private flavors are ErrNotFound, as if they did not exist.
func (s *Service) visibleFlavor(ctx context.Context, c Caller, id string) (compute.Flavor, error) {
	f, err := s.flavors.GetFlavor(ctx, id)
	if err != nil || f.IsPublic || c.IsAdmin {
		return f, err
	}
	projects, err := s.flavors.FlavorProjects(ctx, id)
	if err != nil {
		return compute.Flavor{}, err
	}
	if !slices.Contains(projects, c.Creds.ProjectID) {
		return compute.Flavor{}, fmt.Errorf("flavor %s: %w", id, compute.ErrNotFound)
	}
	return f, nil
}

// GetFlavor returns one flavor the caller may see (404 otherwise).
func (s *Service) GetFlavor(ctx context.Context, c Caller, id string) (compute.Flavor, error) {
	f, err := s.visibleFlavor(ctx, c, id)
	if errors.Is(err, compute.ErrNotFound) {
		return f, compute.Errorf(compute.ErrNotFound, "Flavor %s could not be found.", compute.Clip(id))
	}
	return f, err
}

// CreateFlavor adds a flavor (admin).
func (s *Service) CreateFlavor(ctx context.Context, c Caller, f compute.Flavor) (compute.Flavor, error) {
	if err := s.authorize(c, "os_compute_api:os-flavor-manage:create", nil); err != nil {
		return f, err
	}
	if err := checkFlavor(f); err != nil {
		return f, err
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

// ExtraSpec returns one extra spec of a flavor.
func (s *Service) ExtraSpec(ctx context.Context, c Caller, id, key string) (string, error) {
	if err := s.authorize(c, "os_compute_api:os-flavor-extra-specs:show", nil); err != nil {
		return "", err
	}
	if _, err := s.GetFlavor(ctx, c, id); err != nil {
		return "", err
	}
	specs, err := s.flavors.ExtraSpecs(ctx, id)
	if err != nil {
		return "", err
	}
	v, ok := specs[key]
	if !ok {
		return "", compute.Errorf(compute.ErrNotFound, "Flavor %s has no extra specs with key %s.", compute.Clip(id), compute.Clip(key))
	}
	return v, nil
}

// CreateExtraSpecs adds or overwrites extra specs (admin; POST
// .../os-extra_specs).
func (s *Service) CreateExtraSpecs(ctx context.Context, c Caller, id string, specs map[string]string) error {
	return s.setExtraSpecs(ctx, c, id, "os_compute_api:os-flavor-extra-specs:create", specs)
}

// UpdateExtraSpec sets one extra spec (admin; PUT .../os-extra_specs/{key}).
func (s *Service) UpdateExtraSpec(ctx context.Context, c Caller, id, key, value string) error {
	return s.setExtraSpecs(ctx, c, id, "os_compute_api:os-flavor-extra-specs:update", map[string]string{key: value})
}

// setExtraSpecs adds or updates extra specs under rule, the policy rule
// of the call.
func (s *Service) setExtraSpecs(ctx context.Context, c Caller, id, rule string, specs map[string]string) error {
	if err := s.authorize(c, rule, nil); err != nil {
		return err
	}
	for k, v := range specs {
		if !metadataKeyPattern.MatchString(k) {
			return invalid("extra_specs", "Keys are 1 to 255 of a-z, A-Z, 0-9, space and -_:. (%q was unexpected).", compute.Clip(k))
		}
		if n := utf8.RuneCountInString(v); n > maxNameLen {
			return invalid("extra_specs/"+k, "The value is too long (%d characters, at most %d).", n, maxNameLen)
		}
	}
	if _, err := s.GetFlavor(ctx, c, id); err != nil {
		return err
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

// Nova's bounds on flavor fields (its flavor schema; the database's INT
// and single-precision FLOAT).
const (
	maxFlavorInt  = 0x7FFFFFFF
	maxRxTxFactor = 3.40282e+38
)

// flavorIDPattern is Nova's flavor id: letters, digits, ". _-", no
// leading or trailing space (checked apart: Go's regexp has no lookaround).
var flavorIDPattern = regexp.MustCompile(`^[a-zA-Z0-9. _-]{1,255}$`)

// checkFlavor refuses what Nova's flavor schema refuses (400).
func checkFlavor(f compute.Flavor) error {
	if err := checkName("name", f.Name); err != nil {
		return err
	}
	for _, v := range []struct {
		field    string
		val, min int
	}{{"ram", f.RAM, 1}, {"vcpus", f.VCPUs, 1}, {"disk", f.Disk, 0}, {"swap", f.Swap, 0}, {"OS-FLV-EXT-DATA:ephemeral", f.Ephemeral, 0}} {
		if v.val < v.min {
			return invalid(v.field, "Value: %d. %d is less than the minimum of %d", v.val, v.val, v.min)
		}
		if v.val > maxFlavorInt {
			return invalid(v.field, "Value: %d. %d is greater than the maximum of %d", v.val, v.val, maxFlavorInt)
		}
	}
	if !(f.RxTxFactor > 0 && f.RxTxFactor <= maxRxTxFactor) {
		return invalid("rxtx_factor", "It must be greater than 0 and at most %g.", maxRxTxFactor)
	}
	if f.ID != "" && (!flavorIDPattern.MatchString(f.ID) || strings.HasPrefix(f.ID, " ") || strings.HasSuffix(f.ID, " ")) {
		return invalid("id", "Value: %q. Flavor ids are 1 to 255 of a-z, A-Z, 0-9 and \". _-\", not starting or ending with a space.", compute.Clip(f.ID))
	}
	return nil
}

// UpdateFlavorDescription replaces a flavor's description (admin;
// microversion 2.55's PUT /flavors/{id}); nil removes it.
func (s *Service) UpdateFlavorDescription(ctx context.Context, c Caller, id string, description *string) (compute.Flavor, error) {
	if err := s.authorize(c, "os_compute_api:os-flavor-manage:update", nil); err != nil {
		return compute.Flavor{}, err
	}
	if _, err := s.GetFlavor(ctx, c, id); err != nil {
		return compute.Flavor{}, err
	}
	if err := s.flavors.SetFlavorDescription(ctx, id, description); err != nil {
		return compute.Flavor{}, err
	}
	return s.GetFlavor(ctx, c, id)
}

// EmbeddedExtraSpecs returns a flavor's extra specs for a flavor view
// (microversion 2.61), and false when the caller may not see them (Nova's
// os-flavor-extra-specs:index rule, checked without failing the request).
func (s *Service) EmbeddedExtraSpecs(ctx context.Context, c Caller, id string) (map[string]string, bool, error) {
	if s.authorize(c, "os_compute_api:os-flavor-extra-specs:index", nil) != nil {
		return nil, false, nil
	}
	specs, err := s.flavors.ExtraSpecs(ctx, id)
	return specs, err == nil, err
}
