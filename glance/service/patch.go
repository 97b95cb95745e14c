package service

import (
	"context"

	"imagestack/glance"
)

// PatchOp is one operation of an image PATCH, already parsed from either
// media type. Path is the attribute name (JSON-pointer decoded, depth 1).
type PatchOp struct {
	Op    string // add, replace or remove
	Path  string
	Value any  // decoded JSON; numbers as json.Number
	V20   bool // the deprecated v2.0 media type: add onto an existing property is a conflict
	// Path "locations" only: Pos is the pointer's index ("-" or a number;
	// add and remove), Locations the location added (one) or the new list
	// (replace).
	Pos       string
	Locations []LocationInput
}

// Update applies a PATCH with Glance's semantics and returns the new image.
// The operations apply to the image as it is when they are stored, so two
// concurrent PATCHes both take effect, one after the other. ifMatch, when
// not nil, is the client's If-Match: it says whether an image version may
// be changed (ErrPrecondition otherwise, and nothing changes).
func (s *Service) Update(ctx context.Context, c Caller, id string, ops []PatchOp, ifMatch func(version int64) bool) (*glance.Image, error) {
	im, err := s.load(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(c, "modify_image", im.target(c), "modify this image"); err != nil {
		return nil, err
	}
	if name := touchesAdminOnly(ops); name != "" && !c.IsAdmin {
		return nil, glance.Errorf(glance.ErrForbidden, "You are not permitted to modify '%s' on this image.", name)
	}
	if locs, rest := locationOps(ops); len(locs) > 0 {
		if ifMatch != nil && !ifMatch(im.Version) {
			return nil, glance.Errorf(glance.ErrPrecondition, "Image %s has changed since the version named in If-Match.", id)
		}
		if err := s.applyLocationOps(ctx, c, im, locs); err != nil {
			return nil, err
		}
		if ops, ifMatch = rest, nil; len(ops) == 0 {
			return s.repo.Get(ctx, id)
		}
	}
	return s.update(ctx, id, func(next *glance.Image) error {
		if ifMatch != nil && !ifMatch(next.Version) {
			return glance.Errorf(glance.ErrPrecondition, "Image %s has changed since the version named in If-Match.", id)
		}
		return s.applyOps(c, next, im.member, ops)
	})
}

// applyOps applies a PATCH's operations to next, the image's current state,
// with the checks that depend on the result.
func (s *Service) applyOps(c Caller, next *glance.Image, member bool, ops []PatchOp) error {
	orig := next.Clone()
	for _, op := range ops {
		if err := s.applyOp(next, orig, op, c); err != nil {
			return err
		}
	}
	if next.Visibility != orig.Visibility {
		if err := s.checkVisibilityChange(c, targetFor(c, next, member)); err != nil {
			return err
		}
	}
	return checkQuotas(next)
}

// applyOp applies one operation to next (orig is the image before the PATCH).
func (s *Service) applyOp(next, orig *glance.Image, op PatchOp, c Caller) error {
	name := op.Path
	attr := glance.AttributeOf(name)
	if attr.CreateOnly || attr.ReadOnly || attr.Reserved {
		return glance.ForbiddenAttribute(name)
	}
	// Formats describe data that is being (or was) inspected as that
	// format: they may change only before any data arrives. (Glance also
	// allows it while importing, where the new format would skip the
	// inspection that ran on the old one.)
	if attr.QueuedOnly && op.Op != "remove" && orig.Status != glance.StatusQueued {
		current := orig.DiskFormat
		if name == "container_format" {
			current = orig.ContainerFormat
		}
		if v, ok := op.Value.(string); !ok || current == nil || *current != v {
			return glance.Errorf(glance.ErrForbidden, "Attribute %s can be only replaced for a queued image.", name)
		}
	}
	_, exists := next.Properties[name]
	switch op.Op {
	case "add":
		// The deprecated v2.0 dialect: add never overwrites, and core
		// attributes always exist.
		if op.V20 && (attr.Core || exists) {
			return glance.Errorf(glance.ErrConflict, "Property %s already present.", name)
		}
		return glance.SetProperty(next, name, op.Value)
	case "replace":
		if !attr.Core && !exists {
			return glance.Errorf(glance.ErrConflict, "Property %s does not exist.", name)
		}
		return glance.SetProperty(next, name, op.Value)
	case "remove":
		if attr.Core {
			return glance.Errorf(glance.ErrForbidden, "Property %s may not be removed.", name)
		}
		if !exists {
			return glance.Errorf(glance.ErrConflict, "Property %s does not exist.", name)
		}
		delete(next.Properties, name)
		return nil
	}
	return glance.Errorf(glance.ErrBadRequest, "Invalid operation: %q", op.Op)
}

// touchesAdminOnly names the first admin-only attribute (the owner) a PATCH
// writes, even to the same value, as in Glance; "" when none.
func touchesAdminOnly(ops []PatchOp) string {
	for _, op := range ops {
		if glance.AttributeOf(op.Path).AdminOnly {
			return op.Path
		}
	}
	return ""
}
