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
}

// Update applies a PATCH with Glance's semantics and returns the new image.
func (s *Service) Update(ctx context.Context, c Caller, id string, ops []PatchOp) (*glance.Image, error) {
	im, err := s.load(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(c, "modify_image", im.target(c), "modify this image"); err != nil {
		return nil, err
	}
	next := im.Clone()
	for _, op := range ops {
		if err := s.applyOp(next, im.Image, op, c); err != nil {
			return nil, err
		}
	}
	if next.Visibility != im.Visibility {
		if err := s.checkVisibilityChange(c, targetFor(c, next, im.member)); err != nil {
			return nil, err
		}
	}
	if err := checkQuotas(next); err != nil {
		return nil, err
	}
	if touchesOwner(ops) && !c.IsAdmin {
		return nil, glance.Errorf(glance.ErrForbidden, "You are not permitted to modify 'owner' on this image.")
	}
	next.UpdatedAt = s.stamp()
	if err := s.saveOrConflict(ctx, next); err != nil {
		return nil, err
	}
	return next, nil
}

// applyOp applies one operation to next (orig is the image before the PATCH).
func (s *Service) applyOp(next, orig *glance.Image, op PatchOp, c Caller) error {
	name := op.Path
	if name == "id" || glance.IsForbidden(name) {
		return forbiddenAttribute(name)
	}
	if (name == "container_format" || name == "disk_format") && op.Op != "remove" &&
		orig.Status != glance.StatusQueued && orig.Status != glance.StatusImporting {
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
		if op.V20 && (glance.IsCore(name) || exists) {
			return glance.Errorf(glance.ErrConflict, "Property %s already present.", name)
		}
		return setProperty(next, name, op.Value)
	case "replace":
		if !glance.IsCore(name) && !exists {
			return glance.Errorf(glance.ErrConflict, "Property %s does not exist.", name)
		}
		return setProperty(next, name, op.Value)
	case "remove":
		if glance.IsCore(name) {
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

// touchesOwner reports whether a PATCH writes the owner (admins only, even
// when the value does not change, as in Glance).
func touchesOwner(ops []PatchOp) bool {
	for _, op := range ops {
		if op.Path == "owner" {
			return true
		}
	}
	return false
}
