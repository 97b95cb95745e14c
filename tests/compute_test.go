package tests

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
)

func computeClient(t testing.TB, s *Server, cloud string) *gophercloud.ServiceClient {
	t.Helper()
	provider, err := openstack.AuthenticatedClient(t.Context(), authOptions(s, cloud))
	if err != nil {
		t.Fatal(err)
	}
	c, err := openstack.NewComputeV2(provider, gophercloud.EndpointOpts{Region: "RegionOne"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestGophercloudFlavors lists, creates (admin), reads extra specs of and
// deletes flavors through gophercloud v2.
func TestGophercloudFlavors(t *testing.T) {
	s := NewServer(t, nil, "")
	ctx := t.Context()
	demo := computeClient(t, s, "demo")
	admin := computeClient(t, s, "admin")

	pages, err := flavors.ListDetail(demo, flavors.ListOpts{MinRAM: 512, Limit: 2}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all, err := flavors.ExtractFlavors(pages)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range all {
		if f.RAM < 512 {
			t.Fatalf("minRam filter: %+v", f)
		}
		names[f.Name] = true
	}
	if len(all) != 5 || !names["m1.tiny"] || !names["m1.xlarge"] {
		t.Fatalf("flavors >= 512 MiB across pages of 2: %v", names)
	}
	pub := true
	f, err := flavors.Create(ctx, admin, flavors.CreateOpts{Name: "gc.flavor", RAM: 256, VCPUs: 1, Disk: gophercloud.IntToPointer(2), IsPublic: &pub}).Extract()
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if _, err := flavors.Create(ctx, demo, flavors.CreateOpts{Name: "nope", RAM: 1, VCPUs: 1, Disk: gophercloud.IntToPointer(1)}).Extract(); !gophercloud.ResponseCodeIs(err, 403) {
		t.Fatalf("member creating a flavor: %v", err)
	}
	if _, err := flavors.CreateExtraSpecs(ctx, admin, f.ID, flavors.ExtraSpecsOpts{"hw:mem_page_size": "small"}).Extract(); err != nil {
		t.Fatal(err)
	}
	specs, err := flavors.ListExtraSpecs(ctx, demo, f.ID).Extract()
	if err != nil || specs["hw:mem_page_size"] != "small" {
		t.Fatalf("extra specs: %v %v", specs, err)
	}
	got, err := flavors.Get(ctx, demo, f.ID).Extract()
	if err != nil || got.RAM != 256 || got.Disk != 2 || !got.IsPublic {
		t.Fatalf("get: %+v %v", got, err)
	}
	if err := flavors.Delete(ctx, admin, f.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := flavors.Get(ctx, demo, f.ID).Extract(); !gophercloud.ResponseCodeIs(err, 404) {
		t.Fatalf("deleted flavor: %v", err)
	}
	out := s.MustCLI("demo", "flavor", "list", "-f", "value", "-c", "Name")
	if !strings.Contains(out, "m1.nano") || !strings.Contains(out, "m1.small") {
		t.Fatalf("openstack flavor list: %q", out)
	}
	s.MustCLI("admin", "flavor", "create", "--ram", "64", "--vcpus", "1", "--disk", "1", "--property", "k=v", "cli.flavor")
	if out = s.MustCLI("admin", "flavor", "show", "-f", "value", "-c", "properties", "cli.flavor"); !strings.Contains(out, "k") {
		t.Fatalf("flavor properties: %q", out)
	}
	s.MustCLI("admin", "flavor", "delete", "cli.flavor")
}

// TestPrivateFlavorsCLI: `openstack flavor create --private --project`
// gives that project (and only it) a flavor; others can neither see nor
// boot it, and `flavor set/unset --project` change who may.
func TestPrivateFlavorsCLI(t *testing.T) {
	s := NewServer(t, nil, "")
	demoProject := strings.TrimSpace(s.MustCLI("demo", "token", "issue", "-f", "value", "-c", "project_id"))
	s.MustCLI("admin", "flavor", "create", "--private", "--project", "demo", "--ram", "64", "--vcpus", "1", "--disk", "1", "priv.demo")
	hiddenID := strings.TrimSpace(s.MustCLI("admin", "flavor", "create", "--private", "--ram", "64", "--vcpus", "1", "--disk", "1", "-f", "value", "-c", "id", "priv.hidden"))
	var shown map[string]any
	json.Unmarshal([]byte(s.MustCLI("admin", "flavor", "show", "-f", "json", "priv.demo")), &shown)
	if !strings.Contains(fmt.Sprint(shown["access_project_ids"]), demoProject) || shown["os-flavor-access:is_public"] != false {
		t.Fatalf("admin's view of the flavor: %v", shown)
	}
	visible := func() string { return s.MustCLI("demo", "flavor", "list", "-f", "value", "-c", "Name") }
	if out := visible(); !strings.Contains(out, "priv.demo") || strings.Contains(out, "priv.hidden") || !strings.Contains(out, "m1.nano") {
		t.Fatalf("demo's flavor list: %q", out)
	}
	for _, ref := range []string{"priv.hidden", hiddenID} {
		if _, errOut, err := s.CLI("demo", "flavor", "show", ref); err == nil {
			t.Fatalf("demo shows the hidden flavor %s", ref)
		} else if !strings.Contains(errOut, "No Flavor found") && !strings.Contains(errOut, "404") {
			t.Fatalf("demo showing %s: %s", ref, errOut)
		}
	}
	cc := computeClient(t, s, "demo")
	_, err := servers.Create(t.Context(), cc, servers.CreateOpts{Name: "x", ImageRef: "00000000-0000-0000-0000-000000000000", FlavorRef: hiddenID}, nil).Extract()
	if !gophercloud.ResponseCodeIs(err, 400) || !strings.Contains(err.Error(), "Flavor "+hiddenID+" could not be found.") {
		t.Fatalf("booting the hidden flavor: %v", err)
	}
	s.MustCLI("admin", "flavor", "set", "--project", "demo", "priv.hidden")
	if out := visible(); !strings.Contains(out, "priv.hidden") {
		t.Fatalf("after flavor set --project: %q", out)
	}
	if _, errOut, err := s.CLI("admin", "flavor", "set", "--project", "demo", "priv.hidden"); err == nil || !strings.Contains(errOut, "409") {
		t.Fatalf("granting twice: %v %s", err, errOut)
	}
	ac := computeClient(t, s, "admin")
	_, err = flavors.AddAccess(t.Context(), ac, hiddenID, flavors.AddAccessOpts{Tenant: "no-such-project"}).Extract()
	if !gophercloud.ResponseCodeIs(err, 400) || !strings.Contains(err.Error(), "not a valid project") {
		t.Fatalf("granting a project that does not exist: %v", err)
	}
	s.MustCLI("admin", "flavor", "unset", "--project", "demo", "priv.hidden")
	if out := visible(); strings.Contains(out, "priv.hidden") {
		t.Fatalf("after flavor unset --project: %q", out)
	}
	s.MustCLI("admin", "flavor", "delete", "priv.demo", "priv.hidden")
}
