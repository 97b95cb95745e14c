package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"imagestack/common/iox"
	"imagestack/glance"
	"imagestack/glance/webfetch"
	"imagestack/storage"
)

func isNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }

// errTooLarge marks a body that went past the size cap.
var errTooLarge = errors.New("image exceeds the size cap")

// capReader fails as soon as more than max bytes have been read. It never
// asks its source for more than one byte past max, so at most max+1 bytes
// are consumed, whatever the size of the reads. The failure is sticky:
// callers that retry get it again instead of more data.
type capReader struct {
	r   io.Reader
	n   int64
	max int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.n > c.max {
		return 0, errTooLarge
	}
	if room := c.max - c.n; room < int64(len(p)) {
		p = p[:room+1]
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
// exactly one proceeds; the other gets ErrConflict. store names the store
// to write to ("" for the default; ignored with a single store).
func (s *Service) Upload(ctx context.Context, c Caller, id string, body io.Reader, store string) (*glance.Image, error) {
	store, err := s.targetStore(store)
	if err != nil {
		return nil, err
	}
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
	release, err := s.uploadSlot()
	if err != nil {
		return nil, err
	}
	defer release()
	m, err := s.quotas.startMeter(ctx, im.OwnerID(), glance.LimitImageSizeTotal)
	if err != nil {
		return nil, err
	}
	active, err := s.uploadMetered(ctx, im, body, store, m)
	m.done(err == nil)
	return active, err
}

// uploadMetered is Upload's part after the checks: the image goes to saving,
// the data streams through m (nil: no byte limit) and the image is activated.
func (s *Service) uploadMetered(ctx context.Context, im *loaded, body io.Reader, store string, m *meter) (*glance.Image, error) {
	id := im.ID
	saving, release, err := s.startSaving(ctx, id)
	defer release()
	if errors.Is(err, glance.ErrConflict) {
		return nil, glance.Errorf(glance.ErrConflict, "Image %s is already receiving data", id)
	}
	if err != nil {
		return nil, err
	}
	if err := s.quotas.enforce(ctx, im.OwnerID(), glance.LimitImageCountUploading, 0); err != nil {
		s.abortUpload(ctx, saving)
		return nil, err
	}
	ready, err := s.writeData(ctx, saving, m.reader(body), store)
	if err != nil {
		return nil, m.quotaError(err)
	}
	return s.activate(ctx, saving, ready)
}

// startSaving takes the upload lease on a queued image and moves it to
// saving with a new blob key: ErrConflict when it is not queued or another
// upload holds the lease. release, never nil, drops the lease once the
// image has left saving (active, or back to queued).
func (s *Service) startSaving(ctx context.Context, id string) (saving *glance.Image, release func(), err error) {
	key := blobKey(id)
	if release, err = s.hold(ctx, glance.LeaseUpload, id, key); err != nil {
		return nil, release, err
	}
	saving, err = s.transition(ctx, id, glance.StatusQueued, func(cur *glance.Image) error {
		if cur.DiskFormat == nil || cur.ContainerFormat == nil {
			return glance.Errorf(glance.ErrBadRequest, "Properties disk_format, container_format must be set prior to saving data.")
		}
		cur.Status, cur.BlobKey = glance.StatusSaving, key
		return nil
	})
	return saving, release, err
}

// uploadSlot takes one of the MaxConcurrentUploads slots for a client's
// upload or stage: every upload in progress holds buffers (about 24 MiB into
// a file store), so past the limit clients are told to come back (503 with
// Retry-After) rather than let memory grow with their number.
func (s *Service) uploadSlot() (release func(), err error) {
	select {
	case s.uploads <- struct{}{}:
		return func() { <-s.uploads }, nil
	default:
		return nil, glance.Errorf(glance.ErrUnavailable, "Too many image uploads are in progress (at most %d); try again later.", cap(s.uploads))
	}
}

// waitUploadSlot waits for an upload slot for work that runs in the
// background (imports, copies): they queue instead of being refused.
func (s *Service) waitUploadSlot() (release func()) {
	s.uploads <- struct{}{}
	return func() { <-s.uploads }
}

// writeData streams body into store as the blob of an image already moved
// to saving or importing (with its BlobKey chosen), hashing and inspecting
// on the way. It returns cur with the new location (pending), size and
// hashes filled in, not yet saved. Any failure returns the image to queued
// with no data left.
func (s *Service) writeData(ctx context.Context, cur *glance.Image, body io.Reader, store string) (*glance.Image, error) {
	if err := s.repo.AddLocation(ctx, cur.ID, store, glance.LocationPending); err != nil {
		s.abortUpload(ctx, cur)
		if errors.Is(err, glance.ErrNotFound) {
			return nil, glance.Errorf(glance.ErrGone, "Image %s was deleted during the upload", cur.ID)
		}
		return nil, err
	}
	cur = cur.Clone()
	cur.Locations = append(cur.Locations, glance.Location{Store: store, Status: glance.LocationPending})
	body, err := iox.FirstByte(body)
	if err != nil {
		s.abortUpload(ctx, cur)
		return nil, uploadError(err, s.cfg.SizeCap)
	}
	ir := newInspectingReader(&capReader{r: body, max: s.cfg.SizeCap}, s.dataCheck(cur))
	dr := newDigestReader(ir)
	size, err := s.stores.byID[store].Put(ctx, cur.BlobKey, dr)
	md5sum, sha := dr.Sums()
	if err != nil {
		if errors.Is(err, storage.ErrUnavailable) {
			s.abortWithoutStore(ctx, cur)
		} else {
			s.abortUpload(ctx, cur)
		}
		return nil, uploadError(err, s.cfg.SizeCap)
	}
	algo := "sha512"
	cur.Size, cur.Checksum, cur.OSHashAlgo, cur.OSHashValue = &size, &md5sum, &algo, &sha
	cur.VirtualSize = virtualSize(cur, ir.info)
	return cur, nil
}

// activate marks the pending locations of ready active and moves the image
// from cur's status to active with ready's size and hashes, keeping what
// else changed on the image meanwhile (properties edited during an import).
// When the image was deleted meanwhile, its data goes too; when its formats
// changed, the data (inspected as the old format) is refused.
func (s *Service) activate(ctx context.Context, cur, ready *glance.Image) (*glance.Image, error) {
	return s.activateWith(ctx, cur, ready, nil)
}

// activateWith is activate that also applies edit (when not nil) to the
// image as it becomes active: the import plugins' changes.
func (s *Service) activateWith(ctx context.Context, cur, ready *glance.Image, edit func(*glance.Image)) (*glance.Image, error) {
	var err error
	for _, l := range ready.Locations {
		if l.Status == glance.LocationPending && err == nil {
			err = s.repo.SetLocationStatus(ctx, cur.ID, l.Store, glance.LocationActive)
		}
	}
	var active *glance.Image
	if err == nil {
		active, err = s.transition(ctx, cur.ID, cur.Status, func(im *glance.Image) error {
			if !sameFormats(im, cur) {
				return glance.Errorf(glance.ErrConflict, "The image's disk or container format changed while its data was written; upload again.")
			}
			im.Status = glance.StatusActive
			im.Size, im.VirtualSize, im.Checksum = ready.Size, ready.VirtualSize, ready.Checksum
			im.OSHashAlgo, im.OSHashValue = ready.OSHashAlgo, ready.OSHashValue
			if edit != nil {
				edit(im)
			}
			return nil
		})
	}
	if err != nil {
		if isOutage(err) {
			// Undoing needs the same database: the client is answered
			// now, the image follows once the database is back.
			go s.abortUpload(context.WithoutCancel(ctx), ready)
		} else {
			s.abortUpload(ctx, ready)
		}
		var ge *glance.Error
		if errors.As(err, &ge) {
			return nil, err
		}
		if errors.Is(err, glance.ErrNotFound) || errors.Is(err, glance.ErrConflict) {
			return nil, glance.Errorf(glance.ErrGone, "Image %s was deleted during the upload", cur.ID)
		}
		return nil, err
	}
	return active, nil
}

// sameFormats reports whether a and b declare the same disk and container formats.
func sameFormats(a, b *glance.Image) bool {
	eq := func(x, y *string) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return eq(a.DiskFormat, b.DiskFormat) && eq(a.ContainerFormat, b.ContainerFormat)
}

// abortUpload puts the image back to queued and removes its data and
// locations, even when the request's context is already cancelled.
// While the database or a store is out of reach (the likely reason the
// upload failed), this goes on in the background until they answer again.
func (s *Service) abortUpload(ctx context.Context, cur *glance.Image) {
	s.untilReachable(ctx, "return image "+cur.ID+" to queued after a failed upload", func(ctx context.Context) error {
		return s.undoUpload(ctx, cur, true)
	})
}

// abortWithoutStore is abortUpload after the store itself failed to answer:
// asking it again now would make the client wait for its timeouts once
// more, so the image returns to queued at once and its data is removed in
// the background once the store answers.
func (s *Service) abortWithoutStore(ctx context.Context, cur *glance.Image) {
	s.untilReachable(ctx, "return image "+cur.ID+" to queued after a failed upload", func(ctx context.Context) error {
		return s.undoUpload(ctx, cur, false)
	})
}

// undoUpload removes the data first (unless storesNow is false), then the
// locations, then returns the image to queued, so that a partial run (or a
// crash) leaves the image in cur.Status with its locations for the next
// attempt (or start-up) to see. Data on a store that is out of reach does
// not hold the image back: it returns to queued (the client may upload
// again at once, as with Glance) and that data is removed in the background
// once the store answers.
func (s *Service) undoUpload(ctx context.Context, cur *glance.Image, storesNow bool) error {
	stores := make([]string, 0, len(cur.Locations))
	for _, l := range cur.Locations {
		stores = append(stores, l.Store)
	}
	if len(stores) == 0 { // written before locations were recorded
		stores = append(stores, s.stores.defaultStore)
	}
	later := stores
	if storesNow {
		later = nil
		for _, st := range stores {
			if err := s.deleteBlob(ctx, st, cur.BlobKey); err != nil {
				later = append(later, st)
			}
		}
	}
	if err := s.returnToQueued(ctx, cur); err != nil {
		return err
	}
	for _, st := range later {
		go s.removeBlob(ctx, st, cur.BlobKey)
	}
	return nil
}

// returnToQueued removes cur's locations and moves it from cur.Status back
// to queued with no data; an image deleted meanwhile is left alone.
func (s *Service) returnToQueued(ctx context.Context, cur *glance.Image) error {
	for _, l := range cur.Locations {
		if err := s.repo.RemoveLocation(ctx, cur.ID, l.Store); err != nil && !errors.Is(err, glance.ErrNotFound) {
			return err
		}
	}
	_, err := s.transition(ctx, cur.ID, cur.Status, func(im *glance.Image) error {
		im.Status, im.BlobKey = glance.StatusQueued, ""
		im.Size, im.Checksum, im.OSHashAlgo, im.OSHashValue, im.VirtualSize = nil, nil, nil, nil, nil
		delete(im.Properties, "os_glance_importing_to_stores")
		return nil
	})
	if errors.Is(err, glance.ErrNotFound) {
		return nil
	}
	return err
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
	case errors.Is(err, iox.ErrIdle), errors.Is(err, webfetch.ErrIdle):
		return glance.Errorf(glance.ErrTimeout, "The upload was interrupted: %v.", err)
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
	return (im.Status == glance.StatusActive || im.Status == glance.StatusDeactivated) && len(im.ActiveStores()) > 0 && im.Size != nil
}

// ReadData opens length bytes of im's data from offset (length < 0: to the
// end), through the image cache when one is configured.
func (s *Service) ReadData(ctx context.Context, im *glance.Image, offset, length int64) (io.ReadCloser, error) {
	rc, err := s.readThrough(ctx, im, offset, length)
	switch {
	case err == nil:
		return rc, nil
	case isNotFound(err):
		return nil, glance.Errorf(glance.ErrNotFound, "Image data for %s is missing from the store.", im.ID)
	case errors.Is(err, storage.ErrUnavailable):
		return nil, glance.Errorf(glance.ErrUnavailable, "The image store is unavailable; try again later.")
	}
	return nil, err
}
