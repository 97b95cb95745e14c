package service

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"strings"

	"imagestack/glance"
)

// locationOps splits a PATCH into its operations on /locations and the rest.
func locationOps(ops []PatchOp) (locs, rest []PatchOp) {
	for _, op := range ops {
		if op.Path == "locations" {
			locs = append(locs, op)
		} else {
			rest = append(rest, op)
		}
	}
	return locs, rest
}

// applyLocationOps runs a PATCH's location operations in order, each one
// complete (data read, location recorded) before the next.
func (s *Service) applyLocationOps(ctx context.Context, c Caller, l *loaded, ops []PatchOp) error {
	for _, op := range ops {
		if op.Op == "replace" && len(op.Locations) == 0 {
			return glance.Errorf(glance.ErrForbidden, "Cannot set locations to empty list.")
		}
		rule, verb := "set_image_location", map[string]string{"add": "add", "replace": "update"}[op.Op]
		if op.Op == "remove" {
			rule, verb = "delete_image_location", "remove"
		}
		if err := s.authorize(c, rule, l.target(c), verb+" locations of this image"); err != nil {
			return err
		}
		if !s.cfg.ShowMultipleLocations {
			return glance.Errorf(glance.ErrForbidden, "It's not allowed to %s locations if locations are invisible.", verb)
		}
		im, err := s.repo.Get(ctx, l.ID)
		if err != nil {
			return err
		}
		switch op.Op {
		case "add":
			err = s.patchAddLocation(ctx, im, op.Pos, op.Locations[0])
		case "remove":
			err = s.patchRemoveLocation(ctx, im, op.Pos)
		default:
			err = s.patchReplaceLocations(ctx, im, op.Locations)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// patchAddLocation is add /locations/N: data for a queued image, or
// another store's copy of an active image's data.
func (s *Service) patchAddLocation(ctx context.Context, im *glance.Image, pos string, in LocationInput) error {
	if im.Status != glance.StatusActive && im.Status != glance.StatusQueued {
		return glance.Errorf(glance.ErrConflict, "It's not allowed to add locations if image status is %s.", im.Status)
	}
	vd := []*ValidationData{in.ValidationData}
	if err := checkValidationData(im, vd); err != nil {
		return err
	}
	if _, ok := locationPos(pos, len(s.locationViews(im)), true); !ok {
		return glance.Errorf(glance.ErrBadRequest, "Invalid position for adding a location.")
	}
	return s.addLocation(ctx, im, in)
}

// addLocation adds one location, whatever the position asked: locations
// are kept in the order they were added.
func (s *Service) addLocation(ctx context.Context, im *glance.Image, in LocationInput) error {
	store, key, err := s.resolveLocation(in.URL)
	if err != nil {
		return err
	}
	if im.Status == glance.StatusQueued {
		_, err := s.placeData(ctx, im.ID, store, key, in)
		return err
	}
	if key != im.BlobKey || im.HasLocation(store) {
		if im.HasLocation(store) && key == im.BlobKey {
			return glance.Errorf(glance.ErrBadRequest, "The location %s already exists", in.URL)
		}
		// Every copy of an image's data has the image's key.
		return errInvalidLocation()
	}
	return s.addCopyByURL(ctx, im, store, in.Metadata)
}

// patchRemoveLocation is remove /locations/N: the copy goes, data included.
func (s *Service) patchRemoveLocation(ctx context.Context, im *glance.Image, pos string) error {
	if im.Status != glance.StatusActive {
		return glance.Errorf(glance.ErrConflict, "It's not allowed to remove locations if image status is %s.", im.Status)
	}
	stores := im.ActiveStores()
	if len(stores) == 1 {
		return glance.Errorf(glance.ErrForbidden, "Cannot remove last location in the image.")
	}
	i, ok := locationPos(pos, len(stores), false)
	if !ok {
		return glance.Errorf(glance.ErrBadRequest, "Invalid position for removing a location.")
	}
	return s.removeLocation(ctx, im, stores[i])
}

// removeLocation drops the image's copy in store, never the last one.
func (s *Service) removeLocation(ctx context.Context, im *glance.Image, store string) error {
	if err := s.repo.RemoveCopy(ctx, im.ID, store); err != nil {
		if errors.Is(err, glance.ErrConflict) {
			return glance.Errorf(glance.ErrForbidden, "Cannot remove last location in the image.")
		}
		return err
	}
	s.removeBlob(ctx, store, im.BlobKey)
	return nil
}

// patchReplaceLocations is replace /locations: the image ends with the
// locations listed, each with the metadata given.
func (s *Service) patchReplaceLocations(ctx context.Context, im *glance.Image, ins []LocationInput) error {
	if im.Status != glance.StatusActive && im.Status != glance.StatusQueued {
		return glance.Errorf(glance.ErrConflict, "It's not allowed to replace locations if image status is %s.", im.Status)
	}
	vds := make([]*ValidationData, len(ins))
	for i, in := range ins {
		vds[i] = in.ValidationData
	}
	if err := checkValidationData(im, vds); err != nil {
		return err
	}
	want, err := s.wantedStores(im, ins)
	if err != nil {
		return err
	}
	for i, in := range ins {
		if im.Status == glance.StatusActive && im.HasLocation(want[i]) {
			if err := s.setMetadata(ctx, im.ID, want[i], cmp.Or(in.Metadata, "{}")); err != nil {
				return err
			}
			continue
		}
		if err := s.addLocation(ctx, im, in); err != nil {
			return err
		}
		if im, err = s.repo.Get(ctx, im.ID); err != nil {
			return err
		}
	}
	for _, store := range im.ActiveStores() {
		if !slices.Contains(want, store) {
			if err := s.removeLocation(ctx, im, store); err != nil {
				return err
			}
		}
	}
	return nil
}

// wantedStores resolves each URL of a replace to its store, refusing a
// list that names one twice, or other data than an active image's.
func (s *Service) wantedStores(im *glance.Image, ins []LocationInput) ([]string, error) {
	want := make([]string, len(ins))
	for i, in := range ins {
		store, key, err := s.resolveLocation(in.URL)
		if err != nil {
			return nil, err
		}
		if im.Status == glance.StatusActive && key != im.BlobKey {
			return nil, errInvalidLocation()
		}
		if slices.Contains(want[:i], store) {
			return nil, glance.Errorf(glance.ErrBadRequest, "The location %s already exists", in.URL)
		}
		want[i] = store
	}
	return want, nil
}

// locationPos reads a location pointer's index ("-": the end) among n
// locations. For an insertion (allowEnd) any index is accepted, as Glance
// inserts past the end at the end; a removal needs an existing one.
func locationPos(pos string, n int, allowEnd bool) (int, bool) {
	i := n - 1
	if allowEnd {
		i = n
	}
	if pos != "-" {
		v, err := strconv.Atoi(pos)
		if err != nil || strings.Trim(pos, "0123456789") != "" {
			return 0, false
		}
		i = v
	}
	if allowEnd {
		return min(i, n), true
	}
	return i, i >= 0 && i < n
}

// checkValidationData applies Glance's rules to the validation data of
// locations being added: values must agree with each other and with the
// image's, new ones only for a queued image, hashes of the right form.
// Each breach is a conflict, as in Glance.
func checkValidationData(im *glance.Image, vds []*ValidationData) error {
	merged := map[string]string{}
	for _, vd := range vds {
		if vd == nil {
			continue
		}
		for k, v := range map[string]string{"checksum": vd.Checksum, "os_hash_algo": vd.OSHashAlgo, "os_hash_value": vd.OSHashValue} {
			if v == "" {
				continue
			}
			if old, ok := merged[k]; ok && old != v {
				return glance.Errorf(glance.ErrConflict, "Conflicting values for %s", k)
			}
			merged[k] = v
		}
	}
	current := map[string]string{"checksum": deref(im.Checksum), "os_hash_algo": deref(im.OSHashAlgo), "os_hash_value": deref(im.OSHashValue)}
	changed := false
	for k, v := range merged {
		if current[k] != "" && current[k] != v {
			return glance.Errorf(glance.ErrConflict, "%s is already set with a different value", k)
		}
		changed = changed || current[k] != v
	}
	if !changed {
		return nil
	}
	if im.Status != glance.StatusQueued {
		return glance.Errorf(glance.ErrConflict, "New value(s) for validation data may only be provided when image status is 'queued'")
	}
	return checkHashForms(merged["checksum"], merged["os_hash_algo"], merged["os_hash_value"])
}

// checkHashForms checks an md5 checksum and a sha512 hash for their form.
func checkHashForms(checksum, algo, value string) error {
	if b, err := hex.DecodeString(checksum); checksum != "" && (err != nil || len(b) != 16) {
		return glance.Errorf(glance.ErrConflict, "checksum (%s) is not a valid md5 hexadecimal value", checksum)
	}
	if algo != "sha512" {
		return glance.Errorf(glance.ErrConflict, "os_hash_algo must be sha512, not %s", algo)
	}
	if b, err := hex.DecodeString(value); err != nil || len(b) != 64 {
		return glance.Errorf(glance.ErrConflict, "os_hash_value (%s) is not a valid sha512 hexadecimal value", value)
	}
	return nil
}

// AddLocation is POST /v2/images/{id}/locations (Glance 2.17): data
// already in one of the stores becomes a queued image's data, after it
// is read and checked against validation_data. Glance does the reading in
// a task and answers 202 at once; here it is done (within
// LocationReadTimeout) before the answer, so that a refusal reaches the
// client.
func (s *Service) AddLocation(ctx context.Context, c Caller, id string, in LocationInput) error {
	l, err := s.load(ctx, c, id)
	if err != nil {
		return err
	}
	if l.Status != glance.StatusQueued {
		return glance.Errorf(glance.ErrConflict, "It's not allowed to add locations if image status is %s.", l.Status)
	}
	if err := s.authorize(c, "add_image_location", l.target(c), "add locations to this image"); err != nil {
		return err
	}
	// Glance lets others use this API only for its http store, which is
	// never offered here.
	if !c.IsAdmin && !slices.Contains(c.Creds.Roles, "service") {
		return glance.Errorf(glance.ErrForbidden, "http store must be enabled to use location API by normal user.")
	}
	if vd := in.ValidationData; vd != nil && vd.OSHashValue != "" {
		newHash := hashAlgos[vd.OSHashAlgo]
		if b, err := hex.DecodeString(vd.OSHashValue); newHash == nil || err != nil || len(b) != newHash().Size() {
			return glance.Errorf(glance.ErrBadRequest, "os_hash_value: (%s) is not the correct size for (%s)", vd.OSHashValue, vd.OSHashAlgo)
		}
	}
	store, key, err := s.resolveLocation(in.URL)
	if err != nil {
		return err
	}
	_, err = s.placeData(ctx, id, store, key, in)
	return err
}

// Locations is GET /v2/images/{id}/locations (Glance 2.17; the service
// role, or admins, by default).
func (s *Service) Locations(ctx context.Context, c Caller, id string) ([]LocationView, error) {
	l, err := s.load(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(c, "fetch_image_location", l.target(c), "get the locations of this image"); err != nil {
		return nil, err
	}
	return s.locationViews(l.Image), nil
}
