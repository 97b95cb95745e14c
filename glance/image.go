// Package glance is the image domain: the Image and Member types, Glance's
// status machine and property rules, the errors the image API maps to
// statuses, and the repository interface the service layer persists through.
package glance

import (
	"slices"
	"time"
)

// Image statuses, as Glance names them.
const (
	StatusQueued        = "queued"
	StatusSaving        = "saving"
	StatusActive        = "active"
	StatusKilled        = "killed"
	StatusDeleted       = "deleted"
	StatusPendingDelete = "pending_delete"
	StatusDeactivated   = "deactivated"
	StatusUploading     = "uploading"
	StatusImporting     = "importing"
)

// Statuses lists every status, in the order of Glance's schema enum.
var Statuses = []string{StatusQueued, StatusSaving, StatusActive, StatusKilled, StatusDeleted,
	StatusUploading, StatusImporting, StatusPendingDelete, StatusDeactivated}

// transitions is Glance's status machine: from -> allowed targets.
var transitions = map[string][]string{
	StatusQueued:      {StatusSaving, StatusUploading, StatusImporting, StatusActive, StatusDeleted},
	StatusSaving:      {StatusActive, StatusKilled, StatusDeleted, StatusQueued},
	StatusUploading:   {StatusImporting, StatusQueued, StatusDeleted},
	StatusImporting:   {StatusActive, StatusDeleted, StatusQueued},
	StatusActive:      {StatusPendingDelete, StatusDeleted, StatusDeactivated},
	StatusKilled:      {StatusDeleted},
	StatusDeactivated: {StatusActive, StatusDeleted},
}

// CanTransition reports whether Glance allows going from one status to another.
func CanTransition(from, to string) bool { return slices.Contains(transitions[from], to) }

// NeedsFormats reports whether entering status requires both disk and
// container formats (Glance refuses to store data of unknown format).
func NeedsFormats(status string) bool {
	return status == StatusSaving || status == StatusActive || status == StatusImporting
}

// Visibilities.
const (
	VisibilityPublic    = "public"
	VisibilityCommunity = "community"
	VisibilityShared    = "shared"
	VisibilityPrivate   = "private"
)

// Visibilities lists them in the order of Glance's schema enum.
var Visibilities = []string{VisibilityCommunity, VisibilityPublic, VisibilityPrivate, VisibilityShared}

// DiskFormats and ContainerFormats are Glance's defaults.
var (
	DiskFormats      = []string{"ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"}
	ContainerFormats = []string{"ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"}
)

// Image is an image record. Nil pointers are JSON nulls.
type Image struct {
	ID              string
	Name            *string
	Status          string
	Visibility      string
	Protected       bool
	OSHidden        bool
	Owner           *string
	ContainerFormat *string
	DiskFormat      *string
	MinRAM          int
	MinDisk         int
	Size            *int64
	VirtualSize     *int64
	Checksum        *string // md5 hex
	OSHashAlgo      *string
	OSHashValue     *string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	// Version counts the stored changes of the image (clients see it as the
	// ETag, and may send it back in If-Match).
	Version    int64
	Tags       []string          // sorted, unique
	Properties map[string]string // extra properties
	// BlobKey names the image data ("" when there is none); the data has
	// this key in every store that holds it. It is never shown to clients.
	BlobKey string
	// Locations are the stores holding (or receiving) the data, oldest
	// first. Loaded by Get and List; written only through LocationRepository.
	Locations []Location
}

// Clone returns a deep copy, so that a failed update cannot corrupt a cached original.
func (im *Image) Clone() *Image {
	c := *im
	c.Tags = slices.Clone(im.Tags)
	c.Locations = slices.Clone(im.Locations)
	c.Properties = make(map[string]string, len(im.Properties))
	for k, v := range im.Properties {
		c.Properties[k] = v
	}
	return &c
}

// OwnerID is the owner or "".
func (im *Image) OwnerID() string {
	if im.Owner == nil {
		return ""
	}
	return *im.Owner
}

// Member status values.
const (
	MemberPending  = "pending"
	MemberAccepted = "accepted"
	MemberRejected = "rejected"
)

// Member is a project an image is shared with.
type Member struct {
	ImageID   string
	MemberID  string // project id
	Status    string
	CreatedAt time.Time
	UpdatedAt time.Time
}
