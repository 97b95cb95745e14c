package libvirt

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"libvirt.org/go/libvirtxml"

	"imagestack/compute"
)

func qemuImg(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("qemu-img", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("qemu-img %v: %v %s", args, err, out)
	}
	return string(out)
}

// TestCreateDiskChecksTheBase: the overlay is never larger than the flavor
// allows, whatever the base declares; a base too large, or one referring
// to other files, fails before anything is created.
func TestCreateDiskChecksTheBase(t *testing.T) {
	dir := t.TempDir()
	d := &Driver{cfg: Config{Dir: filepath.Join(dir, "instances")}}
	ctx := context.Background()
	huge := filepath.Join(dir, "huge.qcow2")
	qemuImg(t, "create", "-q", "-f", "qcow2", huge, "64T")
	small := filepath.Join(dir, "small.qcow2")
	qemuImg(t, "create", "-q", "-f", "qcow2", small, "10M")
	backed := filepath.Join(dir, "backed.qcow2")
	qemuImg(t, "create", "-q", "-f", "qcow2", "-b", small, "-F", "qcow2", backed)
	zeros := filepath.Join(dir, "zeros")
	if err := os.WriteFile(zeros, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	external := filepath.Join(dir, "external.qcow2")
	qemuImg(t, "create", "-q", "-f", "qcow2", "-o", "data_file="+filepath.Join(dir, "data"), external, "1M")

	for name, c := range map[string]struct {
		base, format string
		rootGB       int
		want         string
	}{
		"64 TiB base, 1 GiB flavor": {huge, "qcow2", 1, "Flavor's disk is too small"},
		"64 TiB base, zero disk":    {huge, "qcow2", 0, "zero-disk flavor"},
		"backing file":              {backed, "qcow2", 1, "backing file"},
		"external data file":        {external, "qcow2", 1, "external data file"},
		"not the format it is said": {filepath.Join(dir, "missing"), "qcow2", 1, "qemu-img info"},
	} {
		err := d.CreateDisk(ctx, "s", c.base, c.format, c.rootGB)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %q", name, err, c.want)
		}
		if _, err := os.Stat(d.serverDir("s")); !os.IsNotExist(err) {
			t.Fatalf("%s: the server directory was created: %v", name, err)
		}
	}
	// A raw file that holds a qcow2 header stays raw: its size is its own,
	// not the 64 TiB the header claims.
	rawLooksQcow2 := filepath.Join(dir, "raw")
	data, _ := os.ReadFile(huge)
	if err := os.WriteFile(rawLooksQcow2, data, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id, base, format string
		rootGB           int
		size             int64
	}{
		{"a", small, "qcow2", 1, 1 << 30},
		{"b", small, "qcow2", 0, 10 << 20},
		{"c", rawLooksQcow2, "raw", 1, 1 << 30},
	} {
		if err := d.CreateDisk(ctx, c.id, c.base, c.format, c.rootGB); err != nil {
			t.Fatalf("%s: %v", c.id, err)
		}
		var info struct {
			VirtualSize int64 `json:"virtual-size"`
		}
		json.Unmarshal([]byte(qemuImg(t, "info", "--output=json", "-U", "-f", "qcow2", d.DiskPath(c.id))), &info)
		if info.VirtualSize != c.size {
			t.Errorf("%s: overlay of %d bytes, want %d", c.id, info.VirtualSize, c.size)
		}
	}
}

// TestTailLog: the newest bytes come from the log and, after a rotation,
// its backups; only those bytes are read, however large the files are.
func TestTailLog(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "console.log")
	// An 8 GiB log (sparse) ending with a known tail.
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	tail := bytes.Repeat([]byte("0123456789abcdef"), compute.MaxConsoleBytes/16+10)
	if err := f.Truncate(8 << 30); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(tail, 8<<30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got, err := tailLog(path, compute.MaxConsoleBytes)
	runtime.ReadMemStats(&after)
	if err != nil || !bytes.Equal(got, tail[len(tail)-compute.MaxConsoleBytes:]) {
		t.Fatalf("tail of a large log: %d bytes, %v", len(got), err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4*compute.MaxConsoleBytes {
		t.Fatalf("reading the tail allocated %d bytes", alloc)
	}
	// Just rotated: console.log is short, the rest comes from .0 then .1.
	os.WriteFile(path, []byte("new\n"), 0o600)
	os.WriteFile(path+".0", bytes.Repeat([]byte("b"), 60<<10), 0o600)
	os.WriteFile(path+".1", bytes.Repeat([]byte("a"), 60<<10), 0o600)
	os.WriteFile(path+".3", []byte("beyond a gap: never read"), 0o600)
	got, err = tailLog(path, compute.MaxConsoleBytes)
	want := append(append(bytes.Repeat([]byte("a"), compute.MaxConsoleBytes-4-60<<10), bytes.Repeat([]byte("b"), 60<<10)...), "new\n"...)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("rotated log: %d bytes (want %d), %v", len(got), len(want), err)
	}
	if got, err := tailLog(filepath.Join(dir, "none"), 10); err != nil || len(got) != 0 {
		t.Fatalf("no log yet: %q %v", got, err)
	}
}

// TestSerialConsoleIsLogged: the serial console is a pty logged by
// virtlogd (which rotates it), not a file QEMU appends to without bound.
func TestSerialConsoleIsLogged(t *testing.T) {
	d := &Driver{cfg: Config{Dir: "/srv/instances", VirtType: "qemu"}}
	x, err := d.domainXML(compute.SpawnSpec{ServerID: "11111111-2222-3333-4444-555555555555", Name: "vm", MemoryMiB: 64, VCPUs: 1})
	if err != nil {
		t.Fatal(err)
	}
	var dom libvirtxml.Domain
	if err := dom.Unmarshal(x); err != nil {
		t.Fatal(err)
	}
	s := dom.Devices.Serials
	if len(s) != 1 || s[0].Source == nil || s[0].Source.Pty == nil || s[0].Source.File != nil ||
		s[0].Log == nil || s[0].Log.File != d.ConsolePath("11111111-2222-3333-4444-555555555555") || s[0].Log.Append != "on" {
		t.Fatalf("serial console: %s", x)
	}
}

// TestBootXML: a server boots from its disk unless its spec names a
// kernel; then from the kernel and ramdisk, with the image's command line
// or, without one, Nova's (plus no_timer_check under software emulation),
// its disk still attached. No config drive, no cdrom.
func TestBootXML(t *testing.T) {
	id := "11111111-2222-3333-4444-555555555555"
	for name, c := range map[string]struct {
		virtType, kernel, cmdline string
		wantCmdline               string
	}{
		"disk":                 {virtType: "kvm"},
		"kernel, kvm":          {virtType: "kvm", kernel: "/k", wantCmdline: "root=/dev/vda console=tty0 console=ttyS0 console=hvc0"},
		"kernel, qemu":         {virtType: "qemu", kernel: "/k", wantCmdline: "root=/dev/vda console=tty0 console=ttyS0 console=hvc0 no_timer_check"},
		"kernel, command line": {virtType: "qemu", kernel: "/k", cmdline: "root=/dev/sda1 ro", wantCmdline: "root=/dev/sda1 ro"},
	} {
		d := &Driver{cfg: Config{Dir: "/srv/instances", VirtType: c.virtType}}
		x, err := d.domainXML(compute.SpawnSpec{ServerID: id, MemoryMiB: 64, VCPUs: 1, Kernel: c.kernel, Ramdisk: "/r", Cmdline: c.cmdline})
		if err != nil {
			t.Fatal(err)
		}
		var dom libvirtxml.Domain
		if err := dom.Unmarshal(x); err != nil {
			t.Fatal(err)
		}
		o := dom.OS
		if c.kernel == "" {
			if o.Kernel != "" || o.Initrd != "" || o.Cmdline != "" || len(o.BootDevices) != 1 || o.BootDevices[0].Dev != "hd" {
				t.Errorf("%s: %s", name, x)
			}
		} else if o.Kernel != "/k" || o.Initrd != "/r" || o.Cmdline != c.wantCmdline || len(o.BootDevices) != 0 {
			t.Errorf("%s: kernel %q initrd %q cmdline %q boot %v", name, o.Kernel, o.Initrd, o.Cmdline, o.BootDevices)
		}
		if disks := dom.Devices.Disks; len(disks) != 1 || disks[0].Target.Dev != "vda" {
			t.Errorf("%s: disks %+v, want the root disk alone", name, disks)
		}
	}
}
