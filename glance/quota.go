package glance

import "context"

// The unified limits (Keystone's /v3/limits of the image service) Glance
// enforces, by resource name.
const (
	// LimitImageSizeTotal bounds the MiB of image data a project stores
	// (each store's copy counts).
	LimitImageSizeTotal = "image_size_total"
	// LimitImageStageTotal bounds the MiB of data a project has staged.
	LimitImageStageTotal = "image_stage_total"
	// LimitImageCountTotal bounds how many images a project owns.
	LimitImageCountTotal = "image_count_total"
	// LimitImageCountUploading bounds how many of a project's images are
	// receiving data at once (upload, stage, import, copy).
	LimitImageCountUploading = "image_count_uploading"
)

// LimitResources are the four resources, in the order /v2/info/usage lists them.
var LimitResources = []string{LimitImageSizeTotal, LimitImageStageTotal, LimitImageCountTotal, LimitImageCountUploading}

// Limits reads the limits in force for a project.
type Limits interface {
	// ProjectLimits returns, for each of resources that has a limit, the
	// project's own limit or else the registered default; a resource left
	// out, or -1, is unlimited. Errors are internal failures (an
	// unreachable identity database wraps ErrUnavailable).
	ProjectLimits(ctx context.Context, projectID string, resources []string) (map[string]int64, error)
}

// Usage is what a project consumes, counted as Glance counts it.
type Usage struct {
	// StoredBytes is the size of the project's images with data, once per
	// store holding a copy (images killed or deleted do not count).
	StoredBytes int64
	// StagedBytes is the size of data staged or being imported.
	StagedBytes int64
	// Images counts the project's images that are not killed or deleted.
	Images int64
	// Uploading counts the project's images saving, uploading or importing,
	// and those being copied to more stores.
	Uploading int64
}

// UsageRepository counts a project's usage.
type UsageRepository interface {
	// Usage returns what owner's images consume.
	Usage(ctx context.Context, owner string) (Usage, error)
}
