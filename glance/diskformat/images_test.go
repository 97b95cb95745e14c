package diskformat

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// These tests inspect images made by the real tools (qemu-img from Debian's
// qemu-utils, genisoimage; scripts/test-env.sh installs both), the way the
// data path will: the first HeadSize bytes and the file's size.

// tool runs a command the tests need; a missing tool fails the test.
func tool(t *testing.T, name string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is missing (run scripts/test-env.sh): %v", name, err)
	}
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// qemuDrivers names QEMU's drivers where they differ from the format.
var qemuDrivers = map[Format]string{VHD: "vpc"}

// qemuVirtualSize is the virtual size qemu-img reports for path.
func qemuVirtualSize(t *testing.T, path string, format Format) int64 {
	t.Helper()
	driver := cmp.Or(qemuDrivers[format], string(format))
	out, err := exec.Command("qemu-img", "info", "--output=json", "-f", driver, path).Output()
	if err != nil {
		t.Fatalf("qemu-img info %s: %v", path, err)
	}
	var info struct {
		VirtualSize int64 `json:"virtual-size"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatal(err)
	}
	return info.VirtualSize
}

// inspectFile inspects path as an upload of it would be.
func inspectFile(t *testing.T, path string) (Info, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := make([]byte, HeadSize)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF {
		t.Fatal(err)
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return Inspect(head[:n], st.Size())
}

// patch overwrites path at off with b.
func patch(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// readAt returns n bytes of path at off.
func readAt(t *testing.T, path string, off int64, n int) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	return b
}

// editEmbeddedDescriptor rewrites the descriptor qemu-img embedded in a
// sparse VMDK with edit, in place (it must still fit its sectors).
func editEmbeddedDescriptor(t *testing.T, path string, edit func(string) string) {
	t.Helper()
	area := readAt(t, path, vmdkDescOffset, qemuDescWindow)
	text := string(textPrefix(area))
	if !strings.Contains(text, `createType="monolithicSparse"`) {
		t.Fatalf("unexpected descriptor in %s:\n%s", path, text)
	}
	edited := []byte(edit(text))
	if len(edited) >= qemuDescWindow {
		t.Fatal("edited descriptor does not fit")
	}
	patch(t, path, vmdkDescOffset, append(edited, make([]byte, qemuDescWindow-len(edited))...))
}

// imageCase is one image made with the real tools and what Inspect must say.
type imageCase struct {
	name    string
	make    func(t *testing.T, dir string) string // returns the image's path
	format  Format
	variant string
	// vsize is the expected virtual size: a number, or qemuSize to ask
	// qemu-img, or fileSize for the data size.
	vsize  int64
	refuse string // the exact message of the refusal; "" when accepted
}

const (
	qemuSize = -1
	fileSize = -2
)

const mib64 = 64 << 20

// qemuImage returns a maker running qemu-img create with args, then path.
func qemuImage(name string, args ...string) func(*testing.T, string) string {
	return func(t *testing.T, dir string) string {
		p := filepath.Join(dir, name)
		tool(t, "qemu-img", append(append([]string{"create", "-q"}, args...), p, "64M")...)
		return p
	}
}

// convertedImage returns a maker converting a raw disk with some data to
// format with options.
func convertedImage(name, format string, opts ...string) func(*testing.T, string) string {
	return func(t *testing.T, dir string) string {
		raw := filepath.Join(dir, "src.raw")
		disk := make([]byte, mib64)
		copy(disk, bootSector(mbrPart{boot: 0x80, kind: 0x83, start: 2048, size: 4096}))
		copy(disk[1<<20:], bytes.Repeat([]byte("data"), 4096))
		if err := os.WriteFile(raw, disk, 0o600); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		args := []string{"convert", "-q", "-f", "raw", "-O", format}
		for _, o := range opts {
			args = append(args, "-o", o)
		}
		tool(t, "qemu-img", append(args, raw, p)...)
		return p
	}
}

// isoImage makes an ISO 9660 image with genisoimage.
func isoImage(t *testing.T, dir string) string {
	src := filepath.Join(dir, "iso-root")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "hello.txt"), bytes.Repeat([]byte("hello\n"), 10000), 0o600); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "cd.iso")
	tool(t, "genisoimage", "-quiet", "-r", "-J", "-V", "TESTCD", "-o", p, src)
	return p
}

// writeFile returns a maker writing b to name.
func writeFile(name string, b []byte) func(*testing.T, string) string {
	return func(t *testing.T, dir string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
}

var imageCases = []imageCase{
	{name: "qcow2 v2", make: qemuImage("v2.qcow2", "-f", "qcow2", "-o", "compat=0.10"), format: QCOW2, variant: "v2", vsize: mib64},
	{name: "qcow2 v3", make: qemuImage("v3.qcow2", "-f", "qcow2", "-o", "compat=1.1"), format: QCOW2, variant: "v3", vsize: mib64},
	{name: "qcow2 with data", make: convertedImage("data.qcow2", "qcow2"), format: QCOW2, variant: "v3", vsize: mib64},
	{name: "qcow2 with a backing file", make: func(t *testing.T, dir string) string {
		base := qemuImage("base.qcow2", "-f", "qcow2")(t, dir)
		p := filepath.Join(dir, "child.qcow2")
		tool(t, "qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", p)
		return p
	}, format: QCOW2, refuse: "Image data is qcow2 with a backing file, which is not allowed."},
	{name: "qcow2 with an external data file", make: func(t *testing.T, dir string) string {
		return qemuImage("df.qcow2", "-f", "qcow2", "-o", "data_file="+filepath.Join(dir, "df.raw"))(t, dir)
	}, format: QCOW2, refuse: "Image data is qcow2 with an external data file, which is not allowed."},
	// Glance (oslo.utils) allows incompatible feature bits 0 to 3 only.
	{name: "qcow2 with extended L2 entries", make: qemuImage("l2.qcow2", "-f", "qcow2", "-o", "extended_l2=on"),
		format: QCOW2, refuse: "Image data is qcow2 with unknown incompatible features (0x10), which is not allowed."},
	{name: "vmdk monolithicSparse", make: qemuImage("ms.vmdk", "-f", "vmdk", "-o", "subformat=monolithicSparse"),
		format: VMDK, variant: "monolithicSparse", vsize: qemuSize},
	{name: "vmdk streamOptimized", make: convertedImage("so.vmdk", "vmdk", "subformat=streamOptimized"),
		format: VMDK, variant: "streamOptimized", vsize: qemuSize},
	{name: "vmdk monolithicFlat descriptor", make: qemuImage("mf.vmdk", "-f", "vmdk", "-o", "subformat=monolithicFlat"),
		format: VMDK, variant: "monolithicFlat",
		refuse: "Image data is a VMDK descriptor (createType=monolithicFlat) referring to other files, which is not allowed."},
	{name: "vmdk twoGbMaxExtentSparse descriptor", make: qemuImage("tg.vmdk", "-f", "vmdk", "-o", "subformat=twoGbMaxExtentSparse"),
		format: VMDK, variant: "twoGbMaxExtentSparse",
		refuse: "Image data is a VMDK descriptor (createType=twoGbMaxExtentSparse) referring to other files, which is not allowed."},
	{name: "vmdk twoGbMaxExtentSparse extent file", make: func(t *testing.T, dir string) string {
		qemuImage("tg.vmdk", "-f", "vmdk", "-o", "subformat=twoGbMaxExtentSparse")(t, dir)
		return filepath.Join(dir, "tg-s001.vmdk")
	}, format: VMDK, refuse: "Image data is a VMDK whose descriptor has no createType, which is not allowed."},
	{name: "vmdk descriptor naming /etc/shadow", make: writeFile("shadow.vmdk", []byte(vmdkDescriptorText("monolithicFlat",
		[]string{`RW 2048 FLAT "/etc/shadow" 0`}))), format: VMDK, variant: "monolithicFlat",
		refuse: "Image data is a VMDK descriptor (createType=monolithicFlat) referring to other files, which is not allowed."},
	{name: "vmdk monolithicSparse with a second extent naming /etc/shadow", make: func(t *testing.T, dir string) string {
		p := qemuImage("two.vmdk", "-f", "vmdk", "-o", "subformat=monolithicSparse")(t, dir)
		editEmbeddedDescriptor(t, p, func(d string) string {
			return strings.Replace(d, `SPARSE "two.vmdk"`, `SPARSE "two.vmdk"`+"\n"+`RW 2048 FLAT "/etc/shadow" 0`, 1)
		})
		return p
	}, format: VMDK, variant: "monolithicSparse",
		refuse: `Image data is a VMDK whose descriptor refers to another file ("/etc/shadow"), which is not allowed.`},
	{name: "vmdk monolithicSparse naming a parent", make: func(t *testing.T, dir string) string {
		p := qemuImage("parent.vmdk", "-f", "vmdk", "-o", "subformat=monolithicSparse")(t, dir)
		editEmbeddedDescriptor(t, p, func(d string) string {
			return strings.Replace(d, "parentCID=ffffffff", "parentCID=ffffffff\n# parentFileNameHint=\"/etc/shadow\"", 1)
		})
		return p
	}, format: VMDK, refuse: "Image data is a VMDK naming a parent image (parentFileNameHint), which is not allowed."},
	{name: "vhd dynamic", make: qemuImage("d.vhd", "-f", "vpc"), format: VHD, vsize: qemuSize},
	// A fixed VHD's footer is at the end: its head is the raw disk.
	{name: "vhd fixed", make: qemuImage("f.vhd", "-f", "vpc", "-o", "subformat=fixed"), format: Unrecognised, vsize: fileSize},
	{name: "vhdx", make: qemuImage("a.vhdx", "-f", "vhdx"), format: VHDX, vsize: 0},
	{name: "vdi", make: qemuImage("a.vdi", "-f", "vdi"), format: VDI, vsize: mib64},
	{name: "iso", make: isoImage, format: ISO, vsize: fileSize},
	{name: "hybrid iso", make: func(t *testing.T, dir string) string {
		p := isoImage(t, dir)
		patch(t, p, 0, bootSector(mbrPart{boot: 0x80, kind: 0x17, start: 0, size: 100}))
		return p
	}, format: ISO, vsize: fileSize},
	{name: "iso hiding a qcow2 header", make: func(t *testing.T, dir string) string {
		p := isoImage(t, dir)
		q := qemuImage("hidden.qcow2", "-f", "qcow2")(t, dir)
		patch(t, p, 0, readAt(t, q, 0, 512))
		return p
	}, refuse: "Image data looks like several disk formats at once (qcow2, iso), which is not allowed."},
	{name: "gpt disk", make: writeFile("gpt.raw", gptDisk(4096)), format: GPT, vsize: fileSize},
	{name: "mbr boot sector", make: writeFile("boot.raw", append(bootSector(), make([]byte, 1<<20-512)...)), format: MBR, vsize: fileSize},
	{name: "raw zeros", make: qemuImage("zero.raw", "-f", "raw"), format: Unrecognised, vsize: fileSize},
}

func TestInspectRealImages(t *testing.T) {
	for _, c := range imageCases {
		t.Run(c.name, func(t *testing.T) {
			p := c.make(t, t.TempDir())
			info, err := inspectFile(t, p)
			if c.refuse != "" {
				var ue *UnsafeError
				if !errors.As(err, &ue) || !errors.Is(err, ErrUnsafe) || err.Error() != c.refuse {
					t.Fatalf("got %v (%T), want refusal %q", err, err, c.refuse)
				}
				if ue.Format != c.format || info.Variant != c.variant {
					t.Fatalf("refused as %q %q, want %q %q", ue.Format, info.Variant, c.format, c.variant)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			want := c.vsize
			switch want {
			case qemuSize:
				want = qemuVirtualSize(t, p, c.format)
			case fileSize:
				st, _ := os.Stat(p)
				want = st.Size()
			}
			if info.Format != c.format || info.Variant != c.variant || info.VirtualSize != want {
				t.Fatalf("got %+v, want format %q variant %q virtual size %d", info, c.format, c.variant, want)
			}
		})
	}
}

// TestInspectEarly inspects a real image before its end has arrived: the
// verdict is the same, only a raw image's virtual size is left unknown.
func TestInspectEarly(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{qemuImage("a.qcow2", "-f", "qcow2")(t, dir), qemuImage("b.raw", "-f", "raw")(t, dir)} {
		head := readAt(t, p, 0, HeadSize)
		early, err1 := Inspect(head, -1)
		late, err2 := inspectFile(t, p)
		if err1 != nil || err2 != nil || early.Format != late.Format {
			t.Fatalf("%s: early %+v %v, late %+v %v", p, early, err1, late, err2)
		}
		if late.Format == QCOW2 && early.VirtualSize != mib64 || late.Format == Unrecognised && (early.VirtualSize != 0 || late.VirtualSize != mib64) {
			t.Fatalf("%s: early %+v, late %+v", p, early, late)
		}
	}
}
