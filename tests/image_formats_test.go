package tests

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// TestUnsafeImageDataRefused drives the openstack CLI: a VMDK text
// descriptor whose extent names /etc/shadow, a qcow2 with a backing file
// and a qcow2 declared raw are refused with 400 and never become active; a
// real qcow2 declared qcow2 becomes active with its virtual size.
func TestUnsafeImageDataRefused(t *testing.T) {
	s := NewServer(t, nil, "")
	ic := imageClient(t, s, "demo")
	dir := t.TempDir()
	descriptor := filepath.Join(dir, "evil.vmdk")
	os.WriteFile(descriptor, []byte("# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"+
		"createType=\"monolithicFlat\"\n\n# Extent description\nRW 2048 FLAT \"/etc/shadow\" 0\n"), 0o600)
	good, base, overlay := filepath.Join(dir, "good.qcow2"), filepath.Join(dir, "base.qcow2"), filepath.Join(dir, "overlay.qcow2")
	for _, args := range [][]string{
		{"create", "-q", "-f", "qcow2", good, "64M"},
		{"create", "-q", "-f", "qcow2", base, "64M"},
		{"create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", overlay},
	} {
		if out, err := exec.Command("qemu-img", args...).CombinedOutput(); err != nil {
			t.Fatalf("qemu-img %v: %v %s", args, err, out)
		}
	}
	for _, c := range []struct{ name, file, format, want string }{
		{"vmdk-descriptor", descriptor, "vmdk", "VMDK descriptor"},
		{"qcow2-backing", overlay, "qcow2", "backing file"},
		{"qcow2-as-raw", good, "raw", "set disk_format to qcow2"},
	} {
		_, errOut, err := s.CLI("demo", "image", "create", "--disk-format", c.format, "--container-format", "bare", "--file", c.file, c.name)
		if err == nil || !strings.Contains(errOut, "400") {
			t.Errorf("%s: the CLI reported %v: %s", c.name, err, errOut)
		}
		// The CLI deletes the image its upload failed for; whatever is
		// left is queued, never active.
		if out := s.MustCLI("demo", "image", "list", "--name", c.name, "-f", "value", "-c", "Status"); strings.TrimSpace(out) != "" && strings.TrimSpace(out) != "queued" {
			t.Errorf("%s: image status %q", c.name, out)
		}
		// The reason reaches clients that show it (glanceclient).
		im, err := images.Create(t.Context(), ic, images.CreateOpts{Name: c.name + "-2", DiskFormat: c.format, ContainerFormat: "bare"}).Extract()
		if err != nil {
			t.Fatal(err)
		}
		code, msg := rawUpload(t, ic.TokenID, s, im.ID, c.file)
		if code != 400 || !strings.Contains(msg, c.want) {
			t.Errorf("%s: upload answered %d %q, want 400 naming %q", c.name, code, msg, c.want)
		}
	}
	s.MustCLI("demo", "image", "create", "--disk-format", "qcow2", "--container-format", "bare", "--file", good, "good")
	out := s.MustCLI("demo", "image", "show", "-f", "value", "-c", "status", "-c", "virtual_size", "good")
	if fields := strings.Fields(out); len(fields) != 2 || fields[0] != "active" || fields[1] != "67108864" {
		t.Fatalf("real qcow2: %q, want active with virtual size 64 MiB", out)
	}
}

// rawUpload PUTs a file with a token and returns the status and body.
func rawUpload(t *testing.T, token string, s *Server, id, file string) (int, string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	resp, err := uploadRaw(s, token, id, f)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}
