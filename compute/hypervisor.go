package compute

import "context"

// SpawnSpec is what a hypervisor needs to create and boot a VM.
type SpawnSpec struct {
	ServerID  string
	Name      string
	MemoryMiB int
	VCPUs     int
	// RootGB is the size of the server's own disk, a copy-on-write overlay
	// over BaseImage. The base's real virtual size (read from the file,
	// whatever the image service recorded) must fit in it, or the spawn
	// fails. 0 (a zero-disk flavor, admins only) gives the overlay the
	// base's own size, up to MaxZeroDiskGB.
	RootGB     int
	BaseImage  string // path of the cached base image on this host
	BaseFormat string // "raw" or "qcow2"
	// LazyBase, when set, says the base is still arriving: BaseImage is
	// where it will be once verified, and the VM reads it through
	// LazyBase meanwhile (and afterwards: the endpoint then serves the
	// verified file).
	LazyBase *LazyBase
	// NICs are the server's network interfaces, in order (eth0 first).
	NICs []VIF
	// ConfigDrive, when set, is the path of an ISO 9660 image (label
	// config-2) attached read-only as the server's second disk. The
	// hypervisor reads it while the VM runs: the caller keeps it in place
	// until Destroy.
	ConfigDrive string
	// Kernel and Ramdisk, when Kernel is set, are paths of a kernel and an
	// initrd (from the image cache) the VM boots directly, with Cmdline as
	// its command line (Nova's kernel_id, ramdisk_id, os_command_line).
	// Otherwise the VM boots from its disk.
	Kernel, Ramdisk, Cmdline string
}

// LazyBase is where a VM reads a base image that is still arriving: an
// http URL on the host's loopback, answering Range requests that carry the
// cookie CookieName=Cookie.
type LazyBase struct {
	URL, CookieName, Cookie string
}

// ArrivingBase is a base image still arriving on the host, which a server
// boots from meanwhile.
type ArrivingBase interface {
	// Booted says the VM has started: the rest of the base may now be
	// fetched in the background without slowing its boot.
	Booted()
	// Verified waits until the whole base is here and checked, and returns
	// why it was discarded if it was.
	Verified() error
}

// VIF is one network interface of a server: a tap device plugged into a
// Linux bridge that the network service manages.
type VIF struct {
	MAC    string // e.g. fa:16:3e:12:34:56
	Bridge string // the bridge the tap joins (it exists before Spawn)
	Device string // the tap's name on the host (at most 14 characters)
	MTU    int    // 0: the bridge's
}

// MaxZeroDiskGB caps the disk of a server whose flavor has a zero root
// disk: such a disk takes the image's size, and an image may declare any
// size (a qcow2 of a few KiB can claim 64 TiB). 1 TiB is also the image
// service's default upload cap.
const MaxZeroDiskGB = 1024

// MaxConsoleBytes is how much of a server's newest console output is ever
// read and shown (Nova's MAX_CONSOLE_BYTES).
const MaxConsoleBytes = 100 << 10

// Hypervisor runs VMs. Implementations name their domains after the server id
// and keep per-server files (disk overlay, console log) of their own.
// computetest.HypervisorSuite checks this contract on every implementation.
// Start, Stop, Reboot, Pause, Unpause, Snapshot and the lifecycle calls
// (Suspend to InjectNMI) of a server that has no VM fail with an
// error wrapping ErrNotFound (the service meets that when a delete won the
// race); PowerState, ConsoleOutput, Destroy and Rebuild say below what they
// do then.
type Hypervisor interface {
	// Spawn creates the server's disk over the base image, defines the VM and
	// starts it: PowerRunning once it returns. On error nothing of the
	// server is left behind.
	Spawn(ctx context.Context, spec SpawnSpec) error
	// Start boots a stopped VM: PowerRunning once it returns.
	Start(ctx context.Context, serverID string) error
	// Stop powers a VM off (hard stop; guests here have no ACPI agents):
	// PowerShutdown once it returns. Stopping a stopped VM is no error.
	Stop(ctx context.Context, serverID string) error
	// Reboot restarts a running VM; hard resets it without asking the guest
	// (which then boots again), soft asks the guest and resets it only when
	// asking fails. The VM is PowerRunning once it returns.
	Reboot(ctx context.Context, serverID string, hard bool) error
	// Pause freezes a running VM in memory (PowerPaused once it returns);
	// Unpause lets a paused one run on (PowerRunning), without a new boot.
	Pause(ctx context.Context, serverID string) error
	Unpause(ctx context.Context, serverID string) error
	// Destroy stops the VM and removes its definition and files; an unknown
	// server is not an error, so Destroy may be repeated.
	Destroy(ctx context.Context, serverID string) error
	// PowerState reports the VM's state; PowerNoState, without error, when
	// it does not exist.
	PowerState(ctx context.Context, serverID string) (PowerState, error)
	// ConsoleOutput returns the newest bytes of the server's serial console
	// output, at most MaxConsoleBytes of them, reading no more than that
	// however large the log has grown; nothing (no error) when there is no
	// output yet or no such server.
	ConsoleOutput(ctx context.Context, serverID string) ([]byte, error)
	// Rebuild replaces the server's VM and disk with fresh ones over spec's
	// base image and boots it (PowerRunning once it returns); the server
	// keeps its identity. A server whose VM is gone (a failed spawn) gets
	// one again: rebuilding is how a damaged server is recovered.
	Rebuild(ctx context.Context, spec SpawnSpec) error
	// ConsoleSocket returns the path of the running VM's VNC server, a unix
	// socket speaking RFB with no authentication (the console proxy in front
	// of it checks who may connect). A server with no running VM is an error
	// wrapping ErrNotFound.
	ConsoleSocket(ctx context.Context, serverID string) (string, error)
	// Snapshot writes a consistent, standalone qcow2 copy of the server's
	// disk to dst. A running guest is paused while its disk is read and
	// runs again afterwards; a stopped one stays stopped.
	Snapshot(ctx context.Context, serverID, dst string) error
	// Suspend saves a running VM's memory to disk and powers it off
	// (PowerShutdown once it returns, as after libvirt's managed save);
	// Resume restores it (PowerRunning), the guest running on where it
	// was, without a new boot.
	Suspend(ctx context.Context, serverID string) error
	Resume(ctx context.Context, serverID string) error
	// Resize gives a VM spec's vCPUs and memory and grows its disk to
	// spec.RootGB (never shrinks it: a smaller RootGB is an error, and
	// nothing changes), keeping a copy of the disk as it was for
	// RevertResize. A running VM is powered off for it and boots again
	// afterwards; a stopped one stays stopped.
	Resize(ctx context.Context, serverID string, spec ResizeSpec) error
	// ConfirmResize drops the copy Resize kept; none is no error.
	ConfirmResize(ctx context.Context, serverID string) error
	// RevertResize gives the VM back its disk as Resize found it and the
	// sizes of old (the flavor before the resize), powering it off and on
	// again as Resize does. Without a copy kept by Resize it fails and
	// changes nothing.
	RevertResize(ctx context.Context, serverID string, old ResizeSpec) error
	// InjectNMI sends a non-maskable interrupt to a running VM (Nova's
	// trigger_crash_dump): a guest set up for it dumps its kernel. A VM
	// that is not running is an error wrapping ErrConflict.
	InjectNMI(ctx context.Context, serverID string) error
}

// ResizeSpec is the size a VM gets from its flavor.
type ResizeSpec struct {
	MemoryMiB, VCPUs, RootGB int
}
