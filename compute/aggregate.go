package compute

import (
	"context"
	"time"

	"imagestack/policy"
)

// ZoneKey is the aggregate metadata key that puts the aggregate's hosts in
// an availability zone (Nova's).
const ZoneKey = "availability_zone"

// Aggregate is a host aggregate (Nova's os-aggregates): a named group of
// compute hosts with metadata; its availability_zone metadata, when set,
// is the zone of its hosts.
type Aggregate struct {
	ID        int    // Nova's integer id, the API's {id}
	UUID      string // shown from microversion 2.41
	Name      string
	Hosts     []string          // in the order they were added
	Metadata  map[string]string // never nil once read
	CreatedAt time.Time
	UpdatedAt *time.Time
}

// Zone is the aggregate's availability zone ("" for none).
func (a Aggregate) Zone() string { return a.Metadata[ZoneKey] }

// AggregateRepository keeps host aggregates. Errors wrap ErrNotFound and
// ErrConflict where stated.
type AggregateRepository interface {
	// ListAggregates returns every aggregate, by id, with hosts and
	// metadata.
	ListAggregates(ctx context.Context) ([]Aggregate, error)
	// GetAggregate returns one aggregate, or ErrNotFound.
	GetAggregate(ctx context.Context, id int) (Aggregate, error)
	// CreateAggregate stores a new aggregate (a.ID and a.UUID are chosen
	// by the repository) and returns it; a name taken is ErrConflict.
	CreateAggregate(ctx context.Context, a Aggregate) (Aggregate, error)
	// UpdateAggregate changes aggregate id with change, which sees it and
	// every aggregate (itself included, as stored) and may refuse; its
	// error is returned as it is. Updates of aggregates run one after the
	// other (a host's zone is checked against the others' consistently),
	// name, hosts, metadata and UpdatedAt are stored; a name taken is
	// ErrConflict, an unknown id ErrNotFound.
	UpdateAggregate(ctx context.Context, id int, change func(a *Aggregate, all []Aggregate) error) (Aggregate, error)
	// DeleteAggregate removes aggregate id once check, which sees it,
	// allows it (check's error is returned as it is); unknown: ErrNotFound.
	DeleteAggregate(ctx context.Context, id int, check func(a Aggregate) error) error
}

// ImagePrecacher fetches images into the image caches of compute hosts
// before servers boot from them (os-aggregates' cache action, Nova's
// microversion 2.81).
type ImagePrecacher interface {
	// Precache makes image imageID's base present in host's cache,
	// downloading it once however many boots or precaches ask at the same
	// time (the path boots take), and returns once it is there or failed.
	// A host this precacher cannot reach is an error wrapping
	// ErrUnavailable. The image is read with user's credentials.
	Precache(ctx context.Context, user policy.Credentials, host, imageID string) error
}
