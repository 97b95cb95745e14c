package glance

import "context"

// Location statuses: a pending location is being written (upload, import or
// copy in progress) and is never read from; an active one holds the data.
const (
	LocationPending = "pending"
	LocationActive  = "active"
)

// Location says that an image's data (under its BlobKey) is in one store.
type Location struct {
	Store  string
	Status string
	// Metadata is the JSON object a client gave the location ("" for none).
	Metadata string
}

// LocationRef names one location of one image.
type LocationRef struct {
	ImageID string
	Store   string
}

// ActiveStores lists the stores holding the image's complete data, in the
// order the data arrived there.
func (im *Image) ActiveStores() []string {
	var out []string
	for _, l := range im.Locations {
		if l.Status == LocationActive {
			out = append(out, l.Store)
		}
	}
	return out
}

// HasLocation reports whether the image has a location (of any status) in store.
func (im *Image) HasLocation(store string) bool {
	for _, l := range im.Locations {
		if l.Store == store {
			return true
		}
	}
	return false
}

// LocationRepository keeps where each image's data is. Locations are written
// only through these row operations, never by Repository.Save or Transition,
// so that a metadata update cannot lose a copy made meanwhile.
type LocationRepository interface {
	// AddLocation records a location; ErrConflict when the image already has
	// one in that store (which is what serialises two copies to one store),
	// ErrNotFound when the image is gone.
	AddLocation(ctx context.Context, imageID, store, status string) error
	// SetLocationStatus changes a location's status; ErrNotFound when absent.
	SetLocationStatus(ctx context.Context, imageID, store, status string) error
	// RemoveCopy drops the image's active location in store, provided
	// another active location remains, deciding both under the image's lock
	// so that two concurrent removals cannot take the last two copies:
	// ErrConflict when it is the last copy, ErrNotFound when store has no
	// complete copy or the image is gone.
	RemoveCopy(ctx context.Context, imageID, store string) error
	// RemoveLocation drops a location; ErrNotFound when absent.
	RemoveLocation(ctx context.Context, imageID, store string) error
	// ListLocations returns every location with the given status, of images
	// not deleted (start-up recovery of interrupted copies).
	ListLocations(ctx context.Context, status string) ([]LocationRef, error)
	// AdoptUnplacedData records an active location in store for every image
	// whose data predates locations (status active or deactivated, a blob
	// key, no location) and returns how many it placed.
	AdoptUnplacedData(ctx context.Context, store string) (int, error)
	// BlobKeyTaken reports whether an image other than imageID, deleted or
	// not, has key as its BlobKey: a location added by URL must not make
	// two images share (and one delete) the same data.
	BlobKeyTaken(ctx context.Context, key, imageID string) (bool, error)
	// SetLocationMetadata records the JSON object a client gave a
	// location; ErrNotFound when the location is absent.
	SetLocationMetadata(ctx context.Context, imageID, store, metadata string) error
}
