package tests

import (
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/quotasets"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servergroups"
)

// TestOpenstackCLIServerGroups: server groups with the openstack CLI: an
// anti-affinity group at 2.64 (and a soft one at 2.15), its second member
// on this one host goes to ERROR with Nova's NoValidHost fault and is
// never spawned; show, list and delete.
func TestOpenstackCLIServerGroups(t *testing.T) {
	requireLibvirt(t)
	s := NewServer(t, nil, "")
	s.MustCLI("demo", "image", "create", "--file", bootImage(t, "IMAGESTACK-GROUP-BOOT"), "--disk-format", "raw", "--container-format", "bare", "tiny")

	var g map[string]any
	cliJSON(t, s, "demo", &g, "--os-compute-api-version", "2.64", "server", "group", "create", "--policy", "anti-affinity", "g1")
	id, _ := g["id"].(string)
	if id == "" || g["policy"] != "anti-affinity" {
		t.Fatalf("server group create: %v", g)
	}
	var soft map[string]any
	cliJSON(t, s, "demo", &soft, "--os-compute-api-version", "2.15", "server", "group", "create", "--policy", "soft-anti-affinity", "g2")
	if !strings.Contains(toJSON(soft), "soft-anti-affinity") {
		t.Fatalf("soft group at 2.15: %v", soft)
	}

	s.MustCLI("demo", "server", "create", "--image", "tiny", "--flavor", "m1.nano", "--hint", "group="+id, "--wait", "vm1")
	s.MustCLI("demo", "server", "create", "--image", "tiny", "--flavor", "m1.nano", "--hint", "group="+id, "vm2")
	waitStatus2(t, s, "vm2", "ERROR")
	var vm2 map[string]any
	cliJSON(t, s, "demo", &vm2, "server", "show", "vm2")
	if !strings.Contains(toJSON(vm2["fault"]), "No valid host was found. There are not enough hosts available.") {
		t.Fatalf("second anti-affinity member: %v", vm2)
	}
	cliJSON(t, s, "demo", &g, "--os-compute-api-version", "2.64", "server", "group", "show", "g1")
	if members := toJSON(g["members"]); !strings.Contains(members, vm2["id"].(string)) {
		t.Fatalf("group members: %v", g)
	}
	var list []map[string]any
	cliJSON(t, s, "demo", &list, "server", "group", "list")
	if len(list) != 2 {
		t.Fatalf("server group list: %v", list)
	}
	s.MustCLI("demo", "server", "delete", "--wait", "vm1", "vm2")
	s.MustCLI("demo", "server", "group", "delete", "g1", "g2")
	cliJSON(t, s, "demo", &list, "server", "group", "list")
	if len(list) != 0 {
		t.Fatalf("groups after delete: %v", list)
	}
}

// TestOpenstackCLIQuotas: an admin's quota set for a project shows in
// quota show, the defaults stay, and limits, usage and gophercloud's quota
// sets and server groups at pinned microversions agree.
func TestOpenstackCLIQuotas(t *testing.T) {
	s := NewServer(t, nil, "")
	project := strings.TrimSpace(s.MustCLI("admin", "project", "show", "-f", "value", "-c", "id", "demo"))
	s.MustCLI("admin", "quota", "set", "--cores", "2", "--instances", "3", project)
	var q map[string]any
	cliJSON(t, s, "admin", &q, "quota", "show", project)
	if q["cores"] != 2.0 || q["instances"] != 3.0 {
		t.Fatalf("quota show: %v", q)
	}
	cliJSON(t, s, "admin", &q, "quota", "show", "--default", project)
	if q["cores"] != 20.0 || q["instances"] != 10.0 {
		t.Fatalf("quota show --default: %v", q)
	}
	var limits []map[string]any
	cliJSON(t, s, "demo", &limits, "limits", "show", "--absolute")
	found := false
	for _, l := range limits {
		found = found || l["Name"] == "maxTotalCores" && l["Value"] == 2.0
	}
	if !found {
		t.Fatalf("limits show --absolute: %v", limits)
	}
	var usage []map[string]any
	cliJSON(t, s, "admin", &usage, "usage", "list")
	if usage == nil {
		t.Fatal("usage list printed nothing")
	}

	ctx := t.Context()
	admin, demo := computeClient(t, s, "admin"), computeClient(t, s, "demo")
	admin.Microversion, demo.Microversion = "2.57", "2.64"
	qs, err := quotasets.Update(ctx, admin, project, quotasets.UpdateOpts{ServerGroups: gophercloud.IntToPointer(1)}).Extract()
	if err != nil || qs.ServerGroups != 1 || qs.Cores != 2 {
		t.Fatalf("quotasets.Update: %+v %v", qs, err)
	}
	g, err := servergroups.Create(ctx, demo, servergroups.CreateOpts{Name: "gc", Policy: "anti-affinity", Rules: &servergroups.Rules{MaxServerPerHost: 2}}).Extract()
	if err != nil || g.Policy == nil || *g.Policy != "anti-affinity" || g.Rules == nil || g.Rules.MaxServerPerHost != 2 {
		t.Fatalf("servergroups.Create: %+v %v", g, err)
	}
	if _, err := servergroups.Create(ctx, demo, servergroups.CreateOpts{Name: "gc2", Policy: "affinity"}).Extract(); !gophercloud.ResponseCodeIs(err, 403) {
		t.Fatalf("group beyond the quota: %v", err)
	}
	if err := servergroups.Delete(ctx, demo, g.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := quotasets.Delete(ctx, admin, project).Extract(); err != nil {
		t.Fatal(err)
	}
	if qs, err := quotasets.Get(ctx, admin, project).Extract(); err != nil || qs.Cores != 20 || qs.ServerGroups != 10 {
		t.Fatalf("quotasets.Get after Delete: %+v %v", qs, err)
	}
}
