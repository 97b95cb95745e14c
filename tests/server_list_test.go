package tests

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/tags"
)

// lines is the CLI's -f value output as lines.
func lines(out string) []string { return strings.Fields(out) }

// TestOpenstackCLIServerList: what `openstack server list` users see of
// paging (--limit/--marker), all projects and deleted servers (admin),
// --changes-since, tag filters and server tags (set/unset, create from
// 2.52), and gophercloud's tags and list filters at pinned microversions.
func TestOpenstackCLIServerList(t *testing.T) {
	requireLibvirt(t)
	s := NewServer(t, nil, "")
	s.MustCLI("demo", "image", "create", "--file", bootImage(t, "IMAGESTACK-LIST"), "--disk-format", "raw", "--container-format", "bare", "tiny")
	start := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	s.MustCLI("demo", "server", "create", "--image", "tiny", "--flavor", "m1.nano", "--min", "3", "--max", "3", "--wait", "lst")
	s.MustCLI("demo", "--os-compute-api-version", "2.52", "server", "create", "--image", "tiny", "--flavor", "m1.nano", "--tag", "blue", "--wait", "tagged")

	// Pages of two with the last server as marker walk the whole list.
	full := lines(s.MustCLI("demo", "server", "list", "-f", "value", "-c", "ID"))
	page1 := lines(s.MustCLI("demo", "server", "list", "--limit", "2", "-f", "value", "-c", "ID"))
	page2 := lines(s.MustCLI("demo", "server", "list", "--limit", "2", "--marker", page1[1], "-f", "value", "-c", "ID"))
	if len(full) != 4 || !slices.Equal(append(page1, page2...), full) {
		t.Fatalf("pages %v + %v, want %v", page1, page2, full)
	}

	// Tags: set/unset (2.26), list filters, shown by server show.
	v26 := []string{"--os-compute-api-version", "2.26"}
	cli := func(cloud string, args ...string) string {
		return s.MustCLI(cloud, append(slices.Clone(v26), args...)...)
	}
	cli("demo", "server", "set", "--tag", "red", "--tag", "green", "lst-1")
	if got := lines(cli("demo", "server", "list", "--tags", "red", "-f", "value", "-c", "Name")); !slices.Equal(got, []string{"lst-1"}) {
		t.Fatalf("--tags red: %v", got)
	}
	if got := lines(cli("demo", "server", "list", "--not-tags", "red", "--not-tags", "green", "-f", "value", "-c", "Name")); len(got) != 3 || slices.Contains(got, "lst-1") {
		t.Fatalf("--not-tags red,green: %v", got)
	}
	cli("demo", "server", "unset", "--tag", "red", "lst-1")
	var shown map[string]any
	if err := json.Unmarshal([]byte(cli("demo", "server", "show", "-f", "json", "lst-1")), &shown); err != nil || !strings.Contains(strings.ToLower(jsonText(shown["tags"])), "green") || strings.Contains(jsonText(shown["tags"]), "red") {
		t.Fatalf("server show after unset: %v %v", shown["tags"], err)
	}
	if got := lines(cli("demo", "server", "list", "--tags", "blue", "-f", "value", "-c", "Name")); !slices.Equal(got, []string{"tagged"}) {
		t.Fatalf("created with --tag blue: %v", got)
	}

	// Admins: all projects, deleted servers; changes-since shows deletes.
	if out := s.MustCLI("admin", "server", "list", "--all-projects", "-f", "value", "-c", "Name"); len(lines(out)) != 4 {
		t.Fatalf("admin --all-projects: %q", out)
	}
	s.MustCLI("demo", "server", "delete", "--wait", "lst-3")
	if got := lines(s.MustCLI("admin", "server", "list", "--all-projects", "--deleted", "-f", "value", "-c", "Name")); !slices.Equal(got, []string{"lst-3"}) {
		t.Fatalf("admin --deleted: %v", got)
	}
	if got := lines(s.MustCLI("demo", "server", "list", "--changes-since", start, "-f", "value", "-c", "Name")); len(got) != 4 || !slices.Contains(got, "lst-3") {
		t.Fatalf("--changes-since %s: %v", start, got)
	}
	gophercloudTags(t, s)
	s.MustCLI("demo", "server", "delete", "--wait", "lst-1", "lst-2", "tagged")
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// gophercloudTags: tags.* and servers.List's tag and project filters.
func gophercloudTags(t *testing.T, s *Server) {
	ctx := t.Context()
	cc, ac := computeClient(t, s, "demo"), computeClient(t, s, "admin")
	cc.Microversion, ac.Microversion = "2.26", "2.26"
	pages, err := servers.List(cc, servers.ListOpts{Tags: "blue"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list, err := servers.ExtractServers(pages)
	if err != nil || len(list) != 1 || list[0].Name != "tagged" || list[0].Tags == nil || !slices.Equal(*list[0].Tags, []string{"blue"}) {
		t.Fatalf("servers.List tags=blue: %+v %v", list, err)
	}
	id := list[0].ID
	if err := tags.Add(ctx, cc, id, "gc").ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if ok, err := tags.Check(ctx, cc, id, "gc").Extract(); err != nil || !ok {
		t.Fatalf("tags.Check: %v %v", ok, err)
	}
	if got, err := tags.ReplaceAll(ctx, cc, id, tags.ReplaceAllOpts{Tags: []string{"x", "y"}}).Extract(); err != nil || !slices.Equal(got, []string{"x", "y"}) {
		t.Fatalf("tags.ReplaceAll: %v %v", got, err)
	}
	if err := tags.Delete(ctx, cc, id, "x").ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if got, err := tags.List(ctx, cc, id).Extract(); err != nil || !slices.Equal(got, []string{"y"}) {
		t.Fatalf("tags.List: %v %v", got, err)
	}
	if err := tags.DeleteAll(ctx, cc, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	demoProject := list[0].TenantID
	pages, err = servers.List(ac, servers.ListOpts{AllTenants: true, TenantID: demoProject, Limit: 1}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if all, err := servers.ExtractServers(pages); err != nil || len(all) != 3 {
		t.Fatalf("admin all_tenants tenant_id, pages of one: %d %v", len(all), err)
	}
}
