package service

import (
	"context"
	"errors"
	"io"

	"imagestack/common/iox"
	"imagestack/glance"
)

// Stage stores data for a later glance-direct import: queued -> uploading.
func (s *Service) Stage(ctx context.Context, c Caller, id string, body io.Reader) error {
	if s.staging == nil {
		return glance.Errorf(glance.ErrNotFound, "The image import API is not enabled.")
	}
	im, err := s.load(ctx, c, id)
	if err != nil {
		return err
	}
	if err := s.authorize(c, "upload_image", im.target(c), "stage data for this image"); err != nil {
		return err
	}
	if im.Status != glance.StatusQueued {
		return glance.Errorf(glance.ErrConflict, "Image status transition from %s to uploading is not allowed", im.Status)
	}
	release, err := s.uploadSlot()
	if err != nil {
		return err
	}
	defer release()
	m, err := s.quotas.startMeter(ctx, im.OwnerID(), glance.LimitImageStageTotal)
	if err != nil {
		return err
	}
	err = s.stageMetered(ctx, im, body, m)
	m.done(err == nil)
	return err
}

// stageMetered is Stage's part after the checks: queued -> uploading, the
// data streams through m (nil: no byte limit) into the staging area.
func (s *Service) stageMetered(ctx context.Context, im *loaded, body io.Reader, m *meter) error {
	id := im.ID
	release, err := s.hold(ctx, glance.LeaseStage, id, "")
	defer release()
	if err == nil {
		_, err = s.transition(ctx, id, glance.StatusQueued, func(im *glance.Image) error {
			im.Status = glance.StatusUploading
			return nil
		})
	}
	if errors.Is(err, glance.ErrConflict) {
		return glance.Errorf(glance.ErrConflict, "Image %s is already receiving data", id)
	}
	if err != nil {
		return err
	}
	err = s.quotas.enforce(ctx, im.OwnerID(), glance.LimitImageCountUploading, 0)
	if err == nil {
		_ = s.staging.Delete(ctx, id) // leftovers of an earlier failed attempt
		body, err = iox.FirstByte(m.reader(body))
	}
	var n int64
	if err == nil {
		// Checked as it arrives, so unsafe data is refused at once rather
		// than at import; the import checks it again.
		n, err = s.staging.Put(ctx, id, newInspectingReader(&capReader{r: body, max: s.cfg.SizeCap}, s.stageCheck(im.Image)))
	}
	if err == nil {
		// Glance shows the staged size while the image waits for import.
		_, err = s.transition(ctx, id, glance.StatusUploading, func(im *glance.Image) error { im.Size = &n; return nil })
	}
	if err != nil {
		ctx := context.WithoutCancel(ctx)
		_ = s.staging.Delete(ctx, id)
		_, terr := s.transition(ctx, id, glance.StatusUploading, func(im *glance.Image) error {
			im.Status, im.Size = glance.StatusQueued, nil
			return nil
		})
		if terr != nil && !errors.Is(terr, glance.ErrNotFound) {
			s.log.ErrorContext(ctx, "could not return image to queued after a failed stage", "image", id, "err", terr)
		}
		return uploadError(m.quotaError(err), s.cfg.SizeCap)
	}
	return nil
}
