package service

import (
	"context"
	"errors"
	"slices"

	"imagestack/glance"
	"imagestack/policy"
)

// memberTarget adds the member being acted on to the image's policy target.
func memberTarget(c Caller, im *loaded, memberID string) policy.Target {
	t := im.target(c)
	if memberID != "" {
		t["member_id"] = memberID
	}
	return t
}

// AddMember shares an image with a project (pending until it accepts).
func (s *Service) AddMember(ctx context.Context, c Caller, id, memberID string) (glance.Member, error) {
	im, err := s.load(ctx, c, id)
	if err != nil {
		return glance.Member{}, err
	}
	if !s.authz.Enforce("add_member", im.target(c), c.Creds) || (!c.IsAdmin && im.OwnerID() != c.Project()) {
		return glance.Member{}, glance.Errorf(glance.ErrForbidden, "You are not authorized to add members to image %s.", id)
	}
	if im.Visibility != glance.VisibilityShared {
		return glance.Member{}, glance.Errorf(glance.ErrForbidden, "Only shared images have members.")
	}
	if memberID == "" || len(memberID) > 255 {
		return glance.Member{}, glance.Errorf(glance.ErrBadRequest, "Invalid member id %q", memberID)
	}
	if existing, err := s.repo.ListMembers(ctx, id); err != nil {
		return glance.Member{}, err
	} else if len(existing) >= maxMembers {
		return glance.Member{}, glance.Errorf(glance.ErrTooLarge, "Attempted: %d, Maximum: %d: the image has too many members.", len(existing)+1, maxMembers)
	}
	now := s.stamp()
	m := glance.Member{ImageID: id, MemberID: memberID, Status: glance.MemberPending, CreatedAt: now, UpdatedAt: now}
	if err := s.repo.AddMember(ctx, m); err != nil {
		if errors.Is(err, glance.ErrConflict) {
			return glance.Member{}, glance.Errorf(glance.ErrConflict, "Member %s already associated with image %s.", memberID, id)
		}
		return glance.Member{}, err
	}
	return m, nil
}

// ListMembers lists an image's members: all of them for the owner, only its
// own membership for a member.
func (s *Service) ListMembers(ctx context.Context, c Caller, id string) ([]glance.Member, error) {
	im, err := s.load(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if !s.authz.Enforce("get_members", im.target(c), c.Creds) {
		return nil, glance.Errorf(glance.ErrForbidden, "You are not authorized to list members of image %s.", id)
	}
	if im.Visibility != glance.VisibilityShared {
		return nil, glance.Errorf(glance.ErrForbidden, "Only shared images have members.")
	}
	ms, err := s.repo.ListMembers(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.IsAdmin || im.OwnerID() == c.Project() {
		return ms, nil
	}
	return slices.DeleteFunc(ms, func(m glance.Member) bool { return m.MemberID != c.Project() }), nil
}

// GetMember shows one membership to the owner or to that member.
func (s *Service) GetMember(ctx context.Context, c Caller, id, memberID string) (glance.Member, error) {
	im, err := s.load(ctx, c, id)
	if err != nil {
		return glance.Member{}, err
	}
	notFound := glance.Errorf(glance.ErrNotFound, "Member %s not found for image %s.", memberID, id)
	if !c.IsAdmin && im.OwnerID() != c.Project() && memberID != c.Project() {
		return glance.Member{}, notFound
	}
	if !s.authz.Enforce("get_member", memberTarget(c, im, memberID), c.Creds) {
		return glance.Member{}, notFound
	}
	m, err := s.repo.GetMember(ctx, id, memberID)
	if errors.Is(err, glance.ErrNotFound) {
		return glance.Member{}, notFound
	}
	return m, err
}

// UpdateMember sets a membership's status; only the member itself (or an
// admin) may.
func (s *Service) UpdateMember(ctx context.Context, c Caller, id, memberID, status string) (glance.Member, error) {
	im, err := s.load(ctx, c, id)
	if err != nil {
		return glance.Member{}, err
	}
	if !slices.Contains([]string{glance.MemberPending, glance.MemberAccepted, glance.MemberRejected}, status) {
		return glance.Member{}, glance.Errorf(glance.ErrBadRequest, "Status %q is not valid: use pending, accepted or rejected.", status)
	}
	notFound := glance.Errorf(glance.ErrNotFound, "Member %s not found for image %s.", memberID, id)
	if !c.IsAdmin && im.OwnerID() != c.Project() && memberID != c.Project() {
		// A member may not learn which other projects share the image.
		return glance.Member{}, notFound
	}
	m, err := s.repo.GetMember(ctx, id, memberID)
	if errors.Is(err, glance.ErrNotFound) {
		return glance.Member{}, notFound
	}
	if err != nil {
		return glance.Member{}, err
	}
	if (memberID != c.Project() && !c.IsAdmin) || !s.authz.Enforce("modify_member", memberTarget(c, im, memberID), c.Creds) {
		return glance.Member{}, glance.Errorf(glance.ErrForbidden, "Only the member itself may change its membership status.")
	}
	m.Status, m.UpdatedAt = status, s.stamp()
	if err := s.repo.UpdateMember(ctx, m); err != nil {
		return glance.Member{}, err
	}
	return m, nil
}

// DeleteMember stops sharing an image with a project.
func (s *Service) DeleteMember(ctx context.Context, c Caller, id, memberID string) error {
	im, err := s.load(ctx, c, id)
	if err != nil {
		return err
	}
	if !s.authz.Enforce("delete_member", im.target(c), c.Creds) || (!c.IsAdmin && im.OwnerID() != c.Project()) {
		return glance.Errorf(glance.ErrForbidden, "You are not authorized to remove members of image %s.", id)
	}
	if err := s.repo.DeleteMember(ctx, id, memberID); err != nil {
		if errors.Is(err, glance.ErrNotFound) {
			return glance.Errorf(glance.ErrNotFound, "Member %s not found for image %s.", memberID, id)
		}
		return err
	}
	return nil
}
