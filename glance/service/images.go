package service

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"imagestack/glance"
	"imagestack/policy"
)

// Create registers a new queued image: n is validated by the image schema
// (glance.NewImage.Apply), then checked against the quotas and the policy.
func (s *Service) Create(ctx context.Context, c Caller, n glance.NewImage) (*glance.Image, error) {
	now := s.stamp()
	owner := c.Project()
	im := &glance.Image{Status: glance.StatusQueued, Visibility: glance.VisibilityShared, CreatedAt: now, UpdatedAt: now,
		Tags: []string{}, Properties: map[string]string{}}
	if owner != "" {
		im.Owner = &owner
	}
	if err := n.Apply(im); err != nil {
		return nil, err
	}
	if err := checkQuotas(im); err != nil {
		return nil, err
	}
	if im.ID == "" {
		im.ID = uuid.NewString()
	}
	target := policy.Target{"project_id": c.Project(), "owner": im.OwnerID(), "visibility": im.Visibility}
	if !s.authz.Enforce("add_image", target, c.Creds) {
		return nil, glance.Errorf(glance.ErrForbidden, "You are not authorized to create this image.")
	}
	if err := s.checkVisibilityChange(c, targetFor(c, im, false)); err != nil {
		return nil, err
	}
	if err := s.quotas.enforce(ctx, im.OwnerID(), glance.LimitImageCountTotal, 1); err != nil {
		return nil, err
	}
	if err := s.repo.Create(ctx, im); err != nil {
		if errors.Is(err, glance.ErrConflict) {
			return nil, glance.Errorf(glance.ErrConflict, "An image with identifier %s already exists", im.ID)
		}
		return nil, err
	}
	return im, nil
}

// checkVisibilityChange applies publicize_image / communitize_image to the
// target of an image with its new visibility.
func (s *Service) checkVisibilityChange(c Caller, t policy.Target) error {
	switch t["visibility"] {
	case glance.VisibilityPublic:
		return s.authorize(c, "publicize_image", t, "publicize images")
	case glance.VisibilityCommunity:
		return s.authorize(c, "communitize_image", t, "communitize images")
	}
	return nil
}

// Get returns an image the caller may see.
func (s *Service) Get(ctx context.Context, c Caller, id string) (*glance.Image, error) {
	im, err := s.load(ctx, c, id)
	if err != nil {
		return nil, err
	}
	return im.Image, nil
}

// List returns one page of the images the caller may see.
func (s *Service) List(ctx context.Context, c Caller, q glance.ListQuery) ([]*glance.Image, error) {
	if !s.authz.Enforce("get_images", policy.Target{"project_id": c.Project()}, c.Creds) {
		return nil, glance.Errorf(glance.ErrForbidden, "You are not authorized to list images.")
	}
	q.ProjectID, q.IsAdmin = c.Project(), c.IsAdmin
	if q.Marker != "" {
		// Any image the caller may GET is a valid marker, as in Glance.
		if _, err := s.load(ctx, c, q.Marker); err != nil {
			if errors.Is(err, glance.ErrNotFound) {
				return nil, glance.Errorf(glance.ErrBadRequest, "No image found with ID %s", q.Marker)
			}
			return nil, err
		}
	}
	ims, err := s.repo.List(ctx, q)
	if errors.Is(err, glance.ErrNotFound) && q.Marker != "" {
		return nil, glance.Errorf(glance.ErrBadRequest, "No image found with ID %s", q.Marker)
	}
	return ims, err
}

// Delete removes an image and its data.
func (s *Service) Delete(ctx context.Context, c Caller, id string) error {
	im, err := s.load(ctx, c, id)
	if err != nil {
		return err
	}
	if err := s.authorize(c, "delete_image", im.target(c), "delete this image"); err != nil {
		return err
	}
	if im.Protected {
		return glance.Errorf(glance.ErrForbidden, "Image %s is protected and cannot be deleted.", id)
	}
	if im.Status == glance.StatusSaving || im.Status == glance.StatusImporting {
		// The uploader owns the blob until it finishes; it cleans up when it
		// finds the image gone.
		s.log.InfoContext(ctx, "deleting an image while its data is being written", "image", id)
	}
	if err := s.storesReachable(ctx, im.Image); err != nil {
		return err
	}
	if err := s.repo.Delete(ctx, id); err != nil {
		return err
	}
	s.uncache(id)
	for _, l := range im.Locations {
		s.removeBlob(ctx, l.Store, im.BlobKey)
	}
	// Again once the data is gone: a download that loaded the image before
	// the delete may have started a cache fill since, reading the data
	// before it went; a fill started from now on finds no data.
	s.uncache(id)
	if im.Status == glance.StatusUploading && s.staging != nil {
		// Staged data waits for an import that can no longer come. (A
		// stage still writing finds the image gone and removes it too.)
		if err := s.staging.Delete(context.WithoutCancel(ctx), id); err != nil && !isNotFound(err) {
			s.log.WarnContext(ctx, "could not remove the staged data of a deleted image", "image", id, "err", err)
		}
	}
	return nil
}

// Deactivate and Reactivate toggle an active image's data availability.
func (s *Service) Deactivate(ctx context.Context, c Caller, id string) error {
	return s.toggle(ctx, c, id, "deactivate", glance.StatusActive, glance.StatusDeactivated)
}

// Reactivate makes a deactivated image active again.
func (s *Service) Reactivate(ctx context.Context, c Caller, id string) error {
	return s.toggle(ctx, c, id, "reactivate", glance.StatusDeactivated, glance.StatusActive)
}

func (s *Service) toggle(ctx context.Context, c Caller, id, rule, from, to string) error {
	im, err := s.load(ctx, c, id)
	if err != nil {
		return err
	}
	if err := s.authorize(c, rule, im.target(c), rule+" this image"); err != nil {
		return err
	}
	if im.Status == to {
		return nil // Glance treats a repeated (de)activation as success
	}
	if im.Status != from {
		return glance.Errorf(glance.ErrForbidden, "Not allowed to %s image in status '%s'", rule, im.Status)
	}
	_, err = s.transition(ctx, id, from, func(im *glance.Image) error { im.Status = to; return nil })
	if err == nil && to == glance.StatusDeactivated {
		s.uncache(id)
	}
	if errors.Is(err, glance.ErrConflict) {
		return glance.Errorf(glance.ErrConflict, "Image %s changed state meanwhile; retry.", id)
	}
	return err
}

// AddTag adds one tag (idempotent).
func (s *Service) AddTag(ctx context.Context, c Caller, id, tag string) error {
	if err := glance.CheckTag(tag); err != nil {
		return err
	}
	return s.modify(ctx, c, id, func(im *glance.Image) error {
		if !slices.Contains(im.Tags, tag) {
			im.Tags = append(im.Tags, tag)
			slices.Sort(im.Tags)
		}
		return nil
	})
}

// DeleteTag removes one tag; ErrNotFound when absent.
func (s *Service) DeleteTag(ctx context.Context, c Caller, id, tag string) error {
	return s.modify(ctx, c, id, func(im *glance.Image) error {
		i := slices.Index(im.Tags, tag)
		if i < 0 {
			return glance.Errorf(glance.ErrNotFound, "Tag %s not found", tag)
		}
		im.Tags = slices.Delete(im.Tags, i, i+1)
		return nil
	})
}

// modify loads, authorizes modify_image, applies change to the image's
// current state and saves it.
func (s *Service) modify(ctx context.Context, c Caller, id string, change func(*glance.Image) error) error {
	im, err := s.load(ctx, c, id)
	if err != nil {
		return err
	}
	if err := s.authorize(c, "modify_image", im.target(c), "modify this image"); err != nil {
		return err
	}
	_, err = s.update(ctx, id, func(next *glance.Image) error {
		if err := change(next); err != nil {
			return err
		}
		return checkQuotas(next)
	})
	return err
}

// update applies change to the image's current state and stores it with a
// new updated_at (see glance.Repository.Update); a vanished image is 404.
func (s *Service) update(ctx context.Context, id string, change func(*glance.Image) error) (*glance.Image, error) {
	im, err := s.repo.Update(ctx, id, func(im *glance.Image) error {
		if err := change(im); err != nil {
			return err
		}
		im.UpdatedAt = s.stamp()
		return nil
	})
	if errors.Is(err, glance.ErrNotFound) {
		var ge *glance.Error
		if !errors.As(err, &ge) {
			return nil, glance.Errorf(glance.ErrNotFound, "No image found with ID %s", id)
		}
	}
	return im, err
}

// transition is update for an image that must still be in status from:
// ErrConflict (naming the status found) when it is not.
func (s *Service) transition(ctx context.Context, id, from string, change func(*glance.Image) error) (*glance.Image, error) {
	return s.update(ctx, id, func(im *glance.Image) error {
		if im.Status != from {
			return fmt.Errorf("image %s is %s, not %s: %w", id, im.Status, from, glance.ErrConflict)
		}
		return change(im)
	})
}
