package keystone

import (
	"context"
	"errors"
)

// RegisteredLimit is a service's default limit of one resource (Keystone's
// unified limits): every project without a Limit of its own gets DefaultLimit.
// -1 means unlimited.
type RegisteredLimit struct {
	ID, ServiceID, RegionID, ResourceName string
	DefaultLimit                          int64
	Description                           *string // nil shows as null
}

// Limit overrides a registered limit for one project (or one domain): the
// service, region and resource name are those of its registered limit.
type Limit struct {
	ID                                string
	ProjectID, DomainID               string // exactly one is set
	ServiceID, RegionID, ResourceName string
	ResourceLimit                     int64
	Description                       *string
	RegisteredLimitID                 string // internal: the registered limit it overrides
}

// LimitFilter narrows ListRegisteredLimits and ListLimits; empty fields match
// everything (ProjectID and DomainID only apply to limits).
type LimitFilter struct {
	ServiceID, RegionID, ResourceName string
	ProjectID, DomainID               string
}

// ErrLimitReferenced is returned by UpdateRegisteredLimit and
// DeleteRegisteredLimit when project or domain limits override it.
var ErrLimitReferenced = errors.New("registered limit has limits")

// ErrNoRegisteredLimit is returned by CreateLimits when a limit names a
// service, region and resource that no registered limit has.
var ErrNoRegisteredLimit = errors.New("no registered limit")

// LimitRepository persists unified limits. Duplicates (a registered limit of
// the same service, region and resource; a limit of the same registered
// limit and project or domain) are ErrConflict.
type LimitRepository interface {
	// CreateRegisteredLimits stores all of rls or none.
	CreateRegisteredLimits(ctx context.Context, rls []RegisteredLimit) error
	GetRegisteredLimit(ctx context.Context, id string) (RegisteredLimit, error)
	// ListRegisteredLimits returns the matching registered limits ordered by id.
	ListRegisteredLimits(ctx context.Context, f LimitFilter) ([]RegisteredLimit, error)
	// UpdateRegisteredLimit overwrites every field of rl.ID; ErrLimitReferenced
	// when limits override it (checked in the same transaction).
	UpdateRegisteredLimit(ctx context.Context, rl RegisteredLimit) error
	// DeleteRegisteredLimit removes it; ErrLimitReferenced when limits override it.
	DeleteRegisteredLimit(ctx context.Context, id string) error

	// CreateLimits stores all of ls or none, each tied to the registered limit
	// of its service, region and resource (ErrNoRegisteredLimit without one).
	CreateLimits(ctx context.Context, ls []Limit) ([]Limit, error)
	GetLimit(ctx context.Context, id string) (Limit, error)
	// ListLimits returns the matching limits ordered by id.
	ListLimits(ctx context.Context, f LimitFilter) ([]Limit, error)
	// UpdateLimit overwrites the resource limit and description of l.ID.
	UpdateLimit(ctx context.Context, l Limit) error
	DeleteLimit(ctx context.Context, id string) error
}
