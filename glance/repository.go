package glance

import (
	"context"
	"time"
)

// SortKeys are the keys images can be sorted by.
var SortKeys = []string{"name", "status", "container_format", "disk_format", "size", "id", "created_at", "updated_at"}

// SortKey is one sort criterion.
type SortKey struct {
	Key  string
	Desc bool
}

// TimeFilter compares created_at/updated_at: Op is gt, gte, lt, lte, eq or neq.
type TimeFilter struct {
	Op   string
	Time time.Time
}

// ListQuery is a validated image list request.
type ListQuery struct {
	// The caller: what it may see depends on these.
	ProjectID string
	IsAdmin   bool

	// Visibility is "" (the default visible set), "all", or one visibility.
	Visibility string
	// MemberStatus filters shared images by the caller's membership:
	// pending, accepted (default), rejected or all.
	MemberStatus string

	// "in" lists: an image matches when its value is any of them.
	IDs, Names, Statuses, ContainerFormats, DiskFormats []string
	Owner                                               *string
	Tags                                                []string // all must be present
	SizeMin, SizeMax                                    *int64
	CreatedAt, UpdatedAt                                []TimeFilter
	OSHidden, Protected                                 *bool
	Checksum, OSHashValue                               *string
	// Exact matches on integer core attributes (size, virtual_size, min_ram, min_disk).
	IntEquals  map[string]int64
	Properties map[string]string

	Sort   []SortKey // applied in order, then created_at and id as tie-breakers
	Limit  int
	Marker string // id of the last image of the previous page
}

// Repository persists images and members. Get and List never return deleted
// images. Errors wrap ErrNotFound or ErrConflict where stated; anything else
// is an internal failure.
type Repository interface {
	LocationRepository

	// Create stores a new image; ErrConflict when its id was ever used.
	Create(ctx context.Context, im *Image) error
	// Get returns the image with tags and properties, or ErrNotFound.
	Get(ctx context.Context, id string) (*Image, error)
	// List returns one page in the query's order. The number of database
	// round trips does not depend on the page size or on how many tags and
	// properties the images carry. An unknown marker is ErrNotFound.
	List(ctx context.Context, q ListQuery) ([]*Image, error)
	// Update applies change to the image's current state and stores the
	// result, as one atomic step under the image's row lock: concurrent
	// Updates of one image run one after the other, each seeing what the
	// previous one wrote, so none undoes another. change may refuse (a state
	// it does not expect, say): its error is returned and nothing is written.
	// Every stored change increments Version. Locations are not written
	// (LocationRepository does that). ErrNotFound when the image is absent
	// or deleted.
	Update(ctx context.Context, id string, change func(im *Image) error) (*Image, error)
	// Delete marks the image deleted (its id stays taken) and drops its tags,
	// properties, members and locations. ErrNotFound when absent.
	Delete(ctx context.Context, id string) error
	// ListByStatus returns every image in one of the statuses (start-up recovery).
	ListByStatus(ctx context.Context, statuses ...string) ([]*Image, error)

	// AddMember stores a new member; ErrConflict when it exists.
	AddMember(ctx context.Context, m Member) error
	// GetMember returns one member, or ErrNotFound.
	GetMember(ctx context.Context, imageID, memberID string) (Member, error)
	// ListMembers returns an image's members ordered by member id.
	ListMembers(ctx context.Context, imageID string) ([]Member, error)
	// UpdateMember changes a member's status; ErrNotFound when absent.
	UpdateMember(ctx context.Context, m Member) error
	// DeleteMember removes a member; ErrNotFound when absent.
	DeleteMember(ctx context.Context, imageID, memberID string) error
}
