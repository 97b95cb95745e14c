package tests

import (
	"bytes"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImageLocationsWithGlanceclient: with show_multiple_locations on, an
// admin gives an image data already in the file store with glanceclient's
// location-add, while a URL outside the stores (the metadata service) is
// refused with 400 and a member gets 403, as from Glance; the image then
// downloads byte-exact through the openstack CLI, its last location cannot
// go (403), and deleting the image deletes the data.
func TestImageLocationsWithGlanceclient(t *testing.T) {
	s := NewServer(t, nil, "image: {show_multiple_locations: true, show_image_direct_url: true}")
	data := bytes.Repeat([]byte("placed by the operator\n"), 20000)
	blob := filepath.Join(s.StateDir, "images", "blobs", "operator-placed-1")
	if err := os.WriteFile(blob, data, 0o640); err != nil {
		t.Fatal(err)
	}
	good := "file://" + blob
	// glanceclient with stdin closed creates a queued image (the openstack
	// CLI would upload an empty stdin).
	created := mustGlance(t, s, "admin", "image-create", "--name", "loc-public", "--visibility", "public",
		"--disk-format", "raw", "--container-format", "bare")
	pub := ""
	for _, line := range strings.Split(created, "\n") {
		if f := strings.Fields(strings.ReplaceAll(line, "|", " ")); len(f) == 2 && f[0] == "id" {
			pub = f[1]
		}
	}

	for _, c := range []struct {
		cloud, url, id, want string
	}{
		{"admin", "http://169.254.169.254/latest/meta-data/", pub, "400"},
		{"demo", good, pub, "403"},
	} {
		out, err := glanceCLI(t, s, c.cloud, "location-add", "--url", c.url, c.id)
		if err == nil || !strings.Contains(out, c.want) {
			t.Fatalf("%s: location-add %s to %s = %v, want %s:\n%s", c.cloud, c.url, c.id, err, c.want, out)
		}
	}
	sha := sha512.Sum512(data)
	if out, err := glanceCLI(t, s, "admin", "location-add", "--url", good, "--hash-algo", "sha512",
		"--hash-value", hex.EncodeToString(sha[:]), pub); err != nil {
		t.Fatalf("location-add of the placed data: %v\n%s", err, out)
	}
	var im map[string]any
	json.Unmarshal([]byte(s.MustCLI("admin", "image", "show", "-f", "json", pub)), &im)
	md := md5.Sum(data)
	props, _ := im["properties"].(map[string]any) // where the CLI puts what it does not know
	if im["status"] != "active" || im["checksum"] != hex.EncodeToString(md[:]) || props["direct_url"] != good {
		t.Fatalf("image after location-add: %v", im)
	}
	out := filepath.Join(t.TempDir(), "out")
	s.MustCLI("demo", "image", "save", "--file", out, pub)
	if got, _ := os.ReadFile(out); !bytes.Equal(got, data) {
		t.Fatalf("downloaded %d bytes, not the placed data", len(got))
	}
	if out, err := glanceCLI(t, s, "admin", "location-update", "--url", good, "--metadata", `{"note":"x"}`, pub); err != nil {
		t.Fatalf("location-update: %v\n%s", err, out)
	}
	json.Unmarshal([]byte(s.MustCLI("admin", "image", "show", "-f", "json", "-c", "properties", pub)), &im)
	if locs := fmt.Sprint(im["properties"].(map[string]any)["locations"]); locs != "[map[metadata:map[note:x] url:"+good+"]]" {
		t.Fatalf("locations after location-update: %s", locs)
	}
	if out, err := glanceCLI(t, s, "admin", "location-delete", "--url", good, pub); err == nil || !strings.Contains(out, "403") {
		t.Fatalf("deleting the last location = %v, want 403:\n%s", err, out)
	}
	s.MustCLI("admin", "image", "delete", pub)
	if _, err := os.Stat(blob); !os.IsNotExist(err) {
		t.Fatalf("the image's data outlived it: %v", err)
	}
}
