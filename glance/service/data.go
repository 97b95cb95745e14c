package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"imagestack/glance"
	"imagestack/storage"
)

func isNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }

// errTooLarge marks a body that went past the size cap.
var errTooLarge = errors.New("image exceeds the size cap")

// capReader fails as soon as more than max bytes have been read, so at most
// max plus one read buffer is ever consumed. The failure is sticky: callers
// that retry (io.ReadFull) get it again instead of more data.
type capReader struct {
	r   io.Reader
	n   int64
	max int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.n > c.max {
		return 0, errTooLarge
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.max {
		return 0, errTooLarge
	}
	return n, err
}

func blobKey(imageID string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return imageID + "-" + hex.EncodeToString(b[:])
}

// Upload streams body into the image's data: queued -> saving -> active. Any
// failure (client gone, cap exceeded, store error, rejected format) returns
// the image to queued with no data left behind. Of two concurrent uploads
// exactly one proceeds; the other gets ErrConflict.
func (s *Service) Upload(ctx context.Context, c Caller, id string, body io.Reader) (*glance.Image, error) {
	im, err := s.load(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(c, "upload_image", im.target(c), "upload data to this image"); err != nil {
		return nil, err
	}
	if im.Status != glance.StatusQueued {
		return nil, glance.Errorf(glance.ErrConflict, "Image status transition from %s to saving is not allowed", im.Status)
	}
	if im.DiskFormat == nil || im.ContainerFormat == nil {
		return nil, glance.Errorf(glance.ErrBadRequest, "Properties disk_format, container_format must be set prior to saving data.")
	}
	saving := im.Clone()
	saving.Status, saving.BlobKey, saving.UpdatedAt = glance.StatusSaving, blobKey(id), s.stamp()
	if err := s.repo.Transition(ctx, glance.StatusQueued, saving); err != nil {
		if errors.Is(err, glance.ErrConflict) {
			return nil, glance.Errorf(glance.ErrConflict, "Image %s is already receiving data", id)
		}
		return nil, err
	}
	return s.storeData(ctx, saving, body)
}

// storeData streams body into the blob of an image already moved to saving
// or importing (with its BlobKey chosen), hashing and inspecting on the way,
// and activates it. Any failure returns the image to queued with no data left.
func (s *Service) storeData(ctx context.Context, cur *glance.Image, body io.Reader) (*glance.Image, error) {
	dr := newDigestReader(&capReader{r: body, max: s.cfg.SizeCap})
	size, err := s.store.Put(ctx, cur.BlobKey, dr)
	md5sum, sha := dr.Sums()
	if err == nil {
		err = inspect(dr.head, size, cur)
	}
	if err != nil {
		s.abortUpload(ctx, cur)
		return nil, uploadError(err, s.cfg.SizeCap)
	}
	active := cur.Clone()
	algo := "sha512"
	active.Status, active.Size, active.Checksum, active.OSHashAlgo, active.OSHashValue, active.UpdatedAt =
		glance.StatusActive, &size, &md5sum, &algo, &sha, s.stamp()
	if err := s.repo.Transition(ctx, cur.Status, active); err != nil {
		s.removeBlob(ctx, cur.BlobKey)
		if errors.Is(err, glance.ErrNotFound) || errors.Is(err, glance.ErrConflict) {
			return nil, glance.Errorf(glance.ErrGone, "Image %s was deleted during the upload", cur.ID)
		}
		return nil, err
	}
	return active, nil
}

// abortUpload puts the image back to queued and removes any data, even when
// the request's context is already cancelled.
func (s *Service) abortUpload(ctx context.Context, cur *glance.Image) {
	ctx = context.WithoutCancel(ctx)
	s.removeBlob(ctx, cur.BlobKey)
	queued := cur.Clone()
	queued.Status, queued.BlobKey, queued.UpdatedAt = glance.StatusQueued, "", s.stamp()
	delete(queued.Properties, "os_glance_importing_to_stores")
	if err := s.repo.Transition(ctx, cur.Status, queued); err != nil && !errors.Is(err, glance.ErrNotFound) {
		s.log.Error("could not return image to queued after a failed upload", "image", cur.ID, "err", err)
	}
}

// uploadError maps what went wrong during an upload to the client's answer.
func uploadError(err error, limit int64) error {
	var ge *glance.Error
	switch {
	case errors.As(err, &ge):
		return err
	case errors.Is(err, errTooLarge):
		return glance.Errorf(glance.ErrTooLarge, "Image exceeds the storage quota: the size cap is %d bytes.", limit)
	case errors.Is(err, storage.ErrFull):
		return glance.Errorf(glance.ErrTooLarge, "Image storage media is full.")
	case errors.Is(err, storage.ErrUnavailable):
		return glance.Errorf(glance.ErrUnavailable, "The image store is unavailable; try again later.")
	case errors.Is(err, context.Canceled), errors.Is(err, io.ErrUnexpectedEOF):
		return glance.Errorf(glance.ErrBadRequest, "The upload was interrupted: %v", err)
	}
	return fmt.Errorf("upload: %w", err)
}

// Downloadable returns the image when the caller may download its data
// (download_image; deactivated images only for admins).
func (s *Service) Downloadable(ctx context.Context, c Caller, id string) (*glance.Image, error) {
	im, err := s.load(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(c, "download_image", im.target(c), "download this image"); err != nil {
		return nil, err
	}
	if im.Status == glance.StatusDeactivated && !c.IsAdmin {
		return nil, glance.Errorf(glance.ErrForbidden, "The requested image has been deactivated. Image data download is forbidden.")
	}
	return im.Image, nil
}

// HasData reports whether im has stored data to read.
func HasData(im *glance.Image) bool {
	return (im.Status == glance.StatusActive || im.Status == glance.StatusDeactivated) && im.BlobKey != "" && im.Size != nil
}

// ReadData opens length bytes of im's data from offset (length < 0: to the end).
func (s *Service) ReadData(ctx context.Context, im *glance.Image, offset, length int64) (io.ReadCloser, error) {
	rc, err := s.store.Get(ctx, im.BlobKey, offset, length)
	switch {
	case err == nil:
		return rc, nil
	case isNotFound(err):
		s.log.Error("data of an active image is missing from the store", "image", im.ID, "key", im.BlobKey)
		return nil, glance.Errorf(glance.ErrNotFound, "Image data for %s is missing from the store.", im.ID)
	case errors.Is(err, storage.ErrUnavailable):
		return nil, glance.Errorf(glance.ErrUnavailable, "The image store is unavailable; try again later.")
	}
	return nil, err
}

// RecoverInterrupted returns images a crash left in saving or importing to
// queued and removes their partial (and, for imports, staged) data. Run it at start-up, before serving.
func (s *Service) RecoverInterrupted(ctx context.Context) (int, error) {
	// Staged images (uploading) wait for their import and keep their data.
	ims, err := s.repo.ListByStatus(ctx, glance.StatusSaving, glance.StatusImporting)
	if err != nil {
		return 0, err
	}
	for _, im := range ims {
		if s.staging != nil {
			s.staging.Delete(ctx, im.ID)
		}
		s.abortUpload(ctx, im)
		s.log.Warn("upload interrupted by a restart; image returned to queued", "image", im.ID)
	}
	return len(ims), nil
}
