package tests

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/members"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

func imageClient(t testing.TB, s *Server, cloud string) *gophercloud.ServiceClient {
	t.Helper()
	provider, err := openstack.AuthenticatedClient(t.Context(), authOptions(s, cloud))
	if err != nil {
		t.Fatal(err)
	}
	c, err := openstack.NewImageV2(provider, gophercloud.EndpointOpts{Region: "RegionOne"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// randomFile writes n random bytes and returns the path with md5 and sha512.
func randomFile(t *testing.T, n int) (string, string, string) {
	t.Helper()
	data := make([]byte, n)
	rand.Read(data)
	p := filepath.Join(t.TempDir(), "data.raw")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	m, s := md5.Sum(data), sha512.Sum512(data)
	return p, hex.EncodeToString(m[:]), hex.EncodeToString(s[:])
}

func fileDigests(t *testing.T, p string) (string, string) {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	m, s := md5.Sum(data), sha512.Sum512(data)
	return hex.EncodeToString(m[:]), hex.EncodeToString(s[:])
}

func TestGophercloudImages(t *testing.T) {
	s := NewServer(t, nil, "")
	ctx := t.Context()
	demo := imageClient(t, s, "demo")
	adminC := imageClient(t, s, "admin")
	adminProject := strings.TrimSpace(s.MustCLI("admin", "token", "issue", "-c", "project_id", "-f", "value"))

	var ids []string
	for _, name := range []string{"g1", "g2", "g3", "g4", "g5"} {
		im, err := images.Create(ctx, demo, images.CreateOpts{Name: name, DiskFormat: "raw", ContainerFormat: "bare",
			Tags: []string{"gc"}, Properties: map[string]string{"purpose": "test"}}).Extract()
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		if im.Status != images.ImageStatusQueued || im.Visibility != images.ImageVisibilityShared {
			t.Fatalf("new image: %+v", im)
		}
		ids = append(ids, im.ID)
	}
	// Paging: 5 images, pages of 2 -> 3 pages, every image once.
	var seen []string
	pages := 0
	err := images.List(demo, images.ListOpts{Limit: 2, Tags: []string{"gc"}}).EachPage(ctx, func(_ context.Context, page pagination.Page) (bool, error) {
		list, err := images.ExtractImages(page)
		if err != nil {
			return false, err
		}
		pages++
		for _, im := range list {
			seen = append(seen, im.ID)
		}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Images created within one second tie on created_at and are then
	// ordered by id, as in Glance: compare as sets, each seen exactly once.
	got := slices.Clone(seen)
	want := slices.Clone(ids)
	slices.Sort(got)
	slices.Sort(want)
	if pages != 3 || !slices.Equal(got, want) {
		t.Fatalf("paging: %d pages, %v, want each of %v once", pages, seen, ids)
	}
	// Update.
	im, err := images.Update(ctx, demo, ids[0], images.UpdateOpts{
		images.ReplaceImageName{NewName: "renamed"},
		images.ReplaceImageTags{NewTags: []string{"a", "b"}},
		images.ReplaceImageMinDisk{NewMinDisk: 2},
		images.UpdateImageProperty{Op: images.AddOp, Name: "color", Value: "blue"},
	}).Extract()
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if im.Name != "renamed" || im.MinDiskGigabytes != 2 || !slices.Equal(im.Tags, []string{"a", "b"}) || im.Properties["color"] != "blue" {
		t.Fatalf("updated: %+v", im)
	}
	// Upload (a plain reader: no length known) and download.
	p, md, sha := randomFile(t, 3<<20+11)
	f, _ := os.Open(p)
	defer f.Close()
	if err := imagedata.Upload(ctx, demo, ids[0], struct{ io.Reader }{f}).ExtractErr(); err != nil {
		t.Fatalf("upload: %v", err)
	}
	im, _ = images.Get(ctx, demo, ids[0]).Extract()
	if im.Status != images.ImageStatusActive || im.Checksum != md || im.SizeBytes != 3<<20+11 {
		t.Fatalf("after upload: %+v", im)
	}
	if im.Properties["os_hash_value"] != sha {
		t.Fatalf("os_hash_value: %v", im.Properties["os_hash_value"])
	}
	rc, err := imagedata.Download(ctx, demo, ids[0]).Extract()
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(rc)
	rc.Close()
	if m := md5.Sum(body); hex.EncodeToString(m[:]) != md {
		t.Fatal("downloaded data differs")
	}
	// Members: the owner shares, the member accepts and then lists it.
	if _, err := members.Create(ctx, demo, ids[0], adminProject).Extract(); err != nil {
		t.Fatalf("add member: %v", err)
	}
	if _, err := members.Update(ctx, demo, ids[0], adminProject, members.UpdateOpts{Status: "accepted"}).Extract(); err == nil {
		t.Fatal("the owner accepted on the member's behalf")
	}
	mb, err := members.Update(ctx, adminC, ids[0], adminProject, members.UpdateOpts{Status: "accepted"}).Extract()
	if err != nil || mb.Status != "accepted" {
		t.Fatalf("member accept: %+v %v", mb, err)
	}
	all, _ := members.List(demo, ids[0]).AllPages(ctx)
	ms, _ := members.ExtractMembers(all)
	if len(ms) != 1 || ms[0].MemberID != adminProject {
		t.Fatalf("members: %+v", ms)
	}
	// Delete.
	if err := images.Delete(ctx, demo, ids[1]).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := images.Get(ctx, demo, ids[1]).Extract(); !gophercloud.ResponseCodeIs(err, 404) {
		t.Fatalf("deleted image: %v", err)
	}
}

// TestOpenstackCLIImages drives Debian's openstack CLI and one glanceclient upload.
func TestOpenstackCLIImages(t *testing.T) {
	s := NewServer(t, nil, "")
	dir := t.TempDir()
	raw, rawMD5, rawSHA := randomFile(t, 2<<20+5)
	qcow := filepath.Join(dir, "disk.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-f", "qcow2", qcow, "64M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v %s", err, out)
	}
	iso := filepath.Join(dir, "cd.iso")
	os.WriteFile(iso, bytes.Repeat([]byte("CD001"), 4096), 0o600)

	show := func(cloud, name string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal([]byte(s.MustCLI(cloud, "image", "show", "-f", "json", name)), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	s.MustCLI("demo", "image", "create", "--file", raw, "--disk-format", "raw", "--container-format", "bare", "img-raw")
	s.MustCLI("demo", "image", "create", "--file", qcow, "--disk-format", "qcow2", "--container-format", "bare", "--min-disk", "1", "img-qcow2")
	s.MustCLI("demo", "image", "create", "--file", iso, "--disk-format", "iso", "--container-format", "bare", "--private", "img-iso")

	m := show("demo", "img-qcow2")
	if m["status"] != "active" || m["virtual_size"] != float64(64<<20) || m["disk_format"] != "qcow2" {
		t.Fatalf("qcow2 image: %v", m)
	}
	m = show("demo", "img-raw")
	if m["checksum"] != rawMD5 || m["size"] != float64(2<<20+5) {
		t.Fatalf("raw image: %v", m)
	}

	// Listing with filters and --long.
	out := s.MustCLI("demo", "image", "list", "--long", "-f", "json")
	var long []map[string]any
	json.Unmarshal([]byte(out), &long)
	if len(long) != 3 || long[0]["Disk Format"] == nil || long[0]["Checksum"] == nil {
		t.Fatalf("image list --long: %s", out)
	}
	if out = s.MustCLI("demo", "image", "list", "--private", "-f", "value", "-c", "Name"); strings.TrimSpace(out) != "img-iso" {
		t.Fatalf("--private: %q", out)
	}
	if out = s.MustCLI("demo", "image", "list", "--name", "img-raw", "-f", "value", "-c", "Name"); strings.TrimSpace(out) != "img-raw" {
		t.Fatalf("--name: %q", out)
	}

	// image set: properties, tags, visibility, protection, minimums.
	s.MustCLI("demo", "image", "set", "--property", "os_distro=debian", "--tag", "blue", "--min-ram", "128", "--min-disk", "2", "--protected", "--community", "img-raw")
	m = show("demo", "img-raw")
	props, _ := m["properties"].(map[string]any)
	if props["os_distro"] != "debian" || m["min_ram"] != float64(128) || m["min_disk"] != float64(2) || m["protected"] != true || m["visibility"] != "community" {
		t.Fatalf("after image set: %v", m)
	}
	if tags, _ := m["tags"].([]any); len(tags) != 1 || tags[0] != "blue" {
		t.Fatalf("tags: %v", m["tags"])
	}
	if out = s.MustCLI("demo", "image", "list", "--property", "os_distro=debian", "-f", "value", "-c", "Name"); strings.TrimSpace(out) != "img-raw" {
		t.Fatalf("--property filter: %q", out)
	}
	if out = s.MustCLI("demo", "image", "list", "--tag", "blue", "-f", "value", "-c", "Name"); strings.TrimSpace(out) != "img-raw" {
		t.Fatalf("--tag filter: %q", out)
	}
	if _, errOut, err := s.CLI("demo", "image", "delete", "img-raw"); err == nil || !strings.Contains(errOut, "403") {
		t.Fatalf("deleting a protected image: %v %s", err, errOut)
	}
	if _, errOut, err := s.CLI("demo", "image", "set", "--public", "img-raw"); err == nil || !strings.Contains(errOut, "403") {
		t.Fatalf("a member making an image public: %v %s", err, errOut)
	}
	s.MustCLI("demo", "image", "set", "--unprotected", "--shared", "img-raw")

	// image save: the bytes come back intact.
	saved := filepath.Join(dir, "saved")
	s.MustCLI("demo", "image", "save", "--file", saved, "img-raw")
	if md, sha := fileDigests(t, saved); md != rawMD5 || sha != rawSHA {
		t.Fatal("image save returned different bytes")
	}
	if m = show("demo", "img-raw"); m["properties"].(map[string]any)["os_hash_value"] != rawSHA {
		t.Fatalf("os_hash_value: %v", m["properties"])
	}

	// Sharing: add the admin project, which accepts and then sees the image.
	adminProject := strings.TrimSpace(s.MustCLI("admin", "token", "issue", "-c", "project_id", "-f", "value"))
	s.MustCLI("demo", "image", "add", "project", "img-raw", adminProject)
	id := show("demo", "img-raw")["id"].(string)
	s.MustCLI("admin", "image", "set", "--accept", id)
	out = s.MustCLI("admin", "image", "member", "list", "-f", "value", id)
	if !strings.Contains(out, "accepted") {
		t.Fatalf("member list: %q", out)
	}

	// Deactivate and reactivate (the owner may, under Glance's defaults).
	s.MustCLI("demo", "image", "set", "--deactivate", "img-raw")
	if m = show("demo", "img-raw"); m["status"] != "deactivated" {
		t.Fatalf("deactivate: %v", m["status"])
	}
	if _, _, err := s.CLI("demo", "image", "save", "--file", saved+"2", "img-raw"); err == nil {
		t.Fatal("downloaded a deactivated image as a member")
	}
	s.MustCLI("demo", "image", "set", "--activate", "img-raw")
	if m = show("demo", "img-raw"); m["status"] != "active" {
		t.Fatalf("activate: %v", m["status"])
	}

	// glanceclient: image-create with --file streams chunked.
	glanceEnv := cloudEnv(s.Cloud("demo"))
	cmd := exec.Command("glance", "image-create", "--name", "via-glance", "--disk-format", "raw", "--container-format", "bare", "--file", raw)
	cmd.Env = glanceEnv
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("glance image-create: %v\n%s", err, out)
	}
	// glanceclient validates every image it lists or shows against
	// /v2/schemas/image: these fail if the schema is not truthful.
	for _, args := range [][]string{{"image-list"}, {"image-show", show("demo", "img-qcow2")["id"].(string)}, {"member-list", "--image-id", id}} {
		cmd = exec.Command("glance", args...)
		cmd.Env = glanceEnv
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("glance %v: %v\n%s", args, err, out)
		}
	}
	if m = show("demo", "via-glance"); m["status"] != "active" || m["checksum"] != rawMD5 {
		t.Fatalf("glanceclient upload: %v", m)
	}

	for _, name := range []string{"img-raw", "img-qcow2", "img-iso", "via-glance"} {
		s.MustCLI("demo", "image", "delete", name)
	}
	if out = s.MustCLI("demo", "image", "list", "-f", "value"); strings.TrimSpace(out) != "" {
		t.Fatalf("images left: %q", out)
	}
}

// cloudEnv is the OS_* environment for clients that do not read clouds.yaml
// (glanceclient's and novaclient's own commands).
func cloudEnv(auth map[string]string) []string {
	return append(cleanEnv(), "OS_AUTH_URL="+auth["auth_url"], "OS_USERNAME="+auth["username"], "OS_PASSWORD="+auth["password"],
		"OS_PROJECT_NAME="+auth["project_name"], "OS_USER_DOMAIN_NAME=Default", "OS_PROJECT_DOMAIN_NAME=Default")
}
