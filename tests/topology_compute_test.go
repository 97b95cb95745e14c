package tests

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/migrations"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/services"

	"imagestack/compute/computetest"
)

// The topology's cluster timings (scripts/topology.sh: TOPO_HEARTBEAT,
// TOPO_DOWN_TIME, TOPO_LEASE_TTL).
const (
	topoHeartbeat   = 2 * time.Second
	topoDownTime    = 10 * time.Second
	topoLeaseTTL    = 6 * time.Second
	topoRenewPeriod = topoLeaseTTL / 3 // cluster.RenewEvery: renewals and recovery passes
)

// topoServer is a server booted in the topology and the host it ran on.
type topoServer struct{ id, host string }

// ComputeClient authenticates cloud with gophercloud through HAProxy and
// returns its compute client (microversion 2.1).
func (tp *Topology) ComputeClient(ctx context.Context, cloud string) *gophercloud.ServiceClient {
	tp.t.Helper()
	provider, err := openstack.AuthenticatedClient(ctx, tp.AuthOptions(cloud))
	if err != nil {
		tp.t.Fatalf("gophercloud through HAProxy: %v", err)
	}
	c, err := openstack.NewComputeV2(provider, gophercloud.EndpointOpts{Region: "RegionOne"})
	if err != nil {
		tp.t.Fatal(err)
	}
	return c
}

// topologyBootServers: as demo, through HAProxy, the CLI uploads a boot
// sector image and boots two servers (no network, microversion 2.37's
// --nic none: the boot sector uses none); the scheduler puts one on each
// host; their console logs (read on their hosts through host calls) show
// the boot sector's line; one stops and starts again (booting again); the
// services and hypervisors of both hosts are up.
func topologyBootServers(t *testing.T, tp *Topology) (booted []topoServer, marker string) {
	marker = "topo boot " + randomHex(4)
	disk := filepath.Join(t.TempDir(), "boot.raw")
	if err := os.WriteFile(disk, append(computetest.BootSector(marker), make([]byte, 1<<20-512)...), 0o600); err != nil {
		t.Fatal(err)
	}
	imageID := cliCreateID(t, tp, "demo", "image", "create", "--disk-format", "raw", "--container-format", "bare",
		"--file", disk, "topo-boot")
	start := time.Now()
	cliCreateID(t, tp, "demo", "--os-compute-api-version", "2.37", "server", "create", "--image", imageID,
		"--flavor", "m1.nano", "--nic", "none", "--min", "2", "--max", "2", "--wait", "topo-vm")
	t.Logf("2 servers ACTIVE in %v (openstack server create --wait)", time.Since(start).Round(100*time.Millisecond))
	booted = topologyServerHosts(t, tp, "topo-vm")
	hosts := []string{booted[0].host, booted[1].host}
	if slices.Sort(hosts); !slices.Equal(hosts, []string{"host-a", "host-b"}) {
		t.Fatalf("servers on hosts %v, want one on host-a and one on host-b", hosts)
	}
	for _, s := range booted {
		consoleShows(t, tp, s.id, marker, 1)
	}
	stopStart(t, tp, booted[0].id, marker)
	for what, args := range map[string][]string{
		"compute service list": {"compute", "service", "list", "--service", "nova-compute", "-c", "Host", "-c", "State"},
		"hypervisor list":      {"hypervisor", "list", "-c", "Hypervisor Hostname", "-c", "State"}} {
		out, err := tp.CLI("admin", append(args, "-f", "value")...)
		if err != nil || !strings.Contains(out, "host-a up") || !strings.Contains(out, "host-b up") {
			t.Errorf("openstack %s: %q %v, want host-a and host-b up", what, out, err)
		}
	}
	return booted, marker
}

// cliCreateID runs an openstack create command as cloud and returns the id
// it printed.
func cliCreateID(t *testing.T, tp *Topology, cloud string, args ...string) string {
	t.Helper()
	out, err := tp.CLI(cloud, append(args, "-f", "json")...)
	var created struct{ ID string }
	if err != nil || json.Unmarshal([]byte(out), &created) != nil || created.ID == "" {
		t.Fatalf("%v: %s", err, out)
	}
	return created.ID
}

// topologyServerHosts lists demo's servers named prefix* and finds each
// one's host as the admin sees it (OS-EXT-SRV-ATTR:host).
func topologyServerHosts(t *testing.T, tp *Topology, prefix string) []topoServer {
	t.Helper()
	out, err := tp.CLI("demo", "server", "list", "--name", "^"+prefix, "-f", "json", "-c", "ID", "-c", "Status")
	var list []struct{ ID, Status string }
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list) != 2 {
		t.Fatalf("server list: %v %s, want 2 servers", err, out)
	}
	var found []topoServer
	for _, s := range list {
		if s.Status != "ACTIVE" {
			t.Errorf("server %s is %s, want ACTIVE", s.ID, s.Status)
		}
		host, err := tp.CLI("admin", "server", "show", s.ID, "-f", "value", "-c", "OS-EXT-SRV-ATTR:host")
		if err != nil {
			t.Fatal(err)
		}
		found = append(found, topoServer{id: s.ID, host: strings.TrimSpace(host)})
	}
	return found
}

// consoleShows waits until the server's console log shows marker at
// least times times (once a boot).
func consoleShows(t *testing.T, tp *Topology, id, marker string, times int) {
	t.Helper()
	eventually(t, 30*time.Second, func() (bool, string) {
		out, err := tp.CLI("demo", "console", "log", "show", id)
		return err == nil && strings.Count(out, marker) >= times, fmt.Sprintf("console log of %s: %q %v", id, out, err)
	})
}

// serverStatus waits until the CLI shows the server in status.
func serverStatus(t *testing.T, tp *Topology, cloud, id, status string) {
	t.Helper()
	eventually(t, 60*time.Second, func() (bool, string) {
		out, err := tp.CLI(cloud, "server", "show", id, "-f", "value", "-c", "status")
		return err == nil && strings.TrimSpace(out) == status, fmt.Sprintf("server %s: %q %v, want %s", id, out, err, status)
	})
}

// stopStart stops the server and starts it again: it boots a second time.
func stopStart(t *testing.T, tp *Topology, id, marker string) {
	t.Helper()
	start := time.Now()
	if _, err := tp.CLI("demo", "server", "stop", id); err != nil {
		t.Fatal(err)
	}
	serverStatus(t, tp, "demo", id, "SHUTOFF")
	if _, err := tp.CLI("demo", "server", "start", id); err != nil {
		t.Fatal(err)
	}
	serverStatus(t, tp, "demo", id, "ACTIVE")
	consoleShows(t, tp, id, marker, 2)
	t.Logf("server %s stopped and started (booted again) in %v", id, time.Since(start).Round(100*time.Millisecond))
}

// topologyHostDown SIGKILLs host-a's imagestack and stops its libvirtd:
// os-services shows host-a down within service_down_time (+ a heartbeat
// and a poll); the admin evacuates its servers, which come back ACTIVE on
// host-b from their image (the boot sector prints again); os-migrations
// lists the evacuations; then every server is deleted, its domain gone.
func topologyHostDown(t *testing.T, tp *Topology, booted []topoServer, marker string) {
	admin := tp.ComputeClient(t.Context(), "admin")
	killed := time.Now()
	tp.Kill("host-a", "KILL")
	libvirtStopped := make(chan error, 1)
	go func() { _, err := tp.script(time.Minute, "kill", "libvirt-a"); libvirtStopped <- err }()
	down := waitServiceDown(t, admin, "host-a", killed)
	if err := <-libvirtStopped; err != nil {
		t.Fatalf("topology.sh kill libvirt-a: %v", err)
	}
	t.Logf("host-a SIGKILLed, libvirtd stopped (%v); os-services shows it down %v after the kill", time.Since(killed).Round(100*time.Millisecond),
		down.Round(100*time.Millisecond))
	if bound := topoDownTime + topoHeartbeat; down > bound {
		t.Errorf("host-a marked down %v after its kill, beyond service_down_time + a heartbeat (%v)", down, bound)
	}
	var evacuated []string
	for _, s := range booted {
		if s.host == "host-a" {
			evacuated = append(evacuated, s.id)
			evacuate(t, tp, admin, s.id, marker)
		}
	}
	checkEvacuations(t, admin, evacuated)
	for _, s := range booted {
		if _, err := tp.CLI("demo", "server", "delete", "--wait", s.id); err != nil {
			t.Errorf("server delete: %v", err)
		}
	}
	uri := strings.TrimPrefix(strings.Fields(tp.Env["TOPO_LIBVIRT_URIS"])[1], "host-b=")
	if left := strings.TrimSpace(virsh(t, uri, "list", "--all", "--name")); left != "" {
		t.Errorf("host-b's libvirtd still has domains after the servers were deleted: %s", left)
	}
}

// waitServiceDown polls os-services until host's nova-compute is down and
// returns how long after since that took.
func waitServiceDown(t *testing.T, admin *gophercloud.ServiceClient, host string, since time.Time) time.Duration {
	t.Helper()
	var state string
	for time.Since(since) < 3*topoDownTime {
		pages, err := services.List(admin, services.ListOpts{Binary: "nova-compute", Host: host}).AllPages(t.Context())
		if err == nil {
			list, _ := services.ExtractServices(pages)
			if len(list) == 1 && list[0].State == "down" {
				return time.Since(since)
			}
			state = fmt.Sprintf("%+v", list)
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s is not marked down %v after its kill: %s", host, 3*topoDownTime, state)
	return 0
}

// evacuate rebuilds the server on another host (the API action through
// gophercloud: the Debian openstack CLI's `server evacuate` fails on the
// answer, 'TupleWithMeta' object has no attribute 'to_dict', though the
// evacuation happens); it comes back ACTIVE on host-b, booted from its image.
func evacuate(t *testing.T, tp *Topology, admin *gophercloud.ServiceClient, id, marker string) {
	t.Helper()
	start := time.Now()
	if _, err := servers.Evacuate(t.Context(), admin, id, servers.EvacuateOpts{}).ExtractAdminPass(); err != nil {
		t.Fatalf("evacuate %s: %v", id, err)
	}
	serverStatus(t, tp, "admin", id, "ACTIVE")
	host, err := tp.CLI("admin", "server", "show", id, "-f", "value", "-c", "OS-EXT-SRV-ATTR:host")
	if err != nil || strings.TrimSpace(host) != "host-b" {
		t.Errorf("evacuated server %s on %q (%v), want host-b", id, host, err)
	}
	consoleShows(t, tp, id, marker, 1)
	t.Logf("server %s evacuated to host-b, ACTIVE and booted in %v", id, time.Since(start).Round(100*time.Millisecond))
}

// checkEvacuations: os-migrations lists each evacuation, host-a to host-b, done.
func checkEvacuations(t *testing.T, admin *gophercloud.ServiceClient, ids []string) {
	t.Helper()
	at := *admin
	at.Microversion = "2.23" // migration_type
	pages, err := migrations.List(&at, migrations.ListOpts{}).AllPages(t.Context())
	if err != nil {
		t.Fatalf("os-migrations: %v", err)
	}
	list, _ := migrations.ExtractMigrations(pages)
	for _, id := range ids {
		i := slices.IndexFunc(list, func(m migrations.Migration) bool { return m.InstanceID == id })
		if i < 0 {
			t.Errorf("os-migrations lacks the evacuation of %s: %+v", id, list)
			continue
		}
		m := list[i]
		if m.MigrationType != "evacuation" || m.SourceCompute != "host-a" || m.DestCompute != "host-b" || m.Status != "done" {
			t.Errorf("os-migrations shows %s's evacuation as %s %s->%s %s, want evacuation host-a->host-b done",
				id, m.MigrationType, m.SourceCompute, m.DestCompute, m.Status)
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
