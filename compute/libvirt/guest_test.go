package libvirt_test

import (
	"bytes"
	"cmp"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"libvirt.org/go/libvirtxml"

	"imagestack/compute"
	"imagestack/compute/computetest"
	"imagestack/compute/libvirt"
)

// buildISO writes a config drive as Nova's genisoimage call does (ISO
// 9660 with Rock Ridge and Joliet, label config-2) holding files.
func buildISO(t *testing.T, path string, files map[string]string) {
	t.Helper()
	src := t.TempDir()
	for name, content := range files {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("genisoimage", "-o", path, "-ldots", "-allow-lowercase", "-allow-multidot", "-l",
		"-quiet", "-J", "-r", "-V", "config-2", src).CombinedOutput()
	if err != nil {
		t.Fatalf("genisoimage: %v %s", err, out)
	}
}

// liveDomain reads a server's running definition, as virsh shows it.
func liveDomain(t *testing.T, uri, id string) libvirtxml.Domain {
	t.Helper()
	out, err := exec.Command("virsh", "-c", uri, "dumpxml", "imagestack-"+id).Output()
	if err != nil {
		t.Fatalf("virsh dumpxml: %v", err)
	}
	var dom libvirtxml.Domain
	if err := dom.Unmarshal(string(out)); err != nil {
		t.Fatal(err)
	}
	return dom
}

// spawnForTest spawns spec on d and destroys it at the test's end, checking
// that no domain, tap or file of it remains.
func spawnForTest(t *testing.T, d *libvirt.Driver, uri string, spec compute.SpawnSpec) {
	t.Helper()
	t.Cleanup(func() {
		ctx := context.WithoutCancel(t.Context())
		if err := d.Destroy(ctx, spec.ServerID); err != nil {
			t.Errorf("Destroy: %v", err)
		}
		if out, err := exec.Command("virsh", "-c", uri, "list", "--all", "--name").Output(); err != nil || bytes.Contains(out, []byte(spec.ServerID)) {
			t.Errorf("a domain is left: %s %v", out, err)
		}
		wantUnplugged(t, spec.NICs)
		if _, err := os.Stat(filepath.Dir(d.ConfigDrivePath(spec.ServerID))); !os.IsNotExist(err) {
			t.Errorf("the server's directory is left: %v", err)
		}
	})
	if err := d.Spawn(t.Context(), spec); err != nil {
		t.Fatalf("Spawn: %v", err)
	}
}

// wantPlugged checks that each NIC's tap is in its bridge with its MTU.
func wantPlugged(t *testing.T, vifs []compute.VIF) {
	t.Helper()
	for _, v := range vifs {
		master, err := os.Readlink("/sys/class/net/" + v.Device + "/master")
		if err != nil || filepath.Base(master) != v.Bridge {
			t.Errorf("tap %s: master %q (%v), want bridge %s", v.Device, master, err, v.Bridge)
		}
		mtu, _ := os.ReadFile("/sys/class/net/" + v.Device + "/mtu")
		if want := cmp.Or(v.MTU, 1500); strings.TrimSpace(string(mtu)) != strconv.Itoa(want) {
			t.Errorf("tap %s: MTU %q, want %d", v.Device, mtu, want)
		}
	}
}

// wantUnplugged checks that the NICs' taps are gone from the host.
func wantUnplugged(t *testing.T, vifs []compute.VIF) {
	t.Helper()
	for _, v := range vifs {
		if _, err := os.Stat("/sys/class/net/" + v.Device); !os.IsNotExist(err) {
			t.Errorf("tap %s is still there (%v)", v.Device, err)
		}
	}
}

// wantDevices checks the running domain's NICs (in order, with their MACs,
// bridges, taps, virtio model and MTUs), its config drive (a read-only
// IDE cdrom) and its VNC socket, as virsh shows them.
func wantDevices(t *testing.T, uri string, d *libvirt.Driver, spec compute.SpawnSpec) {
	t.Helper()
	dom := liveDomain(t, uri, spec.ServerID)
	nics := dom.Devices.Interfaces
	if len(nics) != len(spec.NICs) {
		t.Fatalf("%d interfaces, want %d", len(nics), len(spec.NICs))
	}
	for i, v := range spec.NICs {
		x, _ := nics[i].Marshal()
		var mtu uint
		if n := nics[i]; n.MTU != nil {
			mtu = n.MTU.Size
		}
		n := nics[i]
		if n.MAC == nil || n.MAC.Address != v.MAC || n.Source == nil || n.Source.Bridge == nil || n.Source.Bridge.Bridge != v.Bridge ||
			n.Target == nil || n.Target.Dev != v.Device || n.Model == nil || n.Model.Type != "virtio" || mtu != uint(v.MTU) {
			t.Errorf("interface %d: %s, want %+v", i, x, v)
		}
	}
	var cdrom *libvirtxml.DomainDisk
	for i, disk := range dom.Devices.Disks {
		if disk.Device == "cdrom" {
			cdrom = &dom.Devices.Disks[i]
		}
	}
	if cdrom == nil || cdrom.Source.File.File != spec.ConfigDrive || cdrom.ReadOnly == nil ||
		cdrom.Target.Bus != "ide" || cdrom.Target.Dev != "hda" || cdrom.Driver.Type != "raw" {
		t.Errorf("config drive: %+v, want a read-only IDE cdrom of %s", cdrom, spec.ConfigDrive)
	}
	display, err := exec.Command("virsh", "-c", uri, "domdisplay", "imagestack-"+spec.ServerID).Output()
	if want := "vnc+unix://" + d.VNCSocketPath(spec.ServerID); err != nil || strings.TrimSpace(string(display)) != want {
		t.Errorf("virsh domdisplay: %q %v, want %s", display, err, want)
	}
}

// wantRFB checks that the server's VNC socket, as ConsoleSocket names it,
// greets a client with RFB 3.8.
func wantRFB(t *testing.T, d *libvirt.Driver, id string) {
	t.Helper()
	p, err := d.ConsoleSocket(t.Context(), id)
	if err != nil || p != d.VNCSocketPath(id) {
		t.Fatalf("ConsoleSocket: %q %v, want %s", p, err, d.VNCSocketPath(id))
	}
	c, err := net.Dial("unix", p)
	if err != nil {
		t.Fatalf("connecting to the VNC socket: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	greeting := make([]byte, 12)
	if _, err := io.ReadFull(c, greeting); err != nil || string(greeting) != "RFB 003.008\n" {
		t.Fatalf("VNC greeting %q %v, want RFB 003.008", greeting, err)
	}
}

// TestGuestDevices: a server's taps are plugged into its bridge with its
// MACs and MTUs, its config drive is a read-only cdrom, its VNC socket
// answers RFB; all of it the same after stop/start, reboot and rebuild
// (whose config drive, rebuilt where ConfigDrivePath says, is kept); Stop
// unplugs the taps, Destroy removes them, the domain and the drive.
func TestGuestDevices(t *testing.T) {
	uri := libvirtURI(t)
	bridge := newBridge(t)
	d, _ := newDriver(t, uri)
	t.Cleanup(func() { d.Close() })
	id := uuid.NewString()
	spec := compute.SpawnSpec{ServerID: id, Name: "devices", MemoryMiB: 32, VCPUs: 1, RootGB: 1,
		BaseImage: computetest.BootImage(t, "DEVICES"), BaseFormat: "raw", ConfigDrive: d.ConfigDrivePath(id),
		NICs: []compute.VIF{computetest.NewVIF(bridge, 0), computetest.NewVIF(bridge, 1400)}}
	buildISO(t, spec.ConfigDrive, map[string]string{"openstack/latest/meta_data.json": `{"uuid": "` + id + `"}`})
	spawnForTest(t, d, uri, spec)
	check := func(when string) {
		t.Helper()
		t.Logf("checking devices %s", when)
		wantPlugged(t, spec.NICs)
		wantDevices(t, uri, d, spec)
		wantRFB(t, d, id)
	}
	check("after Spawn")
	ctx := t.Context()
	if err := d.Stop(ctx, id); err != nil {
		t.Fatal(err)
	}
	wantUnplugged(t, spec.NICs)
	if err := d.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	check("after Stop and Start")
	if err := d.Reboot(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	check("after a hard Reboot")
	buildISO(t, spec.ConfigDrive, map[string]string{"openstack/latest/meta_data.json": `{"uuid": "` + id + `", "rebuilt": true}`})
	if err := d.Rebuild(ctx, spec); err != nil {
		t.Fatalf("Rebuild: %v", err)
	}
	if _, err := os.Stat(spec.ConfigDrive); err != nil {
		t.Fatalf("Rebuild removed the config drive its spec names: %v", err)
	}
	check("after Rebuild")
}
