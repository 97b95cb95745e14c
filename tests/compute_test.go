package tests

import (
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
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
