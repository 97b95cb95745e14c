package tests

import (
	"bytes"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imageimport"
)

// TestImportPluginsConvertQcow2: with image_conversion (and the other two
// plugins) on, `glance image-create-via-import --import-method
// glance-direct` of a qcow2 makes a raw image whose bytes (`openstack image
// save`), size and hashes are those of `qemu-img convert`, with its
// original format and the injected property shown.
func TestImportPluginsConvertQcow2(t *testing.T) {
	s := NewServer(t, nil, `image: {import_plugins: [image_decompression, image_conversion, inject_image_metadata],
  inject_metadata_properties: {inject: {hw_disk_bus: scsi}}}`)
	dir := t.TempDir()
	src, want := filepath.Join(dir, "disk.qcow2"), filepath.Join(dir, "disk.raw")
	for _, args := range [][]string{
		{"qemu-img", "create", "-q", "-f", "qcow2", src, "16M"},
		{"qemu-io", "-f", "qcow2", "-c", "write -P 0x6b 2M 1M", "-c", "write -P 0x11 15M 4k", src},
		{"qemu-img", "convert", "-f", "qcow2", "-O", "raw", src, want},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	out := mustGlance(t, s, "demo", "image-create-via-import", "--import-method", "glance-direct", "--file", src,
		"--disk-format", "qcow2", "--container-format", "bare", "--name", "converted")
	var id string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 4 && f[1] == "id" {
			id = f[3]
		}
	}
	c := imageClient(t, s, "demo")
	var m map[string]any
	eventually(t, 30*time.Second, func() (bool, string) {
		m = rawImage(t, c, id)
		return m["status"] == "active", fmt.Sprintf("image %s is %v", id, m["status"])
	})
	raw, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	md5sum, sha := md5.Sum(raw), sha512.Sum512(raw)
	if m["disk_format"] != "raw" || m["container_format"] != "bare" || fmt.Sprint(m["size"]) != fmt.Sprint(len(raw)) ||
		m["checksum"] != hex.EncodeToString(md5sum[:]) || m["os_hash_value"] != hex.EncodeToString(sha[:]) {
		t.Fatalf("converted image: %v, want raw of %d bytes", m, len(raw))
	}
	if m["os_glance_original_disk_format"] != "qcow2" || m["hw_disk_bus"] != "scsi" {
		t.Fatalf("properties: %v", m)
	}
	saved := filepath.Join(dir, "saved.raw")
	s.MustCLI("demo", "image", "save", "--file", saved, "converted")
	if got, err := os.ReadFile(saved); err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("image save differs from qemu-img convert (%d bytes, %v)", len(got), err)
	}
	if info, err := imageimport.Get(t.Context(), c).Extract(); err != nil || !slices.Contains(info.ImportMethods.Value, "glance-direct") {
		t.Fatalf("import info: %+v %v", info, err)
	}
	if work, _ := os.ReadDir(filepath.Join(s.StateDir, "staging", "work")); len(work) != 0 {
		t.Fatalf("%d work files left", len(work))
	}
}
