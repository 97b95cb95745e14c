package service

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash"
	"io"
	"net/url"
	"time"

	"imagestack/glance"
	"imagestack/storage"
)

// DefaultLocationReadTimeout bounds reading a location's data when it is added.
const DefaultLocationReadTimeout = 10 * time.Minute

// LocationView is one location as clients see it: its URL and metadata
// (what the client gave it, and the store's id with several stores).
type LocationView struct {
	URL      string
	Metadata map[string]any
}

// ValidationData are the hashes a client vouches for when it adds a
// location; the data is read and must match them.
type ValidationData struct {
	Checksum    string // md5 hex, optional
	OSHashAlgo  string
	OSHashValue string
}

// LocationInput is a location a client adds.
type LocationInput struct {
	URL            string
	ValidationData *ValidationData
	// Metadata is the JSON object given with the location ("" for none).
	Metadata string
}

// ImageLocations is what an image view shows of the image's locations.
type ImageLocations struct {
	// Show says whether the view has a locations list at all
	// (show_multiple_locations); the list is empty for callers that
	// get_image_location does not allow, as in Glance.
	Show      bool
	Locations []LocationView
	// DirectURL is the first location ("" when not shown).
	DirectURL string
}

// LocationsOf is what c may see of im's locations in an image view.
func (s *Service) LocationsOf(c Caller, im *glance.Image) ImageLocations {
	if !s.cfg.ShowMultipleLocations && !s.cfg.ShowDirectURL {
		return ImageLocations{}
	}
	locs := []LocationView{}
	if s.authz.Enforce("get_image_location", targetFor(c, im, false), c.Creds) {
		locs = s.locationViews(im)
	}
	out := ImageLocations{Show: s.cfg.ShowMultipleLocations, Locations: locs}
	if s.cfg.ShowDirectURL && len(locs) > 0 {
		out.DirectURL = locs[0].URL
	}
	if !out.Show {
		out.Locations = nil
	}
	return out
}

// locationViews lists the image's complete locations, oldest first.
func (s *Service) locationViews(im *glance.Image) []LocationView {
	out := []LocationView{}
	for _, l := range im.Locations {
		st, ok := s.stores.byID[l.Store]
		if l.Status != glance.LocationActive || !ok || im.BlobKey == "" {
			continue
		}
		u := storage.URLOf(st, im.BlobKey)
		if u == "" {
			continue
		}
		md := map[string]any{}
		if l.Metadata != "" {
			_ = json.Unmarshal([]byte(l.Metadata), &md)
		}
		if s.stores.multi {
			md["store"] = l.Store
		}
		out = append(out, LocationView{URL: u, Metadata: md})
	}
	return out
}

// errInvalidLocation is Glance's answer to a URL no configured store holds.
func errInvalidLocation() error { return glance.Errorf(glance.ErrBadRequest, "Invalid location") }

// resolveLocation maps a location URL to the store and key it names. Only
// blobs of the configured stores qualify: any other URL (http, another
// directory, another bucket) is refused and never fetched.
func (s *Service) resolveLocation(raw string) (store, key string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", errInvalidLocation()
	}
	for _, in := range s.stores.infos {
		if key, ok := storage.KeyOf(s.stores.byID[in.ID], u); ok {
			return in.ID, key, nil
		}
	}
	return "", "", errInvalidLocation()
}

// hashes are the digests taken while a location's data is read.
type hashes struct {
	md5, sha512, extra hash.Hash
	size               int64
}

var hashAlgos = map[string]func() hash.Hash{"md5": md5.New, "sha1": sha1.New, "sha256": sha256.New, "sha512": sha512.New}

// readLocation reads the data under key in store, within the configured
// time, through the same format checks as an upload, and returns its size
// and hashes (extra: algo, when it is not md5 or sha512).
func (s *Service) readLocation(ctx context.Context, im *glance.Image, store, key, algo string) (*hashes, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.LocationReadTimeout)
	defer cancel()
	rc, err := s.stores.byID[store].Get(ctx, key, 0, -1)
	if err != nil {
		return nil, locationReadError(err)
	}
	defer rc.Close()
	h := &hashes{md5: md5.New(), sha512: sha512.New()}
	w := io.MultiWriter(h.md5, h.sha512)
	if newHash, ok := hashAlgos[algo]; ok && algo != "md5" && algo != "sha512" {
		h.extra = newHash()
		w = io.MultiWriter(h.md5, h.sha512, h.extra)
	}
	ir := newInspectingReader(&capReader{r: rc, max: s.cfg.SizeCap}, s.dataCheck(im))
	if h.size, err = io.Copy(w, ir); err != nil {
		return nil, locationReadError(err)
	}
	return h, nil
}

// locationReadError maps a failure to read a location's data.
func locationReadError(err error) error {
	var ge *glance.Error
	switch {
	case errors.As(err, &ge):
		return err
	case isNotFound(err):
		return errInvalidLocation()
	case errors.Is(err, errTooLarge):
		return glance.Errorf(glance.ErrTooLarge, "The data at the location is larger than the image size cap.")
	case errors.Is(err, context.DeadlineExceeded):
		return glance.Errorf(glance.ErrUnavailable, "Reading the data at the location took too long.")
	case errors.Is(err, storage.ErrUnavailable):
		return glance.Errorf(glance.ErrUnavailable, "The image store is unavailable; try again later.")
	}
	return err
}

// sum is the hex digest of algo among h's hashes ("" when not taken).
func (h *hashes) sum(algo string) string {
	var x hash.Hash
	switch algo {
	case "md5":
		x = h.md5
	case "sha512":
		x = h.sha512
	default:
		x = h.extra
	}
	if x == nil {
		return ""
	}
	return hex.EncodeToString(x.Sum(nil))
}

// matches reports whether the data read matches what vd vouches for.
func (h *hashes) matches(vd *ValidationData) bool {
	if vd == nil {
		return true
	}
	if vd.Checksum != "" && vd.Checksum != h.sum("md5") {
		return false
	}
	return vd.OSHashValue == "" || vd.OSHashValue == h.sum(vd.OSHashAlgo)
}

// placeData gives a queued image the data under key in store: the image
// goes to saving (so no upload can start), the data is read and checked
// (formats, size cap, validation data), then the location becomes active
// and so does the image. On failure the image returns to queued and the
// data is left where it was: it is not the image's yet.
func (s *Service) placeData(ctx context.Context, id, store, key string, in LocationInput) (*glance.Image, error) {
	release, err := s.hold(ctx, glance.LeaseUpload, id, key)
	defer release()
	if errors.Is(err, glance.ErrConflict) {
		return nil, glance.Errorf(glance.ErrConflict, "Image %s is already receiving data", id)
	}
	if err != nil {
		return nil, err
	}
	saving, err := s.transition(ctx, id, glance.StatusQueued, func(cur *glance.Image) error {
		if cur.DiskFormat == nil || cur.ContainerFormat == nil {
			return glance.Errorf(glance.ErrBadRequest, "Properties disk_format, container_format must be set prior to saving data.")
		}
		cur.Status, cur.BlobKey = glance.StatusSaving, key
		if cur.Properties == nil {
			cur.Properties = map[string]string{}
		}
		cur.Properties[placingProperty] = store
		return nil
	})
	if errors.Is(err, glance.ErrConflict) {
		return nil, glance.Errorf(glance.ErrConflict, "Image %s is already receiving data", id)
	}
	if err != nil {
		return nil, err
	}
	ready, err := s.checkPlaced(ctx, saving, store, key, in)
	if err != nil {
		_ = s.unplace(context.WithoutCancel(ctx), saving)
		return nil, err
	}
	return ready, nil
}

// placingProperty marks an image whose data is being read at a location
// (naming the store): the data is not the image's yet, so neither a
// failure nor a restart meanwhile may delete it. Clients cannot set
// os_glance_ properties, so no client can forge the mark.
const placingProperty = "os_glance_placing_location"

// unplace returns an image whose placement failed (or was cut short by a
// restart) to queued, dropping its location but leaving the data alone.
func (s *Service) unplace(ctx context.Context, im *glance.Image) error {
	if err := s.repo.RemoveLocation(ctx, im.ID, im.Properties[placingProperty]); err != nil && !errors.Is(err, glance.ErrNotFound) {
		return err
	}
	_, err := s.transition(ctx, im.ID, glance.StatusSaving, func(cur *glance.Image) error {
		cur.Status, cur.BlobKey = glance.StatusQueued, ""
		delete(cur.Properties, placingProperty)
		return nil
	})
	if errors.Is(err, glance.ErrNotFound) {
		return nil
	}
	return err
}

// checkPlaced is placeData once the image is saving with key: it refuses
// data another image has, records the location, reads the data and
// activates the image.
func (s *Service) checkPlaced(ctx context.Context, saving *glance.Image, store, key string, in LocationInput) (*glance.Image, error) {
	// Checked after the key is recorded, so that of two images given the
	// same data at once neither keeps it.
	taken, err := s.repo.BlobKeyTaken(ctx, key, saving.ID)
	if err != nil {
		return nil, err
	}
	if taken {
		return nil, glance.Errorf(glance.ErrConflict, "The data at this location belongs to another image.")
	}
	if err := s.repo.AddLocation(ctx, saving.ID, store, glance.LocationPending); err != nil {
		return nil, err
	}
	saving.Locations = append(saving.Locations, glance.Location{Store: store, Status: glance.LocationPending})
	if err := s.setMetadata(ctx, saving.ID, store, in.Metadata); err != nil {
		return nil, err
	}
	vd, algo := in.ValidationData, "sha512"
	if vd != nil && vd.OSHashAlgo != "" {
		algo = vd.OSHashAlgo
	}
	h, err := s.readLocation(ctx, saving, store, key, algo)
	if err != nil {
		return nil, err
	}
	if !h.matches(vd) {
		return nil, glance.Errorf(glance.ErrBadRequest, "The data at the location does not match its validation_data.")
	}
	if err := s.repo.SetLocationStatus(ctx, saving.ID, store, glance.LocationActive); err != nil {
		return nil, err
	}
	return s.transition(ctx, saving.ID, glance.StatusSaving, func(im *glance.Image) error {
		md5sum, sha, sha512Algo := h.sum("md5"), h.sum("sha512"), "sha512"
		im.Status, im.Size, im.Checksum, im.OSHashAlgo, im.OSHashValue = glance.StatusActive, &h.size, &md5sum, &sha512Algo, &sha
		delete(im.Properties, placingProperty)
		return nil
	})
}

// addCopyByURL records a copy of an active image's data that is already
// in store (under the image's key, as every copy is), after reading it
// back against the image's size and checksum. The location is recorded
// only once the data checks out, so that nothing (a restart's clean-up of
// pending copies, say) ever deletes data that is not yet the image's.
func (s *Service) addCopyByURL(ctx context.Context, im *glance.Image, store, metadata string) error {
	h, err := s.readLocation(ctx, im, store, im.BlobKey, "")
	if err != nil {
		return err
	}
	if h.size != deref(im.Size) || h.sum("md5") != deref(im.Checksum) {
		return glance.Errorf(glance.ErrBadRequest, "Invalid location: the data there differs from the image's.")
	}
	err = s.repo.AddLocation(ctx, im.ID, store, glance.LocationActive)
	if errors.Is(err, glance.ErrConflict) {
		return glance.Errorf(glance.ErrBadRequest, "The location %s already exists", storage.URLOf(s.stores.byID[store], im.BlobKey))
	}
	if err != nil {
		return err
	}
	return s.setMetadata(ctx, im.ID, store, metadata)
}

// setMetadata records the metadata a client gave a location, if any.
func (s *Service) setMetadata(ctx context.Context, id, store, metadata string) error {
	if metadata == "" {
		return nil
	}
	return s.repo.SetLocationMetadata(ctx, id, store, metadata)
}
