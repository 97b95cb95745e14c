package libvirt_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"imagestack/compute"
)

// guestModules are the kernel modules the initramfs loads (with what they
// depend on) to see its disk (virtio) and its config drive (an IDE cdrom
// holding ISO 9660): Debian builds them as modules.
var guestModules = []string{"virtio_pci", "virtio_blk", "ata_piix", "sr_mod", "isofs"}

// guestInit is the initramfs's /init: it prints its command line, the
// config drive's meta_data.json (found by its label, as cloud-init finds
// it) and its block devices to the serial port, then powers off.
const guestInit = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /mnt
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules); do insmod /lib/modules/$m.ko; done
echo "GUEST-CMDLINE: $(cat /proc/cmdline)" >/dev/ttyS0
for i in $(seq 1 60); do dev=$(findfs LABEL=config-2 2>/dev/null) && break; sleep 0.5; done
mount -t iso9660 -o ro "$dev" /mnt && echo "GUEST-CONFIG-DRIVE: $(cat /mnt/openstack/latest/meta_data.json)" >/dev/ttyS0
echo "GUEST-DISKS: $(ls /sys/block | tr '\n' ' ')" >/dev/ttyS0
echo GUEST-DONE >/dev/ttyS0
poweroff -f
`

// debianKernel is the newest /boot/vmlinuz-* (linux-image-amd64) and its
// modules directory.
func debianKernel(t *testing.T) (kernel, modules string) {
	t.Helper()
	found, _ := filepath.Glob("/boot/vmlinuz-*")
	if len(found) == 0 {
		t.Fatal("no /boot/vmlinuz-*: install linux-image-amd64 (scripts/test-env.sh does)")
	}
	kernel = found[len(found)-1]
	return kernel, filepath.Join("/lib/modules", strings.TrimPrefix(filepath.Base(kernel), "vmlinuz-"))
}

// moduleOrder lists names and the modules they depend on (modules.dep),
// each after its dependencies, as paths below dir.
func moduleOrder(t *testing.T, dir string, names []string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "modules.dep"))
	if err != nil {
		t.Fatal(err)
	}
	deps, byName := map[string][]string{}, map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		mod, rest, _ := strings.Cut(sc.Text(), ":")
		deps[mod] = strings.Fields(rest)
		byName[strings.ReplaceAll(strings.TrimSuffix(filepath.Base(mod), ".ko"), "-", "_")] = mod
	}
	var order []string
	seen := map[string]bool{}
	var visit func(mod string)
	visit = func(mod string) {
		if seen[mod] {
			return
		}
		seen[mod] = true
		for _, d := range deps[mod] {
			visit(d)
		}
		order = append(order, mod)
	}
	for _, n := range names {
		if byName[n] == "" {
			t.Fatalf("module %s: not in %s/modules.dep (or compressed)", n, dir)
		}
		visit(byName[n])
	}
	return order
}

// buildInitramfs writes a newc cpio archive holding a static busybox, the
// guest modules and guestInit, and returns its path.
func buildInitramfs(t *testing.T, modules string) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"bin", "lib/modules"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, "/usr/bin/busybox", filepath.Join(root, "bin/busybox"), 0o755)
	var names []string
	for _, mod := range moduleOrder(t, modules, guestModules) {
		name := strings.TrimSuffix(filepath.Base(mod), ".ko")
		copyFile(t, filepath.Join(modules, mod), filepath.Join(root, "lib/modules", name+".ko"), 0o644)
		names = append(names, name)
	}
	if err := os.WriteFile(filepath.Join(root, "modules"), []byte(strings.Join(names, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "init"), []byte(guestInit), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "initrd.cpio")
	cmd := exec.Command("sh", "-c", "find . | cpio -o -H newc --quiet >"+out)
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cpio: %v %s", err, msg)
	}
	return out
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, mode); err != nil {
		t.Fatal(err)
	}
}

// TestDirectKernelBoot boots Debian's kernel with an initramfs built here
// (one Linux boot): with no command line of its image the guest gets
// Nova's, it finds the config drive by its label config-2, and its disk
// is still attached (vda).
func TestDirectKernelBoot(t *testing.T) {
	uri := libvirtURI(t)
	kernel, modules := debianKernel(t)
	d, _ := newDriver(t, uri)
	t.Cleanup(func() { d.Close() })
	id := uuid.NewString()
	spec := compute.SpawnSpec{ServerID: id, Name: "kernel", MemoryMiB: 256, VCPUs: 1, RootGB: 1,
		BaseImage: filepath.Join(t.TempDir(), "disk.raw"), BaseFormat: "raw", ConfigDrive: d.ConfigDrivePath(id),
		Kernel: kernel, Ramdisk: buildInitramfs(t, modules)}
	if err := os.WriteFile(spec.BaseImage, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	buildISO(t, spec.ConfigDrive, map[string]string{"openstack/latest/meta_data.json": `{"uuid": "` + id + `"}`})
	spawnForTest(t, d, uri, spec)
	out := waitOutput(t, d, id, "GUEST-DONE", 3*time.Minute)
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "GUEST-") {
			t.Log(strings.TrimSpace(line))
		}
	}
	for _, want := range []string{
		"GUEST-CMDLINE: root=/dev/vda console=tty0 console=ttyS0 console=hvc0 no_timer_check",
		`GUEST-CONFIG-DRIVE: {"uuid": "` + id + `"}`,
		"GUEST-DISKS: ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the console does not show %q:\n%s", want, out)
		}
	}
	if _, disks, _ := strings.Cut(out, "GUEST-DISKS: "); !strings.Contains(strings.SplitN(disks, "\n", 2)[0], "vda") {
		t.Errorf("the guest has no vda: %q", strings.SplitN(disks, "\n", 2)[0])
	}
}

// waitOutput waits until the server's console output holds marker.
func waitOutput(t *testing.T, d interface {
	ConsoleOutput(ctx context.Context, id string) ([]byte, error)
}, id, marker string, wait time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		out, err := d.ConsoleOutput(t.Context(), id)
		if err != nil {
			t.Fatalf("ConsoleOutput: %v", err)
		}
		if bytes.Contains(out, []byte(marker)) {
			return string(out)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the console never showed %q:\n%s", marker, out)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
