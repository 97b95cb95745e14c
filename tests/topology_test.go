package tests

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"imagestack/compute/computetest"
)

// TestTopology drives the Proof topology (doc/topology.md: 3 API replicas
// behind HAProxy, a 3-node Galera cluster, MinIO in erasure mode, 2 compute
// hosts with their own libvirtd) with the openstack CLI and gophercloud
// through HAProxy, then takes away a Galera node, a MinIO drive and an API
// replica in turn: requests keep succeeding, and the log says which needed
// a client retry.
func TestTopology(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the topology takes about a minute to start")
	}
	began := time.Now()
	tp := StartTopology(t)
	defer func() { t.Logf("TestTopology took %v in all", time.Since(began).Round(100*time.Millisecond)) }()
	ctx := t.Context()
	demo, err := tp.ImageClient(ctx, "demo")
	if err != nil {
		t.Fatalf("gophercloud through HAProxy: %v", err)
	}
	var kept topoImage // uploaded before the faults, read back after each
	t.Run("clients through HAProxy reach every replica", func(t *testing.T) {
		kept = topologyClients(t, tp, demo)
	})
	if kept.id == "" {
		t.FailNow()
	}
	t.Run("a Galera node stops", func(t *testing.T) { topologyGaleraDown(t, tp, demo) })
	t.Run("a MinIO drive stops", func(t *testing.T) { topologyMinIODown(t, tp, demo, kept) })
	t.Run("an API replica is killed", func(t *testing.T) { topologyReplicaKilled(t, tp, kept) })
	t.Run("compute hosts have their own libvirtd", func(t *testing.T) { topologyComputeHosts(t, tp) })
	var booted []topoServer
	var marker string
	t.Run("servers boot on both hosts through HAProxy", func(t *testing.T) { booted, marker = topologyBootServers(t, tp) })
	if len(booted) == 2 {
		t.Run("a compute host dies and its servers are evacuated", func(t *testing.T) { topologyHostDown(t, tp, booted, marker) })
	}
	t.Run("an API replica is killed during uploads and an import", func(t *testing.T) { topologyReplicaKilledInFlight(t, tp) })
}

// topoImage is an image with the data it was uploaded with.
type topoImage struct {
	id   string
	data []byte
}

// topologyClients: the CLI issues a token, creates an image from a file,
// lists and saves it; gophercloud round-trips more; HAProxy spread the
// requests over the three replicas, as their own logs show.
func topologyClients(t *testing.T, tp *Topology, demo *gophercloud.ServiceClient) topoImage {
	if out, err := tp.CLI("admin", "token", "issue", "-f", "value", "-c", "id"); err != nil || strings.TrimSpace(out) == "" {
		t.Fatalf("token issue: %q, %v", out, err)
	}
	data := randomBytes(3 << 20)
	src := filepath.Join(t.TempDir(), "cli.raw")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := tp.CLI("demo", "image", "create", "--disk-format", "raw", "--container-format", "bare", "--file", src, "-f", "json", "topo-cli")
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ ID string }
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.ID == "" {
		t.Fatalf("image create: %v %s", err, out)
	}
	// The CLI prints the image as created, before its upload: the list shows it active.
	if list, err := tp.CLI("demo", "image", "list", "-f", "value", "-c", "ID", "-c", "Status"); err != nil || !strings.Contains(list, created.ID+" active") {
		t.Fatalf("image list lacks %s active: %q %v", created.ID, list, err)
	}
	saved := filepath.Join(t.TempDir(), "saved.raw")
	if _, err := tp.CLI("demo", "image", "save", "--file", saved, created.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(saved); !bytes.Equal(got, data) {
		t.Fatalf("image save: %d bytes differ from the %d uploaded", len(got), len(data))
	}
	var kept topoImage
	for i := range 3 {
		kept = mustRoundTrip(t, demo, fmt.Sprintf("topo-gc-%d", i))
	}
	stats := tp.Stats()
	for _, r := range []string{"api-1", "api-2", "api-3"} {
		n, s := tp.ImageRequests(r), stats["image/"+r]
		t.Logf("%s: %d image API requests in its log, %d HAProxy sessions, %s", r, n, s.Sessions, s.Status)
		if n == 0 || s.Sessions == 0 {
			t.Errorf("%s answered no image request: HAProxy does not spread them", r)
		}
	}
	return kept
}

// topologyGaleraDown stops the node HAProxy sends the replicas to: a backup
// takes over, the cluster goes on with 2 nodes, requests succeed.
func topologyGaleraDown(t *testing.T, tp *Topology, demo *gophercloud.ServiceClient) {
	tp.Kill("galera-1", "TERM")
	for i := range 4 {
		retrying(t, fmt.Sprintf("token and image round trip %d after galera-1 stopped", i), func() error {
			c, err := tp.ImageClient(t.Context(), "demo")
			if err != nil {
				return fmt.Errorf("token: %w", err)
			}
			_, err = roundTrip(t.Context(), c, fmt.Sprintf("topo-galera-%d", i))
			return err
		})
	}
	out, err := exec.Command("mysql", "--protocol=tcp", "-h127.0.0.1", "-P3312", "-uroot", "-N", "-B", "-e",
		"SHOW STATUS LIKE 'wsrep_cluster_size'").Output()
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "\t2") {
		t.Errorf("galera-2 sees cluster %q (%v), want size 2", out, err)
	}
	eventually(t, 10*time.Second, func() (bool, string) {
		s := tp.Stats()
		return s["galera/galera-1"].Status == "DOWN" && s["galera/galera-2"].Sessions+s["galera/galera-3"].Sessions > 0,
			fmt.Sprintf("HAProxy: %+v %+v %+v", s["galera/galera-1"], s["galera/galera-2"], s["galera/galera-3"])
	})
	s := tp.Stats()
	t.Logf("HAProxy galera: galera-1 %+v, galera-2 %+v, galera-3 %+v", s["galera/galera-1"], s["galera/galera-2"], s["galera/galera-3"])
	retrying(t, "image list after galera-1 stopped", func() error {
		_, err := images.List(demo, images.ListOpts{}).AllPages(t.Context())
		return err
	})
}

// topologyMinIODown kills one of the four MinIO servers (its drive gone):
// the erasure set (EC:2) still reads and writes.
func topologyMinIODown(t *testing.T, tp *Topology, demo *gophercloud.ServiceClient, kept topoImage) {
	tp.Kill("minio-4", "KILL")
	for i := range 3 {
		retrying(t, fmt.Sprintf("image round trip %d with minio-4 down", i), func() error {
			_, err := roundTrip(t.Context(), demo, fmt.Sprintf("topo-minio-%d", i))
			return err
		})
	}
	retrying(t, "download of an image uploaded before minio-4 went down", func() error {
		return downloadSame(t.Context(), demo, kept)
	})
	eventually(t, 10*time.Second, func() (bool, string) {
		s := tp.Stats()["s3/minio-4"]
		return s.Status == "DOWN", fmt.Sprintf("HAProxy sees minio-4 %+v", s)
	})
}

// topologyReplicaKilled SIGKILLs api-2 amid steady traffic (token, list,
// download, one after another): HAProxy marks it down, every operation
// succeeds, and the log shows those that needed a client retry (a request
// under way on api-2 when it died).
func topologyReplicaKilled(t *testing.T, tp *Topology, kept topoImage) {
	before := map[string]int{"api-1": tp.ImageRequests("api-1"), "api-3": tp.ImageRequests("api-3")}
	stop := make(chan struct{})
	results := steadyTraffic(t.Context(), tp.AuthOptions("demo"), kept, stop)
	time.Sleep(2 * time.Second)
	tp.Kill("api-2", "KILL")
	eventually(t, 10*time.Second, func() (bool, string) {
		s := tp.Stats()["image/api-2"]
		return s.Status == "DOWN", fmt.Sprintf("HAProxy sees api-2 %+v", s)
	})
	time.Sleep(2 * time.Second)
	close(stop)
	ops, retried := <-results, 0
	for i, op := range ops {
		switch {
		case !op.ok:
			t.Errorf("operation %d failed %d times: %v", i, len(op.errs), op.errs)
		case len(op.errs) > 0:
			retried++
			t.Logf("operation %d succeeded after %d failed attempts: %v", i, len(op.errs), op.errs)
		}
	}
	t.Logf("%d token+list+download operations around the kill, %d needed a client retry", len(ops), retried)
	if len(ops) < 5 {
		t.Errorf("only %d operations ran around the kill", len(ops))
	}
	retrying(t, "image round trip after api-2 was killed", func() error {
		c, err := tp.ImageClient(t.Context(), "demo")
		if err == nil {
			_, err = roundTrip(t.Context(), c, "topo-after-kill")
		}
		return err
	})
	if _, err := tp.CLI("demo", "image", "list"); err != nil {
		t.Errorf("openstack image list after api-2 was killed: %v", err)
	}
	stats := tp.Stats()
	for _, api := range []string{"identity", "image"} {
		s := stats[api+"/api-2"]
		t.Logf("HAProxy %s backend: %d connection retries to api-2, %d requests redispatched from it", api, s.Retries, s.Redispatches)
	}
	for r, n := range before {
		if after := tp.ImageRequests(r); after == n {
			t.Errorf("%s served nothing after api-2 was killed", r)
		}
	}
}

// trafficOp is one operation of steadyTraffic: whether it succeeded and
// the errors of its failed attempts.
type trafficOp struct {
	ok   bool
	errs []error
}

// steadyTraffic runs operations (a new token, an image list, a download of
// kept) one after another, each tried up to 3 times, until stop is closed;
// then it sends them all.
func steadyTraffic(ctx context.Context, opts gophercloud.AuthOptions, kept topoImage, stop <-chan struct{}) <-chan []trafficOp {
	done := make(chan []trafficOp, 1)
	go func() {
		var ops []trafficOp
		for {
			select {
			case <-stop:
				done <- ops
				return
			default:
			}
			var op trafficOp
			for len(op.errs) < 3 && !op.ok {
				if err := tokenListDownload(ctx, opts, kept); err != nil {
					op.errs = append(op.errs, err)
					time.Sleep(200 * time.Millisecond)
				} else {
					op.ok = true
				}
			}
			ops = append(ops, op)
		}
	}()
	return done
}

func tokenListDownload(ctx context.Context, opts gophercloud.AuthOptions, kept topoImage) error {
	c, err := imageClientWith(ctx, opts)
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	if _, err := images.List(c, images.ListOpts{}).AllPages(ctx); err != nil {
		return fmt.Errorf("list: %w", err)
	}
	return downloadSame(ctx, c, kept)
}

// topologyComputeHosts boots a boot sector under TCG on host-a's libvirtd:
// host-b's and the system's libvirtd do not see it.
func topologyComputeHosts(t *testing.T, tp *Topology) {
	uris := map[string]string{}
	for _, kv := range strings.Fields(tp.Env["TOPO_LIBVIRT_URIS"]) {
		host, uri, _ := strings.Cut(kv, "=")
		uris[host] = uri
	}
	for host, uri := range uris {
		log, _ := os.ReadFile(filepath.Join(topologyDir, host, "out.log"))
		if !bytes.Contains(log, []byte(`"libvirt connected","uri":"`+uri+`"`)) {
			t.Errorf("%s is not connected to its libvirtd %s", host, uri)
		}
	}
	dir := t.TempDir()
	disk, serial := filepath.Join(dir, "boot.raw"), filepath.Join(dir, "serial.log")
	sector := append(computetest.BootSector("topology host-a"), make([]byte, 1<<20-512)...)
	if err := os.WriteFile(disk, sector, 0o600); err != nil {
		t.Fatal(err)
	}
	name := "topo-check-" + filepath.Base(dir)
	xml := fmt.Sprintf(`<domain type='qemu'><name>%s</name><memory unit='MiB'>32</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os><devices>
<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='%s'/><target dev='hda' bus='ide'/></disk>
<serial type='file'><source path='%s'/></serial></devices></domain>`, name, disk, serial)
	xmlPath := filepath.Join(dir, "domain.xml")
	if err := os.WriteFile(xmlPath, []byte(xml), 0o600); err != nil {
		t.Fatal(err)
	}
	virsh(t, uris["host-a"], "create", xmlPath)
	defer virsh(t, uris["host-a"], "destroy", name)
	eventually(t, 30*time.Second, func() (bool, string) {
		out, _ := os.ReadFile(serial)
		return bytes.Contains(out, []byte("topology host-a")), fmt.Sprintf("serial console: %q", out)
	})
	for where, uri := range map[string]string{"host-b": uris["host-b"], "the system libvirtd": "qemu:///system"} {
		if strings.Contains(virsh(t, uri, "list", "--all", "--name"), name) {
			t.Errorf("%s sees host-a's domain %s", where, name)
		}
	}
}

func virsh(t *testing.T, uri string, args ...string) string {
	t.Helper()
	out, err := exec.Command("virsh", append([]string{"-c", uri}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("virsh -c %s %s: %v\n%s", uri, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// retrying runs op up to 5 times, a second apart, logging each failure (the
// client retries this shows) and failing the test if none succeeds.
func retrying(t *testing.T, what string, op func() error) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil {
			if attempt > 1 {
				t.Logf("%s: succeeded at attempt %d", what, attempt)
			}
			return
		}
		t.Logf("%s: attempt %d failed: %v", what, attempt, err)
		if attempt == 5 {
			t.Fatalf("%s: still failing after %d attempts", what, attempt)
		}
		time.Sleep(time.Second)
	}
}

// roundTrip creates an image, uploads 4 MiB of random data and downloads it.
func roundTrip(ctx context.Context, c *gophercloud.ServiceClient, name string) (topoImage, error) {
	im, err := images.Create(ctx, c, images.CreateOpts{Name: name, DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	if err != nil {
		return topoImage{}, fmt.Errorf("create: %w", err)
	}
	img := topoImage{id: im.ID, data: randomBytes(4 << 20)}
	if err := imagedata.Upload(ctx, c, im.ID, bytes.NewReader(img.data)).ExtractErr(); err != nil {
		return img, fmt.Errorf("upload: %w", err)
	}
	return img, downloadSame(ctx, c, img)
}

func mustRoundTrip(t *testing.T, c *gophercloud.ServiceClient, name string) topoImage {
	t.Helper()
	img, err := roundTrip(t.Context(), c, name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return img
}

// downloadSame reads the image back and compares it with what was uploaded.
func downloadSame(ctx context.Context, c *gophercloud.ServiceClient, img topoImage) error {
	rc, err := imagedata.Download(ctx, c, img.id).Extract()
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if !bytes.Equal(got, img.data) {
		return fmt.Errorf("download of %s: %d bytes differ from the %d uploaded", img.id, len(got), len(img.data))
	}
	return nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
