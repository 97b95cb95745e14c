package compute

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"time"

	"imagestack/policy"
)

// vm_state values (Nova's).
const (
	VMBuilding = "building"
	VMActive   = "active"
	VMStopped  = "stopped"
	VMPaused   = "paused"
	VMError    = "error"
	VMDeleted  = "deleted"
	// Lifecycle states (suspend, resize, soft delete).
	VMSuspended   = "suspended"
	VMResized     = "resized"
	VMSoftDeleted = "soft-delete"
)

// task_state values used here ("" is null: no task running).
const (
	TaskNone           = ""
	TaskScheduling     = "scheduling"
	TaskSpawning       = "spawning"
	TaskPoweringOn     = "powering-on"
	TaskPoweringOff    = "powering-off"
	TaskRebooting      = "rebooting"
	TaskRebootingHard  = "rebooting_hard"
	TaskDeleting       = "deleting"
	TaskRebuilding     = "rebuilding"
	TaskPausing        = "pausing"
	TaskUnpausing      = "unpausing"
	TaskImageSnapshot  = "image_snapshot"
	TaskImagePending   = "image_pending_upload"
	TaskImageUploading = "image_uploading"
	// Lifecycle tasks (suspend, resize, soft delete), Nova's names.
	TaskSuspending      = "suspending"
	TaskResuming        = "resuming"
	TaskResizePrep      = "resize_prep"
	TaskResizeMigrating = "resize_migrating"
	TaskResizeMigrated  = "resize_migrated"
	TaskResizeFinish    = "resize_finish"
	TaskResizeReverting = "resize_reverting"
	TaskResizeConfirm   = "resize_confirming"
	TaskSoftDeleting    = "soft-deleting"
	TaskRestoring       = "restoring"
	// TaskMigrating is a live migration under way (MIGRATING).
	TaskMigrating = "migrating"
)

// PowerState is Nova's power_state number.
type PowerState int

// Power states.
const (
	PowerNoState  PowerState = 0
	PowerRunning  PowerState = 1
	PowerPaused   PowerState = 3
	PowerShutdown PowerState = 4
	PowerCrashed  PowerState = 6
)

// Server is a VM record.
type Server struct {
	ID, Name           string
	ProjectID, UserID  string
	ImageID            string
	FlavorID           string
	RAM, VCPUs, Disk   int // copied from the flavor at create time
	VMState, TaskState string
	PowerState         PowerState
	ReservationID      string
	KeyName            string
	Metadata           map[string]string
	Fault              string // message of the last failure, shown with ERROR
	// What the guest gets (Nova's instance fields): accessIPv4/v6 as given,
	// the zone asked for ("" none), the config drive (asked for or forced),
	// user data (decoded; MaxUserData bounds its base64 text), the key pair's public
	// key at boot time, the hostname derived from the name, and the
	// server's index within its batch.
	AccessIPv4, AccessIPv6 string
	AvailabilityZone       string
	ConfigDrive            bool
	UserData               []byte
	KeyData                string
	Hostname               string
	LaunchIndex            int
	// Locked servers refuse actions by non-admins (409); LockedBy is
	// "owner" or "admin", as Nova records who locked it.
	Locked       bool
	LockedBy     string
	LockedReason string
	// NICs are the server's network interfaces (Nova's network info
	// cache), as the network service allocated them.
	NICs []NIC
	// Description is the user's text (nil: null). Flavor is the server's
	// own copy of its flavor's other figures (microversion 2.47 embeds it).
	// KernelID and RamdiskID are the images a kernel-boot server starts.
	Description         *string
	Flavor              FlavorCopy
	KernelID, RamdiskID string
	// SystemMetadata is what the service notes about the server for
	// itself (Nova's system_metadata, never shown by the API): the
	// shelved_* keys of a shelved server.
	SystemMetadata map[string]string
	// Host is the compute host the server was placed on ("" before
	// placement, or when placement found none) and Node its hypervisor
	// there (OS-EXT-SRV-ATTR:host and :hypervisor_hostname).
	Host, Node string
	// TaskOwner is the member holding the lease on the server's task (""
	// for none; see TaskLeaseRepository). Read only: UpdateServer never
	// writes it.
	TaskOwner string
	// Tags are the server's tags (Nova 2.26), sorted; see ValidTag.
	Tags                 []string
	CreatedAt, UpdatedAt time.Time
	LaunchedAt           *time.Time
	// Resize: the flavor before a resize not yet confirmed or reverted
	// (Nova's old_flavor; OldFlavorID "" when none) and the vm_state the
	// resize started from (active or stopped), to which confirm and revert
	// return.
	OldFlavorID               string
	OldRAM, OldVCPUs, OldDisk int
	OldFlavor                 FlavorCopy
	OldVMState                string
	// DeletedAt is when a server was soft-deleted (nil otherwise): the
	// reclaimer deletes it reclaim_instance_interval later.
	DeletedAt *time.Time
}

// FlavorCopy is what a server keeps of its flavor besides RAM, vCPUs and
// disk, so that later flavor changes or deletion do not alter it.
type FlavorCopy struct {
	Name       string            `json:"name"`
	Swap       int               `json:"swap"`
	Ephemeral  int               `json:"ephemeral"`
	ExtraSpecs map[string]string `json:"extra_specs,omitempty"`
}

// SetFlavor gives the server flavor f (with its extra specs): its id,
// sizes and copy.
func (s *Server) SetFlavor(f Flavor, specs map[string]string) {
	s.FlavorID, s.RAM, s.VCPUs, s.Disk = f.ID, f.RAM, f.VCPUs, f.Disk
	s.Flavor = FlavorCopy{Name: f.Name, Swap: f.Swap, Ephemeral: f.Ephemeral, ExtraSpecs: specs}
}

// Status is the API status Nova derives from vm_state and task_state.
func (s *Server) Status() string {
	switch s.VMState {
	case VMBuilding:
		return "BUILD"
	case VMStopped:
		if Resizing(s.TaskState) {
			return "RESIZE"
		}
		return "SHUTOFF"
	case VMPaused:
		return "PAUSED"
	case VMError:
		return "ERROR"
	case VMDeleted:
		return "DELETED"
	case VMShelved:
		return "SHELVED"
	case VMShelvedOffloaded:
		return "SHELVED_OFFLOADED"
	case VMSuspended:
		return "SUSPENDED"
	case VMSoftDeleted:
		return "SOFT_DELETED"
	case VMResized:
		if s.TaskState == TaskResizeReverting {
			return "REVERT_RESIZE"
		}
		return "VERIFY_RESIZE"
	case VMActive:
		switch s.TaskState {
		case TaskRebooting:
			return "REBOOT"
		case TaskRebootingHard:
			return "HARD_REBOOT"
		case TaskRebuilding:
			return "REBUILD"
		case TaskMigrating:
			return "MIGRATING"
		}
		if Resizing(s.TaskState) {
			return "RESIZE"
		}
		return "ACTIVE"
	}
	return "UNKNOWN"
}

// Resizing reports whether task is a step of a resize on its way to
// VERIFY_RESIZE (Nova shows such a server as RESIZE).
func Resizing(task string) bool {
	switch task {
	case TaskResizePrep, TaskResizeMigrating, TaskResizeMigrated, TaskResizeFinish:
		return true
	}
	return false
}

// ServerFilter narrows a server listing.
type ServerFilter struct {
	ProjectID     string // "" = every project (admins with all_tenants)
	Status        string // vm_state to match, "" = any but deleted
	ImageID       string
	FlavorID      string
	ReservationID string
	// Name is a regular expression (Go's syntax) that must match somewhere
	// in the name, case-sensitive, as Nova's re.search; "" = any name. The
	// repository applies it with the other filters, before marker and
	// limit, so that a page is full whenever more matches exist.
	Name         string
	ChangesSince *time.Time
	Limit        int
	Marker       string
	ServerFilterMore
}

// MaxUserData is Nova's limit on a server's user data: 65535 characters of
// base64 text on the API (at most 49149 bytes once decoded).
const MaxUserData = 65535

// Usage is what a project's live (not deleted) servers hold of its quotas.
type Usage struct {
	Instances, VCPUs, RAM int
}

// FitFunc decides, from a project's usage, how many of the servers being
// created may be stored: 0 to all of them, or an error that stores none.
type FitFunc func(used Usage) (int, error)

// ServerRepository persists servers. Errors wrap ErrNotFound where stated.
type ServerRepository interface {
	// CreateServers stores servers, all of projectID, within the project's
	// quota: it reads the project's usage, asks fit how many of servers may
	// be stored, and stores that many (the first ones) or, when fit fails,
	// none, returning fit's error as it is. The read and the insert are one
	// step per project: concurrent calls for a project run one after the
	// other, so fit always sees the servers of every call that came before,
	// and two calls can never both spend the same quota.
	CreateServers(ctx context.Context, projectID string, servers []*Server, fit FitFunc) ([]*Server, error)
	// GetServer returns a server (deleted ones included), or ErrNotFound.
	GetServer(ctx context.Context, id string) (*Server, error)
	// ListServers returns the servers matching every filter of f, in the
	// order of f.Sort (newest first by default): the Limit first of those
	// after Marker (0: all), the marker's place being its values of the
	// sort keys. An unknown marker is ErrNotFound; a Name or KeyName the
	// engine cannot compile is ErrBadRequest. Servers carry their
	// metadata and tags.
	ListServers(ctx context.Context, f ServerFilter) ([]*Server, error)
	// UpdateServer overwrites the server's mutable fields, metadata and tags.
	UpdateServer(ctx context.Context, s *Server) error
	// CountUsage returns what a project's live servers hold (a snapshot,
	// for display; quota checks go through CreateServers).
	CountUsage(ctx context.Context, projectID string) (Usage, error)
}

// ImageInfo is what compute needs to know about an image.
type ImageInfo struct {
	ID, Name, Status     string
	DiskFormat, Checksum string
	MinRAM, MinDisk      int
	Size                 int64
	VirtualSize          int64
	Properties           map[string]string
}

// Images is the image service as compute sees it; cmd wires it to the
// embedded Glance (or a client of an external one). Calls act with the
// credentials of the user whose server needs the image.
type Images interface {
	// Get returns an image the user may see, or an error wrapping ErrNotFound.
	Get(ctx context.Context, user policy.Credentials, id string) (ImageInfo, error)
	// Download streams the image data to w.
	Download(ctx context.Context, user policy.Credentials, id string, w io.Writer) error
	// DownloadRange streams n bytes of the image data from offset off to w
	// (a Range read: how a lazily arriving base is filled).
	DownloadRange(ctx context.Context, user policy.Credentials, id string, off, n int64, w io.Writer) error
	// Create registers a new private image owned by the user's project and
	// returns its id.
	Create(ctx context.Context, user policy.Credentials, req NewImage) (string, error)
	// Upload streams data into a queued image.
	Upload(ctx context.Context, user policy.Credentials, id string, r io.Reader) error
	// Delete removes an image (used to clean up a failed snapshot).
	Delete(ctx context.Context, user policy.Credentials, id string) error
	// List returns the images the user may see whose properties include
	// every one of properties (exact values), newest first: a server's
	// backups, to rotate them.
	List(ctx context.Context, user policy.Credentials, properties map[string]string) ([]ImageInfo, error)
}

// NewImage describes an image to create (a server snapshot).
type NewImage struct {
	Name                        string
	DiskFormat, ContainerFormat string
	MinRAM, MinDisk             int
	Properties                  map[string]string
}

// HostID is Nova's opaque host identifier for a project: a hash, so that a
// project can tell whether two of its servers share a host without learning
// the host's name.
func HostID(project string) string {
	sum := sha256.Sum224([]byte(project + "imagestack-host"))
	return hex.EncodeToString(sum[:])
}
