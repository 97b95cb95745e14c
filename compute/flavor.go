// Package compute is the server domain: flavors, servers and their states,
// the errors the compute API maps to statuses, and the interfaces the service
// layer uses (repository, hypervisor, image service).
package compute

import (
	"context"
	"time"
)

// Flavor is a hardware template.
type Flavor struct {
	ID         string
	Name       string
	RAM        int // MiB
	VCPUs      int
	Disk       int // GiB, root disk
	Swap       int // MiB
	Ephemeral  int // GiB
	RxTxFactor float64
	IsPublic   bool
	Disabled   bool
	CreatedAt  time.Time
	// Description is the admin's text (microversion 2.55); nil when none.
	Description *string
}

// DefaultFlavors are devstack's: created at first start when no flavor exists.
var DefaultFlavors = []Flavor{
	{ID: "1", Name: "m1.tiny", RAM: 512, VCPUs: 1, Disk: 1},
	{ID: "2", Name: "m1.small", RAM: 2048, VCPUs: 1, Disk: 20},
	{ID: "3", Name: "m1.medium", RAM: 4096, VCPUs: 2, Disk: 40},
	{ID: "4", Name: "m1.large", RAM: 8192, VCPUs: 4, Disk: 80},
	{ID: "5", Name: "m1.xlarge", RAM: 16384, VCPUs: 8, Disk: 160},
	{ID: "42", Name: "m1.nano", RAM: 128, VCPUs: 1, Disk: 1},
	{ID: "84", Name: "m1.micro", RAM: 192, VCPUs: 1, Disk: 1},
}

// FlavorFilter narrows a flavor listing, as Nova's query parameters do.
type FlavorFilter struct {
	MinRAM, MinDisk int
	// IsPublic: nil = both, else only public or only private flavors.
	IsPublic *bool
	// AccessProject, with IsPublic true, adds the private flavors this
	// project was given access to (Nova's meaning of is_public=True).
	AccessProject string
	SortKey       string // flavorid (default), name, memory_mb, vcpus, root_gb, ...
	SortDesc      bool
	Limit         int
	Marker        string
}

// FlavorRepository persists flavors and their extra specs. Errors wrap
// ErrNotFound or ErrConflict where stated.
type FlavorRepository interface {
	// CreateFlavor stores a flavor; ErrConflict when its id or name is taken.
	CreateFlavor(ctx context.Context, f Flavor) error
	// GetFlavor returns a flavor, or ErrNotFound.
	GetFlavor(ctx context.Context, id string) (Flavor, error)
	// ListFlavors returns one page; an unknown marker is ErrNotFound.
	ListFlavors(ctx context.Context, f FlavorFilter) ([]Flavor, error)
	// DeleteFlavor removes a flavor, its extra specs and its project
	// access list, or ErrNotFound.
	DeleteFlavor(ctx context.Context, id string) error
	// SetFlavorDescription replaces a flavor's description (nil: none), or
	// ErrNotFound.
	SetFlavorDescription(ctx context.Context, id string, description *string) error
	// CountFlavors returns how many flavors exist (for first-start seeding).
	CountFlavors(ctx context.Context) (int64, error)
	// ExtraSpecs returns a flavor's extra specs (empty map when none).
	ExtraSpecs(ctx context.Context, flavorID string) (map[string]string, error)
	// SetExtraSpecs adds or overwrites extra specs.
	SetExtraSpecs(ctx context.Context, flavorID string, specs map[string]string) error
	// DeleteExtraSpec removes one extra spec, or ErrNotFound.
	DeleteExtraSpec(ctx context.Context, flavorID, key string) error
	// FlavorProjects returns the projects given access to a flavor, sorted;
	// ErrNotFound when the flavor does not exist.
	FlavorProjects(ctx context.Context, flavorID string) ([]string, error)
	// AddFlavorAccess gives a project access to a flavor; ErrNotFound when
	// the flavor does not exist, ErrConflict when the project has access.
	AddFlavorAccess(ctx context.Context, flavorID, projectID string) error
	// RemoveFlavorAccess takes a project's access to a flavor away;
	// ErrNotFound when it had none.
	RemoveFlavorAccess(ctx context.Context, flavorID, projectID string) error
}

// Projects is the identity service as compute sees it; cmd wires it.
type Projects interface {
	// ProjectExists reports whether a project of that id exists; an error
	// when the identity service cannot tell.
	ProjectExists(ctx context.Context, id string) (bool, error)
}
