package libvirt

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"imagestack/compute"
)

// TestOverlayTravels: a server's overlay streamed from one host's
// directory into another's keeps what the guest wrote, reads through the
// destination's own copy of the base, and grows to the new flavor's disk;
// the source's files stay as they were.
func TestOverlayTravels(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	src := &Driver{cfg: Config{Dir: filepath.Join(dir, "src")}}
	dst := &Driver{cfg: Config{Dir: filepath.Join(dir, "dst")}}
	srcBase, dstBase := filepath.Join(dir, "base-src.qcow2"), filepath.Join(dir, "base-dst.qcow2")
	qemuImg(t, "create", "-q", "-f", "qcow2", srcBase, "16M")
	qemuIO(t, srcBase, "write -P 0x61 0 1M")
	data, _ := os.ReadFile(srcBase)
	if err := os.WriteFile(dstBase, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := src.CreateDisk(ctx, "s", srcBase, "qcow2", 1); err != nil {
		t.Fatal(err)
	}
	qemuIO(t, src.diskPath("s"), "write -P 0x62 2M 1M")
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(exportOverlay(ctx, src.diskPath("s"), pw)) }()
	spec := compute.SpawnSpec{ServerID: "s", BaseImage: dstBase, BaseFormat: "qcow2", RootGB: 2}
	if err := dst.importOverlay(ctx, spec, pr); err != nil {
		t.Fatal(err)
	}
	info, err := imageInfo(ctx, dst.diskPath("s"), "qcow2")
	if err != nil || info.BackingFilename != dstBase || info.VirtualSize != 2<<30 {
		t.Fatalf("imported disk: %+v %v", info, err)
	}
	for _, c := range []string{"read -P 0x61 0 1M", "read -P 0x62 2M 1M", "read -P 0 4M 1M"} {
		qemuIO(t, dst.diskPath("s"), c)
	}
	if info, _ := imageInfo(ctx, src.diskPath("s"), "qcow2"); info.BackingFilename != srcBase || info.VirtualSize != 1<<30 {
		t.Fatalf("source disk changed: %+v", info)
	}
	if _, err := os.Stat(dst.diskPath("s") + ".part"); !os.IsNotExist(err) {
		t.Fatalf("partial file left: %v", err)
	}
}

// TestImportRefusesExternalData: an overlay naming an external data file
// (another file of the destination host) is refused.
func TestImportRefusesExternalData(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	base := filepath.Join(dir, "base.qcow2")
	qemuImg(t, "create", "-q", "-f", "qcow2", base, "1M")
	evil := filepath.Join(dir, "evil.qcow2")
	qemuImg(t, "create", "-q", "-f", "qcow2", "-o", "data_file="+filepath.Join(dir, "secret"), evil, "1M")
	f, err := os.Open(evil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := &Driver{cfg: Config{Dir: filepath.Join(dir, "dst")}}
	err = d.importOverlay(ctx, compute.SpawnSpec{ServerID: "s", BaseImage: base, BaseFormat: "qcow2", RootGB: 1}, f)
	if err == nil || !strings.Contains(err.Error(), "external data file") {
		t.Fatalf("import of an overlay with a data file: %v", err)
	}
}

func qemuIO(t *testing.T, path, cmd string) {
	t.Helper()
	out, err := exec.Command("qemu-io", "-f", "qcow2", "-c", cmd, path).CombinedOutput()
	if err != nil || strings.Contains(string(out), "Pattern verification failed") || strings.Contains(string(out), "error") {
		t.Fatalf("qemu-io %s %q: %v %s", path, cmd, err, out)
	}
}
