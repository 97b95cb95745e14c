package service

import (
	"cmp"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"

	"imagestack/glance"
	"imagestack/storage"
)

// SingleStoreID names the store when only one is configured. It is never
// shown to clients then; keep it as the id of the store that holds existing
// data when moving to several stores.
const SingleStoreID = "local"

// StoreInfo describes a configured store, as /v2/info/stores shows it.
type StoreInfo struct {
	ID, Type, Description string
	// Properties are backend settings, shown to admins only (stores/detail).
	Properties map[string]any
}

// Backend is one configured store.
type Backend struct {
	StoreInfo
	Store storage.Store
}

// stores is the set of stores the service writes to and reads from.
type stores struct {
	byID         map[string]storage.Store
	infos        []StoreInfo // configuration order
	defaultStore string
	multi        bool // several stores: Glance's enabled_backends
}

// storeSet is the store set Deps describe.
func storeSet(d Deps) (stores, error) {
	switch {
	case d.Store != nil && len(d.Stores) > 0:
		return stores{}, errors.New("image service: set either a single store or several stores, not both")
	case d.Store != nil:
		return stores{byID: map[string]storage.Store{SingleStoreID: d.Store}, infos: []StoreInfo{{ID: SingleStoreID}},
			defaultStore: SingleStoreID}, nil
	case len(d.Stores) == 0:
		return stores{}, errors.New("image service: no store configured")
	}
	set := stores{byID: map[string]storage.Store{}, defaultStore: d.DefaultStore, multi: true}
	for _, b := range d.Stores {
		if _, dup := set.byID[b.ID]; dup || b.ID == "" || !storage.ValidKey(b.ID) {
			return stores{}, fmt.Errorf("store id %q is empty, invalid or used twice", b.ID)
		}
		set.byID[b.ID] = b.Store
		set.infos = append(set.infos, b.StoreInfo)
	}
	if _, ok := set.byID[d.DefaultStore]; !ok {
		return stores{}, fmt.Errorf("default store %q is not among the configured stores", d.DefaultStore)
	}
	return set, nil
}

// MultiStore reports whether several stores are configured.
func (s *Service) MultiStore() bool { return s.stores.multi }

// StoreIDs lists the configured stores in configuration order.
func (s *Service) StoreIDs() []string {
	out := make([]string, len(s.stores.infos))
	for i, in := range s.stores.infos {
		out[i] = in.ID
	}
	return out
}

// StoresInfo is GET /v2/info/stores (detail: /v2/info/stores/detail, for
// callers that pass stores_info_detail). With a single store there is
// nothing to list: ErrNotFound, as Glance answers.
func (s *Service) StoresInfo(c Caller, detail bool) ([]StoreInfo, string, error) {
	if !s.stores.multi {
		return nil, "", glance.Errorf(glance.ErrNotFound, "Multi backend is not supported at this site.")
	}
	if detail {
		if err := s.authorize(c, "stores_info_detail", targetFor(c, &glance.Image{}, false), "view store details"); err != nil {
			return nil, "", err
		}
	}
	return s.stores.infos, s.stores.defaultStore, nil
}

// targetStore resolves the store an upload names ("" for the default). With
// a single store the name is ignored, as Glance ignores X-Image-Meta-Store.
func (s *Service) targetStore(id string) (string, error) {
	if !s.stores.multi || id == "" {
		return s.stores.defaultStore, nil
	}
	if _, ok := s.stores.byID[id]; !ok {
		return "", glance.Errorf(glance.ErrBadRequest, "Store for identifier %s not found", id)
	}
	return id, nil
}

// importTargets resolves the stores an import writes to, following
// Glance's rules for all_stores, stores and X-Image-Meta-Store. Unknown
// stores are a conflict, as in Glance.
func (s *Service) importTargets(req ImportRequest) ([]string, error) {
	if !s.stores.multi {
		if req.AllStoresMustSucceed != nil && !*req.AllStoresMustSucceed {
			return nil, glance.Errorf(glance.ErrBadRequest, "All_stores_must_succeed can only be set with several stores configured.")
		}
		return []string{s.stores.defaultStore}, nil
	}
	var targets []string
	switch {
	case req.AllStores:
		if req.Stores != nil || req.HeaderStore != "" {
			return nil, glance.Errorf(glance.ErrBadRequest, "All_stores parameter can't be used with x-image-meta-store header or stores parameter")
		}
		targets = s.StoreIDs()
	case req.Stores != nil:
		if req.HeaderStore != "" {
			return nil, glance.Errorf(glance.ErrBadRequest, "Stores parameter and x-image-meta-store header can't be both specified")
		}
		if len(req.Stores) == 0 {
			return nil, glance.Errorf(glance.ErrBadRequest, "The stores parameter names no store.")
		}
		for _, id := range req.Stores {
			if !slices.Contains(targets, id) {
				targets = append(targets, id)
			}
		}
	default:
		targets = []string{cmp.Or(req.HeaderStore, s.stores.defaultStore)}
	}
	for _, id := range targets {
		if _, ok := s.stores.byID[id]; !ok {
			return nil, glance.Errorf(glance.ErrConflict, "Store for identifier %s not found", id)
		}
	}
	return targets, nil
}

// removeBlob deletes image data from one store; a failure is logged, never
// shown to a client whose image (or location) is already gone.
// With the store out of reach the deletion is retried until it answers.
func (s *Service) removeBlob(ctx context.Context, store, key string) {
	s.untilReachable(ctx, "delete image data "+key+" from store "+store, func(ctx context.Context) error {
		return s.deleteBlob(ctx, store, key)
	})
}

// deleteBlob deletes image data from one store; only an outage is
// returned (other failures are logged: the data is then orphaned).
func (s *Service) deleteBlob(ctx context.Context, store, key string) error {
	st, ok := s.stores.byID[store]
	if key == "" || !ok {
		return nil
	}
	err := st.Delete(context.WithoutCancel(ctx), key)
	switch {
	case err == nil, isNotFound(err):
		return nil
	case errors.Is(err, storage.ErrUnavailable):
		return err
	}
	s.log.Error("could not delete image data; it is now orphaned", "store", store, "key", key, "err", err)
	return nil
}

// DeleteFromStore removes an active image's data from one store, as
// DELETE /v2/stores/{store}/{image} does; the last copy cannot go.
func (s *Service) DeleteFromStore(ctx context.Context, c Caller, store, id string) error {
	if !s.stores.multi {
		return glance.Errorf(glance.ErrNotFound, "Multi backend is not supported at this site.")
	}
	if _, ok := s.stores.byID[store]; !ok {
		return glance.Errorf(glance.ErrConflict, "The selected store %s is not available on this node.", store)
	}
	im, err := s.load(ctx, c, id)
	if err != nil {
		return err
	}
	if err := s.authorize(c, "get_image_location", im.target(c), "see the locations of this image"); err != nil {
		return err
	}
	if err := s.authorize(c, "delete_image_location", im.target(c), "remove image data from a store"); err != nil {
		return err
	}
	if im.Status != glance.StatusActive {
		return glance.Errorf(glance.ErrConflict, "It's not allowed to remove image data from store if image status is not 'active'")
	}
	// Glance checks the last copy first: the only store answers 403 whatever is named.
	active := im.ActiveStores()
	if len(active) <= 1 {
		return glance.Errorf(glance.ErrForbidden, "Cannot delete image data from the only store containing it. Consider deleting the image instead.")
	}
	if !slices.Contains(active, store) {
		return glance.Errorf(glance.ErrNotFound, "Image %s is not stored in store %s.", id, store)
	}
	// Checked again under the image's lock: a concurrent removal may have
	// taken the other copy meanwhile.
	if err := s.repo.RemoveCopy(ctx, id, store); err != nil {
		switch {
		case errors.Is(err, glance.ErrConflict):
			return glance.Errorf(glance.ErrForbidden, "Cannot delete image data from the only store containing it. Consider deleting the image instead.")
		case errors.Is(err, glance.ErrNotFound):
			return glance.Errorf(glance.ErrNotFound, "Image %s is not stored in store %s.", id, store)
		}
		return err
	}
	s.removeBlob(ctx, store, im.BlobKey)
	return nil
}

// openData opens length bytes from offset of the image's data from the
// first of stores that can serve it.
func (s *Service) openData(ctx context.Context, im *glance.Image, stores []string, offset, length int64) (io.ReadCloser, error) {
	var firstErr error
	for _, store := range stores {
		st, ok := s.stores.byID[store]
		if !ok {
			s.log.Error("image data is in a store that is no longer configured", "image", im.ID, "store", store)
			continue
		}
		rc, err := st.Get(ctx, im.BlobKey, offset, length)
		if err == nil {
			return rc, nil
		}
		if isNotFound(err) {
			s.log.Error("data of an active image is missing from the store", "image", im.ID, "store", store, "key", im.BlobKey)
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr == nil {
		firstErr = storage.ErrNotFound
	}
	return nil, firstErr
}

// copyToStore copies the image's data into store under the same key,
// checking size and md5 on the way, and marks the location (already added
// as pending) active. On failure the copy and its location are removed.
func (s *Service) copyToStore(ctx context.Context, im *glance.Image, from []string, store string) error {
	err := func() error {
		rc, err := s.openData(ctx, im, from, 0, -1)
		if err != nil {
			return err
		}
		defer rc.Close()
		// Data stored before the inspector existed is checked on its way too.
		verified := &verifyingReader{r: rc, h: md5.New(), want: deref(im.Checksum), size: deref(im.Size)}
		_, err = s.stores.byID[store].Put(ctx, im.BlobKey, newInspectingReader(verified, s.dataCheck(im)))
		return err
	}()
	if err == nil {
		err = s.repo.SetLocationStatus(ctx, im.ID, store, glance.LocationActive)
		if err == nil {
			return nil
		}
	}
	s.removeBlob(ctx, store, im.BlobKey)
	_ = s.repo.RemoveLocation(context.WithoutCancel(ctx), im.ID, store)
	return err
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// errCorruptCopy: the data read back does not match the image's checksum.
var errCorruptCopy = errors.New("image data read from the store does not match its checksum or size")

// verifyingReader fails at the end of the stream, instead of reporting
// EOF, when the bytes read differ from the expected size or md5: the store
// then discards what it wrote.
type verifyingReader struct {
	r    io.Reader
	h    hash.Hash
	want string
	size int64
	n    int64
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if err == io.EOF && (v.n != v.size || (v.want != "" && hex.EncodeToString(v.h.Sum(nil)) != v.want)) {
		return n, errCorruptCopy
	}
	return n, err
}

// DefaultBlobStore is the store new image data goes to; other members of
// a deployment share it (compute hosts pass snapshots through it).
func (s *Service) DefaultBlobStore() storage.Store { return s.stores.byID[s.stores.defaultStore] }
