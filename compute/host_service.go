package compute

import (
	"context"
	"time"
)

// Binaries of the services a deployment lists in os-services: this host
// runs the one compute service and stands in for Nova's conductor and
// scheduler (the "internal" zone).
const (
	BinaryCompute   = "nova-compute"
	BinaryConductor = "nova-conductor"
	BinaryScheduler = "nova-scheduler"
)

// HostService is one service of the deployment (Nova's services table):
// what an admin set on it through os-services is kept with it.
type HostService struct {
	ID     int    // Nova's integer id (shown before microversion 2.53)
	UUID   string // shown as the id from 2.53
	Host   string
	Binary string
	// Disabled services take no new servers; DisabledReason is the
	// admin's note (nil: none).
	Disabled       bool
	DisabledReason *string
	// ForcedDown marks the service down whatever its heartbeat says (2.11).
	ForcedDown bool
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// HostServiceRepository keeps the deployment's services.
type HostServiceRepository interface {
	// EnsureHostService returns the service of host and binary, first
	// creating it (enabled, with a new UUID, at now) when it does not exist.
	EnsureHostService(ctx context.Context, host, binary string, now time.Time) (HostService, error)
	// ListHostServices returns every service, by id.
	ListHostServices(ctx context.Context) ([]HostService, error)
	// UpdateHostService stores the state fields (Disabled, DisabledReason,
	// ForcedDown, UpdatedAt) of the service with s.UUID, or ErrNotFound.
	UpdateHostService(ctx context.Context, s HostService) error
	// DeleteHostService removes the service with that UUID, or ErrNotFound.
	DeleteHostService(ctx context.Context, uuid string) error
}
