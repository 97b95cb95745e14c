package compute

import "context"

// SpawnSpec is what a hypervisor needs to create and boot a VM.
type SpawnSpec struct {
	ServerID  string
	Name      string
	MemoryMiB int
	VCPUs     int
	// RootGB is the size of the server's own disk: a copy-on-write overlay
	// over BaseImage, never smaller than the base image.
	RootGB     int
	BaseImage  string // path of the cached base image on this host
	BaseFormat string // "raw" or "qcow2"
}

// Hypervisor runs VMs. Implementations name their domains after the server id
// and keep per-server files (disk overlay, console log) of their own.
type Hypervisor interface {
	// Spawn creates the server's disk over the base image, defines the VM and
	// starts it. On error nothing of the server is left behind.
	Spawn(ctx context.Context, spec SpawnSpec) error
	// Start boots a stopped VM.
	Start(ctx context.Context, serverID string) error
	// Stop powers a VM off (hard stop; guests here have no ACPI agents).
	Stop(ctx context.Context, serverID string) error
	// Reboot restarts a running VM; hard resets it without asking the guest.
	Reboot(ctx context.Context, serverID string, hard bool) error
	// Destroy stops the VM and removes its definition and files; an unknown
	// server is not an error.
	Destroy(ctx context.Context, serverID string) error
	// PowerState reports the VM's state; PowerNoState when it does not exist.
	PowerState(ctx context.Context, serverID string) (PowerState, error)
	// ConsoleOutput returns the last lines of the serial console (all when lines <= 0).
	ConsoleOutput(ctx context.Context, serverID string, lines int) (string, error)
	// Rebuild replaces the server's disk with a fresh one over spec's base
	// image and boots it again; the server keeps its identity.
	Rebuild(ctx context.Context, spec SpawnSpec) error
	// Snapshot writes a consistent, standalone qcow2 copy of the server's
	// disk to dst. A running guest is paused while its disk is read.
	Snapshot(ctx context.Context, serverID, dst string) error
}
