package tests

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/hypervisors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/services"
)

// TestOpenstackCLIFlavorAdmin: an admin creates a private flavor with a
// description for a project, changes its description and its projects,
// with the Debian openstack CLI at the microversions it needs.
func TestOpenstackCLIFlavorAdmin(t *testing.T) {
	s := NewServer(t, nil, "")
	var f map[string]any
	cliJSON(t, s, "admin", &f, "--os-compute-api-version", "2.55", "flavor", "create", "--private", "--project", "demo",
		"--description", "for demo", "--ram", "64", "--disk", "1", "--vcpus", "1", "demo.tiny")
	if f["description"] != "for demo" || f["os-flavor-access:is_public"] != false {
		t.Fatalf("flavor create: %v", f)
	}
	cliJSON(t, s, "admin", &f, "flavor", "show", "demo.tiny")
	if !strings.Contains(mustMarshal(f["access_project_ids"]), projectID(t, s, "demo")) {
		t.Fatalf("flavor show: access_project_ids %v", f)
	}
	// The demo project sees and may use it; the description changes at 2.55.
	s.MustCLI("demo", "flavor", "show", "demo.tiny")
	s.MustCLI("admin", "--os-compute-api-version", "2.55", "flavor", "set", "--description", "renamed", "demo.tiny")
	cliJSON(t, s, "admin", &f, "--os-compute-api-version", "2.55", "flavor", "show", "demo.tiny")
	if f["description"] != "renamed" {
		t.Fatalf("after flavor set --description: %v", f)
	}
	s.MustCLI("admin", "flavor", "set", "--project", "admin", "demo.tiny")
	s.MustCLI("admin", "flavor", "unset", "--project", "demo", "demo.tiny")
	cliJSON(t, s, "admin", &f, "flavor", "show", "demo.tiny")
	if got := mustMarshal(f["access_project_ids"]); strings.Contains(got, projectID(t, s, "demo")) || !strings.Contains(got, projectID(t, s, "admin")) {
		t.Fatalf("after set/unset --project: %v", f)
	}
	if _, errOut, err := s.CLI("demo", "flavor", "show", "demo.tiny"); err == nil {
		t.Fatalf("demo still sees the flavor: %s", errOut)
	}
}

// TestOpenstackCLIComputeServices: an admin disables nova-compute with a
// reason, forces it down (2.11) and enables it again; compute service list
// shows each state.
func TestOpenstackCLIComputeServices(t *testing.T) {
	s := NewServer(t, nil, "")
	host, _ := os.Hostname()
	var list []map[string]any
	cliJSON(t, s, "admin", &list, "compute", "service", "list")
	if len(list) != 3 {
		t.Fatalf("compute service list: %v", list)
	}
	s.MustCLI("admin", "compute", "service", "set", "--disable", "--disable-reason", "maintenance", host, "nova-compute")
	cliJSON(t, s, "admin", &list, "compute", "service", "list", "--service", "nova-compute", "--long")
	if len(list) != 1 || list[0]["Status"] != "disabled" || list[0]["Disabled Reason"] != "maintenance" {
		t.Fatalf("after --disable: %v", list)
	}
	s.MustCLI("admin", "--os-compute-api-version", "2.11", "compute", "service", "set", "--down", host, "nova-compute")
	cliJSON(t, s, "admin", &list, "compute", "service", "list", "--service", "nova-compute")
	if list[0]["State"] != "down" {
		t.Fatalf("after --down: %v", list)
	}
	s.MustCLI("admin", "--os-compute-api-version", "2.11", "compute", "service", "set", "--enable", "--up", host, "nova-compute")
	cliJSON(t, s, "admin", &list, "--os-compute-api-version", "2.53", "compute", "service", "list", "--service", "nova-compute")
	if list[0]["Status"] != "enabled" || list[0]["State"] != "up" || len(list[0]["ID"].(string)) != 36 {
		t.Fatalf("after --enable --up at 2.53: %v", list)
	}
}

// TestOpenstackCLIHypervisorsAndKeypairs: hypervisor list/show/stats and
// an admin listing another user's key pairs (2.10).
func TestOpenstackCLIHypervisorsAndKeypairs(t *testing.T) {
	s := NewServer(t, nil, "")
	host, _ := os.Hostname()
	var list []map[string]any
	cliJSON(t, s, "admin", &list, "hypervisor", "list")
	if len(list) != 1 || list[0]["Hypervisor Hostname"] != host {
		t.Fatalf("hypervisor list: %v", list)
	}
	var h map[string]any
	cliJSON(t, s, "admin", &h, "hypervisor", "show", host)
	if h["hypervisor_hostname"] != host || h["status"] != "enabled" {
		t.Fatalf("hypervisor show: %v", h)
	}
	cliJSON(t, s, "admin", &h, "--os-compute-api-version", "2.88", "hypervisor", "show", host)
	if h["hypervisor_hostname"] != host {
		t.Fatalf("hypervisor show at 2.88: %v", h)
	}
	cliJSON(t, s, "admin", &h, "hypervisor", "stats", "show")
	if h["count"] != 1.0 {
		t.Fatalf("hypervisor stats show: %v", h)
	}
	s.MustCLI("demo", "keypair", "create", "--public-key", writePub(t), "demo-key")
	cliJSON(t, s, "admin", &list, "--os-compute-api-version", "2.10", "keypair", "list", "--user", "demo")
	if len(list) != 1 || list[0]["Name"] != "demo-key" {
		t.Fatalf("keypair list --user demo: %v", list)
	}
}

func mustMarshal(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// projectID looks a project's id up through the CLI.
func projectID(t *testing.T, s *Server, name string) string {
	t.Helper()
	return strings.TrimSpace(s.MustCLI("admin", "project", "show", "-f", "value", "-c", "id", name))
}

// writePub writes an OpenSSH public key to a file for keypair create.
func writePub(t *testing.T) string {
	t.Helper()
	p := t.TempDir() + "/key.pub"
	key := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJzCDUg1QkdJ1N1GpwZEnwDpjeB1sIqbkl8OMUMoVbZ test\n"
	if err := os.WriteFile(p, []byte(key), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestGophercloudAdminViews: gophercloud's typed calls at pinned
// microversions: a flavor with a description (2.55), services by UUID
// (2.53), hypervisors with servers (2.53) and without amounts (2.88).
func TestGophercloudAdminViews(t *testing.T) {
	s := NewServer(t, nil, "")
	ctx := t.Context()
	admin := computeClient(t, s, "admin")
	admin.Microversion = "2.55"
	disk := 1
	f, err := flavors.Create(ctx, admin, flavors.CreateOpts{Name: "described", RAM: 64, VCPUs: 1, Disk: &disk, Description: "a flavor"}).Extract()
	if err != nil || f.Description != "a flavor" {
		t.Fatalf("flavor create at 2.55: %+v %v", f, err)
	}
	f, err = flavors.Update(ctx, admin, f.ID, flavors.UpdateOpts{Description: "changed"}).Extract()
	if err != nil || f.Description != "changed" {
		t.Fatalf("flavor update at 2.55: %+v %v", f, err)
	}

	admin.Microversion = "2.53"
	pages, err := services.List(admin, services.ListOpts{Binary: "nova-compute"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list, err := services.ExtractServices(pages)
	if err != nil || len(list) != 1 || len(list[0].ID) != 36 {
		t.Fatalf("services at 2.53: %+v %v", list, err)
	}
	sv, err := services.Update(ctx, admin, list[0].ID, services.UpdateOpts{Status: services.ServiceDisabled, DisabledReason: "gophercloud"}).Extract()
	if err != nil || sv.Status != "disabled" || sv.DisabledReason != "gophercloud" {
		t.Fatalf("service update at 2.53: %+v %v", sv, err)
	}
	if _, err = services.Update(ctx, admin, list[0].ID, services.UpdateOpts{Status: services.ServiceEnabled}).Extract(); err != nil {
		t.Fatal(err)
	}

	yes := true
	pages, err = hypervisors.List(admin, hypervisors.ListOpts{WithServers: &yes}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hvs, err := hypervisors.ExtractHypervisors(pages)
	if err != nil || len(hvs) != 1 || len(hvs[0].ID) != 36 || hvs[0].Status != "enabled" {
		t.Fatalf("hypervisors at 2.53: %+v %v", hvs, err)
	}
	admin.Microversion = "2.88"
	h, err := hypervisors.Get(ctx, admin, hvs[0].ID).Extract()
	if err != nil || h.HypervisorHostname != hvs[0].HypervisorHostname || h.VCPUs != 0 || h.MemoryMB != 0 {
		t.Fatalf("hypervisor at 2.88: %+v %v", h, err)
	}
	if err := hypervisors.GetStatistics(ctx, admin).Err; err == nil {
		t.Fatal("statistics answer at 2.88")
	}
}

// TestOpenstackCLIServerEvents: server event list and show give a
// server's actions and their finished events.
func TestOpenstackCLIServerEvents(t *testing.T) {
	requireLibvirt(t)
	s := NewServer(t, nil, "")
	s.MustCLI("demo", "image", "create", "--file", bootImage(t, "IMAGESTACK-EVENTS"), "--disk-format", "raw", "--container-format", "bare", "tiny")
	s.MustCLI("demo", "server", "create", "--image", "tiny", "--flavor", "m1.nano", "--wait", "vm1")
	s.MustCLI("demo", "server", "stop", "vm1")
	waitStatus2(t, s, "vm1", "SHUTOFF")
	var events []map[string]any
	cliJSON(t, s, "demo", &events, "server", "event", "list", "vm1")
	if len(events) != 2 || events[0]["Action"] != "stop" || events[1]["Action"] != "create" {
		t.Fatalf("server event list: %v", events)
	}
	var ev map[string]any
	eventually(t, 30*time.Second, func() (bool, string) {
		cliJSON(t, s, "admin", &ev, "--os-compute-api-version", "2.62", "server", "event", "show", serverID(t, s, "vm1"), events[0]["Request ID"].(string))
		got := mustMarshal(ev["events"])
		return strings.Contains(got, "compute_stop_instance") && strings.Contains(got, "Success"), "server event show: " + mustMarshal(ev)
	})
	s.MustCLI("demo", "server", "delete", "--wait", "vm1")
}

// serverID looks a server's id up through the CLI.
func serverID(t *testing.T, s *Server, name string) string {
	t.Helper()
	return strings.TrimSpace(s.MustCLI("demo", "server", "show", "-f", "value", "-c", "id", name))
}
