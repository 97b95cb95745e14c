package tests

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

// requireLibvirt fails (never skips) when the test machine has no libvirt:
// `make test` starts it.
func requireLibvirt(t *testing.T) {
	t.Helper()
	if os.Getenv("TEST_LIBVIRT_URI") == "" {
		t.Fatal("TEST_LIBVIRT_URI is not set: run `make test`, which starts libvirtd")
	}
}

// TestOpenstackCLIServers boots a tiny image with the openstack CLI and checks
// what its users see: ACTIVE, the guest's console output, a batch, power
// actions, a refused flavor, and deletion.
func TestOpenstackCLIServers(t *testing.T) {
	requireLibvirt(t)
	s := NewServer(t, nil, "")
	marker := "IMAGESTACK-CLI-BOOT"
	s.MustCLI("demo", "image", "create", "--file", bootImage(t, marker), "--disk-format", "raw", "--container-format", "bare", "--min-disk", "1", "tiny")

	out := s.MustCLI("demo", "server", "create", "--image", "tiny", "--flavor", "m1.nano", "--wait", "-f", "json", "vm1")
	var created map[string]any
	if err := json.Unmarshal([]byte(out), &created); err != nil || created["status"] != "ACTIVE" {
		t.Fatalf("server create --wait: %s", out)
	}
	waitConsole(t, s, "vm1", marker)

	s.MustCLI("demo", "server", "stop", "vm1")
	waitStatus2(t, s, "vm1", "SHUTOFF")
	s.MustCLI("demo", "server", "start", "vm1")
	waitStatus2(t, s, "vm1", "ACTIVE")
	s.MustCLI("demo", "server", "reboot", "--hard", "vm1")
	waitStatus2(t, s, "vm1", "ACTIVE")
	if _, errOut, err := s.CLI("demo", "server", "start", "vm1"); err == nil || !strings.Contains(errOut, "409") {
		t.Fatalf("starting an active server: %v %s", err, errOut)
	}

	s.MustCLI("demo", "server", "create", "--image", "tiny", "--flavor", "m1.nano", "--min", "3", "--max", "3", "--wait", "batch")
	out = s.MustCLI("demo", "server", "list", "--name", "^batch", "-f", "value", "-c", "Status")
	if strings.Count(out, "ACTIVE") != 3 {
		t.Fatalf("batch of 3: %q", out)
	}

	// A flavor whose disk is below the image's min_disk is refused with 400.
	s.MustCLI("demo", "image", "set", "--min-disk", "5", "tiny")
	if _, errOut, err := s.CLI("demo", "server", "create", "--image", "tiny", "--flavor", "m1.nano", "small"); err == nil || !strings.Contains(errOut, "400") {
		t.Fatalf("flavor below min_disk: %v %s", err, errOut)
	}

	// Admins see this host as the hypervisor, with the four servers on it.
	var hvs []map[string]any
	if err := json.Unmarshal([]byte(s.MustCLI("admin", "hypervisor", "list", "-f", "json")), &hvs); err != nil || len(hvs) != 1 || hvs[0]["State"] != "up" {
		t.Fatalf("hypervisor list: %v %v", hvs, err)
	}
	var stats map[string]any
	if err := json.Unmarshal([]byte(s.MustCLI("admin", "hypervisor", "stats", "show", "-f", "json")), &stats); err != nil || stats["running_vms"] != 4.0 || stats["count"] != 1.0 {
		t.Fatalf("hypervisor stats show: %v %v", stats, err)
	}

	// pause / unpause: PAUSED, then ACTIVE again, and it stays as set (the
	// domain's lifecycle events must not turn PAUSED back into ACTIVE).
	s.MustCLI("demo", "server", "pause", "vm1")
	waitStatus2(t, s, "vm1", "PAUSED")
	time.Sleep(2 * time.Second)
	waitStatus2(t, s, "vm1", "PAUSED")
	s.MustCLI("demo", "server", "unpause", "vm1")
	waitStatus2(t, s, "vm1", "ACTIVE")

	// A locked server refuses its project's actions (409) until unlocked.
	s.MustCLI("demo", "server", "lock", "vm1")
	if _, errOut, err := s.CLI("demo", "server", "stop", "vm1"); err == nil || !strings.Contains(errOut, "409") {
		t.Fatalf("stopping a locked server: %v %s", err, errOut)
	}
	s.MustCLI("demo", "server", "unlock", "vm1")

	// server set --name: PUT /servers/{id}.
	s.MustCLI("demo", "server", "set", "--name", "vm1-renamed", "vm1")
	if out := s.MustCLI("demo", "server", "show", "-f", "value", "-c", "name", "vm1-renamed"); strings.TrimSpace(out) != "vm1-renamed" {
		t.Fatalf("server set --name: show says %q", out)
	}
	s.MustCLI("demo", "server", "delete", "--wait", "vm1-renamed", "batch-1", "batch-2", "batch-3")
	if out = s.MustCLI("demo", "server", "list", "-f", "value"); strings.TrimSpace(out) != "" {
		t.Fatalf("servers left: %q", out)
	}
}

func waitConsole(t *testing.T, s *Server, name, marker string) {
	t.Helper()
	eventually(t, 30*time.Second, func() (bool, string) {
		out, _, _ := s.CLI("demo", "console", "log", "show", name)
		return strings.Contains(out, marker), "console of " + name + " lacks " + marker + ": " + out
	})
}

func waitStatus2(t *testing.T, s *Server, name, status string) {
	t.Helper()
	eventually(t, 30*time.Second, func() (bool, string) {
		out, _, _ := s.CLI("demo", "server", "show", "-f", "value", "-c", "status", name)
		return strings.TrimSpace(out) == status, "server " + name + " is " + strings.TrimSpace(out) + ", want " + status
	})
}

// TestGophercloudServers creates, lists, gets, acts on and deletes servers
// with gophercloud v2.
func TestGophercloudServers(t *testing.T) {
	requireLibvirt(t)
	s := NewServer(t, nil, "")
	ctx := t.Context()
	ic := imageClient(t, s, "demo")
	cc := computeClient(t, s, "demo")
	im, err := images.Create(ctx, ic, images.CreateOpts{Name: "gc-boot", DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(bootImage(t, "GOPHERCLOUD-BOOT"))
	defer f.Close()
	if err := imagedata.Upload(ctx, ic, im.ID, f).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	srv, err := servers.Create(ctx, cc, servers.CreateOpts{Name: "gc1", ImageRef: im.ID, FlavorRef: "42", Metadata: map[string]string{"role": "test"}}, nil).Extract()
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if srv.AdminPass == "" {
		t.Fatal("create must return adminPass")
	}
	waitServer(t, ctx, cc, srv.ID, "ACTIVE")
	got, err := servers.Get(ctx, cc, srv.ID).Extract()
	if err != nil || got.Metadata["role"] != "test" || got.Image["id"] != im.ID || got.Flavor["id"] != "42" {
		t.Fatalf("get: %+v %v", got, err)
	}
	pages, err := servers.List(cc, servers.ListOpts{Name: "gc"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list, _ := servers.ExtractServers(pages)
	if len(list) != 1 || list[0].ID != srv.ID {
		t.Fatalf("list: %+v", list)
	}
	if err := servers.Stop(ctx, cc, srv.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitServer(t, ctx, cc, srv.ID, "SHUTOFF")
	if err := servers.Start(ctx, cc, srv.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitServer(t, ctx, cc, srv.ID, "ACTIVE")
	if err := servers.Reboot(ctx, cc, srv.ID, servers.RebootOpts{Type: servers.SoftReboot}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitServer(t, ctx, cc, srv.ID, "ACTIVE")
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := servers.ShowConsoleOutput(ctx, cc, srv.ID, servers.ShowConsoleOutputOpts{Length: 10}).Extract()
		if err == nil && strings.Contains(out, "GOPHERCLOUD-BOOT") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("console output: %q %v", out, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// createImage: gophercloud reads the image id from the Location header
	// and the microversion header.
	imageID, err := servers.CreateImage(ctx, cc, srv.ID, servers.CreateImageOpts{Name: "gc-snap", Metadata: map[string]string{"purpose": "backup"}}).ExtractImageID()
	if err != nil {
		t.Fatalf("createImage: %v", err)
	}
	deadline = time.Now().Add(60 * time.Second)
	for {
		snap, err := images.Get(ctx, ic, imageID).Extract()
		if err == nil && snap.Status == images.ImageStatusActive {
			if snap.Visibility != images.ImageVisibilityPrivate || snap.Properties["image_type"] != "snapshot" || snap.Properties["purpose"] != "backup" {
				t.Fatalf("snapshot: %+v", snap)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("snapshot never became active: %+v %v", snap, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	waitServer(t, ctx, cc, srv.ID, "ACTIVE")
	// Another project's caller learns nothing about the server.
	admin := computeClient(t, s, "admin")
	if _, err := servers.Get(ctx, admin, "00000000-0000-0000-0000-000000000000").Extract(); !gophercloud.ResponseCodeIs(err, 404) {
		t.Fatalf("unknown server: %v", err)
	}
	if err := servers.Delete(ctx, cc, srv.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		_, err := servers.Get(ctx, cc, srv.ID).Extract()
		if gophercloud.ResponseCodeIs(err, 404) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not gone after delete: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func waitServer(t *testing.T, ctx context.Context, c *gophercloud.ServiceClient, id, status string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		sv, err := servers.Get(ctx, c, id).Extract()
		if err == nil && sv.Status == status && sv.TaskState == "" {
			return
		}
		if err == nil && sv.Status == "ERROR" {
			t.Fatalf("server %s went to ERROR: %+v", id, sv.Fault)
		}
		if time.Now().After(deadline) {
			t.Fatalf("server %s: %+v %v, want %s", id, sv, err, status)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestSnapshotAndRebuild is the seed's story: a VM whose guest changed its
// disk is captured as a private image, a new VM booted from that image shows
// the change, and a deliberately damaged VM is recovered by a rebuild.
func TestSnapshotAndRebuild(t *testing.T) {
	requireLibvirt(t)
	s := NewServer(t, nil, "")
	s.MustCLI("demo", "image", "create", "--file", statefulDisk(t, "ORIGINAL"), "--disk-format", "raw", "--container-format", "bare",
		"--property", "os_distro=testos", "stateful")
	s.MustCLI("demo", "server", "create", "--image", "stateful", "--flavor", "m1.nano", "--wait", "vm")
	waitConsole(t, s, "vm", "STATE:ORIGINAL") // the guest has now written CHANGED to its disk

	s.MustCLI("demo", "server", "image", "create", "--wait", "--name", "snap", "vm")
	var snap map[string]any
	json.Unmarshal([]byte(s.MustCLI("demo", "image", "show", "-f", "json", "snap")), &snap)
	props, _ := snap["properties"].(map[string]any)
	vmID := strings.TrimSpace(s.MustCLI("demo", "server", "show", "-f", "value", "-c", "id", "vm"))
	demoProject := strings.TrimSpace(s.MustCLI("demo", "token", "issue", "-f", "value", "-c", "project_id"))
	if snap["status"] != "active" || snap["visibility"] != "private" || snap["owner"] != demoProject ||
		props["image_type"] != "snapshot" || props["instance_uuid"] != vmID || props["os_distro"] != "testos" {
		t.Fatalf("snapshot image: %v", snap)
	}
	if st := strings.TrimSpace(s.MustCLI("demo", "server", "show", "-f", "value", "-c", "OS-EXT-STS:task_state", "vm")); st != "None" {
		t.Fatalf("task_state after the snapshot: %q", st)
	}
	s.MustCLI("demo", "server", "create", "--image", "snap", "--flavor", "m1.nano", "--wait", "vm2")
	waitConsole(t, s, "vm2", "STATE:CHANGED")

	// Damage vm's disk (zero its boot sector), then recover it by a rebuild.
	s.MustCLI("demo", "server", "stop", "vm")
	waitStatus2(t, s, "vm", "SHUTOFF")
	disk := s.StateDir + "/compute/instances/" + vmID + "/disk.qcow2"
	if out, err := exec.Command("qemu-io", "-f", "qcow2", "-c", "write -z 0 512", disk).CombinedOutput(); err != nil {
		t.Fatalf("qemu-io: %v %s", err, out)
	}
	s.MustCLI("demo", "server", "rebuild", "--image", "stateful", "--wait", "vm")
	if id := strings.TrimSpace(s.MustCLI("demo", "server", "show", "-f", "value", "-c", "id", "vm")); id != vmID {
		t.Fatalf("rebuild changed the server id: %s", id)
	}
	waitConsole(t, s, "vm", "STATE:ORIGINAL")
	s.MustCLI("demo", "server", "delete", "--wait", "vm", "vm2")
}

// TestStateFollowsLibvirt: a VM stopped behind the service's back shows as
// SHUTOFF, through libvirt's events while running and at start-up after a
// restart.
func TestStateFollowsLibvirt(t *testing.T) {
	requireLibvirt(t)
	s := NewServer(t, nil, "")
	uri := os.Getenv("TEST_LIBVIRT_URI")
	s.MustCLI("demo", "image", "create", "--file", bootImage(t, "EVENTS"), "--disk-format", "raw", "--container-format", "bare", "ev")
	s.MustCLI("demo", "server", "create", "--image", "ev", "--flavor", "m1.nano", "--wait", "ev1")
	id := strings.TrimSpace(s.MustCLI("demo", "server", "show", "-f", "value", "-c", "id", "ev1"))
	if out, err := exec.Command("virsh", "-c", uri, "destroy", "imagestack-"+id).CombinedOutput(); err != nil {
		t.Fatalf("virsh destroy: %v %s", err, out)
	}
	waitStatus2(t, s, "ev1", "SHUTOFF")
	s.MustCLI("demo", "server", "start", "ev1")
	waitStatus2(t, s, "ev1", "ACTIVE")

	s.Stop()
	if out, err := exec.Command("virsh", "-c", uri, "destroy", "imagestack-"+id).CombinedOutput(); err != nil {
		t.Fatalf("virsh destroy: %v %s", err, out)
	}
	s.Start()
	waitStatus2(t, s, "ev1", "SHUTOFF")
	s.MustCLI("demo", "server", "delete", "--wait", "ev1")
	if out, _ := exec.Command("virsh", "-c", uri, "list", "--all", "--name").CombinedOutput(); strings.Contains(string(out), id) {
		t.Fatalf("domain left after delete: %s", out)
	}
	if _, err := os.Stat(s.StateDir + "/compute/instances/" + id); !os.IsNotExist(err) {
		t.Fatalf("server disk and console left after delete: %v", err)
	}
}

// TestServerCreateRefusals: unusable images and flavors are 400, quota 403.
func TestServerCreateRefusals(t *testing.T) {
	requireLibvirt(t)
	s := NewServer(t, nil, "")
	ctx := t.Context()
	ic, cc := imageClient(t, s, "demo"), computeClient(t, s, "demo")
	adminImages := imageClient(t, s, "admin")
	upload := func(c *gophercloud.ServiceClient, name string, opts images.CreateOpts) string {
		opts.Name, opts.DiskFormat, opts.ContainerFormat = name, "raw", "bare"
		im, err := images.Create(ctx, c, opts).Extract()
		if err != nil {
			t.Fatal(err)
		}
		f, _ := os.Open(bootImage(t, "X"))
		defer f.Close()
		if err := imagedata.Upload(ctx, c, im.ID, f).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		return im.ID
	}
	ok := upload(ic, "ok", images.CreateOpts{})
	needsRAM := upload(ic, "ram", images.CreateOpts{MinRAM: 1024})
	needsDisk := upload(ic, "disk", images.CreateOpts{MinDisk: 2})
	private := images.ImageVisibilityPrivate
	othersPrivate := upload(adminImages, "private", images.CreateOpts{Visibility: &private})
	queued, _ := images.Create(ctx, ic, images.CreateOpts{Name: "queued", DiskFormat: "raw", ContainerFormat: "bare"}).Extract()

	for name, c := range map[string]struct {
		image, flavor string
		min           int
		code          int
	}{
		"missing image":           {"00000000-0000-0000-0000-000000000000", "42", 1, 400},
		"queued image":            {queued.ID, "42", 1, 400},
		"another project private": {othersPrivate, "42", 1, 400},
		"flavor ram below min":    {needsRAM, "42", 1, 400},
		"flavor disk below min":   {needsDisk, "42", 1, 400},
		"missing flavor":          {ok, "nope", 1, 400},
		"over the instance quota": {ok, "42", 11, 403},
	} {
		_, err := servers.Create(ctx, cc, servers.CreateOpts{Name: "x", ImageRef: c.image, FlavorRef: c.flavor, Min: c.min}, nil).Extract()
		if !gophercloud.ResponseCodeIs(err, c.code) {
			t.Errorf("%s: %v, want %d", name, err, c.code)
		}
	}
	if out, _ := servers.List(cc, nil).AllPages(ctx); out != nil {
		if list, _ := servers.ExtractServers(out); len(list) != 0 {
			t.Fatalf("refused creates left servers: %+v", list)
		}
	}
}

// TestServerListFilters: reservation ids, the status/image/flavor/name
// filters, changes-since and paging links of GET /servers/detail.
func TestServerListFilters(t *testing.T) {
	requireLibvirt(t)
	s := NewServer(t, nil, "")
	ctx := t.Context()
	ic, cc := imageClient(t, s, "demo"), computeClient(t, s, "demo")
	im, _ := images.Create(ctx, ic, images.CreateOpts{Name: "lf", DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	f, _ := os.Open(bootImage(t, "LF"))
	defer f.Close()
	if err := imagedata.Upload(ctx, ic, im.ID, f).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	before := time.Now().UTC().Add(-time.Second)
	var body struct {
		ReservationID string `json:"reservation_id"`
	}
	req := map[string]any{"server": map[string]any{"name": "web", "imageRef": im.ID, "flavorRef": "42",
		"min_count": 2, "max_count": 2, "return_reservation_id": true}}
	_, err := cc.Post(ctx, cc.ServiceURL("servers"), req, &body, &gophercloud.RequestOpts{OkCodes: []int{202}})
	if err != nil || !strings.HasPrefix(body.ReservationID, "r-") {
		t.Fatalf("return_reservation_id: %+v %v", body, err)
	}
	one, err := servers.Create(ctx, cc, servers.CreateOpts{Name: "db", ImageRef: im.ID, FlavorRef: "84"}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	list := func(opts servers.ListOpts) []servers.Server {
		t.Helper()
		pages, err := servers.List(cc, opts).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := servers.ExtractServers(pages)
		return out
	}
	var byResBody struct {
		Servers []servers.Server `json:"servers"`
	}
	if _, err := cc.Get(ctx, cc.ServiceURL("servers", "detail")+"?reservation_id="+body.ReservationID, &byResBody, nil); err != nil {
		t.Fatal(err)
	}
	byRes := byResBody.Servers
	if len(byRes) != 2 {
		t.Fatalf("reservation filter: %d servers", len(byRes))
	}
	for _, sv := range append(byRes, servers.Server{ID: one.ID}) {
		waitServer(t, ctx, cc, sv.ID, "ACTIVE")
	}
	if got := list(servers.ListOpts{Name: "^web-"}); len(got) != 2 {
		t.Fatalf("name regex: %d", len(got))
	}
	if got := list(servers.ListOpts{Flavor: "84"}); len(got) != 1 || got[0].ID != one.ID {
		t.Fatalf("flavor filter: %+v", got)
	}
	if got := list(servers.ListOpts{Image: im.ID, Status: "ACTIVE"}); len(got) != 3 {
		t.Fatalf("image+status filter: %d", len(got))
	}
	if got := list(servers.ListOpts{Status: "SHUTOFF"}); len(got) != 0 {
		t.Fatalf("status SHUTOFF: %d", len(got))
	}
	if got := list(servers.ListOpts{ChangesSince: before.Format(time.RFC3339)}); len(got) != 3 {
		t.Fatalf("changes-since: %d", len(got))
	}
	// Paging one server at a time visits all three.
	seen := map[string]bool{}
	pages := 0
	servers.List(cc, servers.ListOpts{Limit: 1}).EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
		pages++
		svs, _ := servers.ExtractServers(p)
		for _, sv := range svs {
			seen[sv.ID] = true
		}
		return pages < 10, nil
	})
	if len(seen) != 3 {
		t.Fatalf("paging with servers_links saw %d servers in %d pages", len(seen), pages)
	}
	for id := range seen {
		servers.Delete(ctx, cc, id)
	}
	for id := range seen {
		waitGoneT(t, ctx, cc, id)
	}
}

func waitGoneT(t *testing.T, ctx context.Context, c *gophercloud.ServiceClient, id string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := servers.Get(ctx, c, id).Extract(); gophercloud.ResponseCodeIs(err, 404) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server %s not deleted", id)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
