// Package linuxguest builds a small, real Linux guest for tests from the
// host's Debian packages (linux-image-amd64, busybox-static): the kernel,
// an initramfs with static busybox, the drivers a VM needs and an /init
// that reads Nova's config drive, takes an address by DHCP, runs the user
// data and serves HTTP on port 80. The guest boots directly (Glance's
// aki/ari/ami images, Nova's kernel_id/ramdisk_id/os_command_line) and
// runs from its initramfs; its disk is only there to be booted "from".
//
// It prints these lines on its serial console (ttyS0), in this order:
//
//	imagestack-guest-boot <kernel version>
//	instance-uuid: <uuid>              (with a config drive; else
//	hostname: <hostname>                imagestack-guest-no-config-drive)
//	public-key: <key>                  (with a key pair)
//	imagestack-guest-user-data-begin   (with user data: the user data,
//	...                                 a newline added when it lacks one)
//	imagestack-guest-user-data-end
//	imagestack-guest-dhcp eth0 <ip>    (on each DHCP lease)
//	imagestack-guest-user-data-output-begin  (user data starting "#!":
//	...                                       its output, stdout and stderr)
//	imagestack-guest-user-data-exit <status>
//	imagestack-guest-ready <ip>        (<ip> is "none" without a lease)
//
// and its HTTP page at / holds "instance-uuid: <uuid>".
package linuxguest

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Console markers of the guest (see the package comment).
const (
	ReadyMarker         = "imagestack-guest-ready "
	UUIDMarker          = "instance-uuid: "
	HostnameMarker      = "hostname: "
	PublicKeyMarker     = "public-key: "
	UserDataBegin       = "imagestack-guest-user-data-begin"
	UserDataEnd         = "imagestack-guest-user-data-end"
	UserDataOutputBegin = "imagestack-guest-user-data-output-begin"
	UserDataExitMarker  = "imagestack-guest-user-data-exit "
	NoConfigDriveMarker = "imagestack-guest-no-config-drive"
	DHCPMarker          = "imagestack-guest-dhcp "
	BootMarker          = "imagestack-guest-boot "
)

const (
	defaultBusybox         = "/usr/bin/busybox"
	diskSize               = 1 << 20
	formatVersion          = "1" // bump when the layout of the artifacts changes
	cacheDirName           = "imagestack-linuxguest"
	kernelFile, initrdFile = "vmlinuz", "initrd.img"
	diskFile               = "disk.raw"
)

// Cmdline is the kernel command line the guest is booted with (store it
// as the kernel image's os_command_line): its console on the first serial
// port, where the hypervisor's console log reads it.
const Cmdline = "console=ttyS0"

var (
	//go:embed rootfs/init
	initScript []byte
	//go:embed rootfs/udhcpc.sh
	udhcpcScript []byte
)

// Guest is a built guest: three files to upload to Glance and the
// command line to boot them with.
type Guest struct {
	Kernel        string // the kernel: disk_format and container_format aki
	Ramdisk       string // the initramfs: ari
	Disk          string // a raw 1 MiB root disk: ami, its kernel_id and ramdisk_id the above
	Cmdline       string // os_command_line
	KernelVersion string
}

// Build builds the guest from the host's newest installed kernel and
// /usr/bin/busybox, or returns the one built before: artifacts are kept in
// cacheDir (os.TempDir()/imagestack-linuxguest when "") in a directory
// named after the kernel version and a hash of every input, so that a new
// kernel, busybox or init script builds a new guest. Concurrent builds
// are safe; the files returned must not be modified.
func Build(cacheDir string) (Guest, error) {
	if cacheDir == "" {
		cacheDir = filepath.Join(os.TempDir(), cacheDirName)
	}
	kver, err := newestKernel()
	if err != nil {
		return Guest{}, err
	}
	key, err := cacheKey(kver, defaultBusybox)
	if err != nil {
		return Guest{}, err
	}
	dir := filepath.Join(cacheDir, kver+"-"+key)
	g := Guest{Kernel: filepath.Join(dir, kernelFile), Ramdisk: filepath.Join(dir, initrdFile),
		Disk: filepath.Join(dir, diskFile), Cmdline: Cmdline, KernelVersion: kver}
	if _, err := os.Stat(dir); err == nil {
		return g, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return Guest{}, fmt.Errorf("linuxguest: %w", err)
	}
	tmp, err := os.MkdirTemp(cacheDir, ".build-")
	if err != nil {
		return Guest{}, fmt.Errorf("linuxguest: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp's is 0700
		return Guest{}, fmt.Errorf("linuxguest: %w", err)
	}
	if err := buildInto(tmp, kver, defaultBusybox); err != nil {
		return Guest{}, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(dir); statErr == nil {
			return g, nil // another build finished first
		}
		return Guest{}, fmt.Errorf("linuxguest: %w", err)
	}
	return g, nil
}

// ForTest is Build for tests, into the shared cache; it fails t when the
// guest cannot be built (the Debian packages are missing).
func ForTest(t testing.TB) Guest {
	t.Helper()
	g, err := Build("")
	if err != nil {
		t.Fatalf("building the Linux test guest (needs linux-image-amd64 and busybox-static): %v", err)
	}
	return g
}

// newestKernel is the highest version with both /boot/vmlinuz-<v> and
// /lib/modules/<v>.
func newestKernel() (string, error) {
	entries, err := filepath.Glob("/boot/vmlinuz-*")
	if err != nil {
		return "", err
	}
	var found []string
	for _, e := range entries {
		v := strings.TrimPrefix(filepath.Base(e), "vmlinuz-")
		if _, err := os.Stat(filepath.Join("/lib/modules", v, "modules.dep")); err == nil {
			found = append(found, v)
		}
	}
	if len(found) == 0 {
		return "", errors.New("linuxguest: no kernel in /boot with modules in /lib/modules")
	}
	sort.Strings(found)
	return found[len(found)-1], nil
}

// cacheKey hashes what the artifacts are made of.
func cacheKey(kver, busybox string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%q\x00", formatVersion, kver, wantedModules)
	h.Write(initScript)
	h.Write(udhcpcScript)
	for _, p := range []string{"/boot/vmlinuz-" + kver, busybox} {
		f, err := os.Open(p)
		if err != nil {
			return "", fmt.Errorf("linuxguest: %w", err)
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("linuxguest: %w", err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// buildInto writes the kernel, initramfs and disk into dir.
func buildInto(dir, kver, busybox string) error {
	kernel, err := os.ReadFile("/boot/vmlinuz-" + kver)
	if err != nil {
		return fmt.Errorf("linuxguest: %w", err)
	}
	initrd, err := initramfs(kver, busybox)
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{kernelFile: kernel, initrdFile: initrd, diskFile: make([]byte, diskSize)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("linuxguest: %w", err)
		}
	}
	return nil
}

// initramfs is the gzipped newc cpio the guest runs from.
func initramfs(kver, busybox string) ([]byte, error) {
	bb, err := os.ReadFile(busybox)
	if err != nil {
		return nil, fmt.Errorf("linuxguest: %w", err)
	}
	if !bytes.HasPrefix(bb, []byte("\x7fELF")) {
		return nil, fmt.Errorf("linuxguest: %s is not an ELF binary", busybox)
	}
	modDir := filepath.Join("/lib/modules", kver)
	mods, err := modulesInOrder(modDir)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	c := &cpioWriter{w: zw}
	for _, d := range []string{"bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "dev", "proc", "sys",
		"tmp", "mnt", "lib", "lib/modules"} {
		c.Dir(d)
	}
	// The kernel opens /dev/console before /init mounts devtmpfs.
	c.CharDev("dev/console", 5, 1)
	c.File("bin/busybox", 0o755, bb)
	c.Symlink("bin/sh", "busybox")
	c.File("init", 0o755, initScript)
	c.File("etc/udhcpc.sh", 0o755, udhcpcScript)
	var order strings.Builder
	for _, m := range mods {
		name, data, err := readModule(modDir, m)
		if err != nil {
			return nil, err
		}
		c.File("lib/modules/"+name, 0o644, data)
		order.WriteString(name + "\n")
	}
	c.File("etc/modules", 0o644, []byte(order.String()))
	if err := c.Close(); err != nil {
		return nil, fmt.Errorf("linuxguest: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("linuxguest: %w", err)
	}
	return buf.Bytes(), nil
}
