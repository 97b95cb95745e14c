package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOpenstackCLIAggregates: an admin creates a host aggregate in a zone
// with the Debian openstack CLI, adds this host, sets and unsets
// properties; the zone shows in availability zone list; the aggregate's
// hosts cache an image on request (2.81), which lands in the host's base
// cache, and a boot on it downloads nothing more; the host is removed and
// the aggregate deleted. demo may not.
func TestOpenstackCLIAggregates(t *testing.T) {
	s := NewServer(t, nil, "")
	host, _ := os.Hostname()
	if _, errOut, err := s.CLI("demo", "aggregate", "create", "nope"); err == nil {
		t.Fatalf("demo created an aggregate: %s", errOut)
	}
	var a map[string]any
	cliJSON(t, s, "admin", &a, "aggregate", "create", "--zone", "az1", "--property", "ssd=true", "fast")
	if a["name"] != "fast" || a["availability_zone"] != "az1" {
		t.Fatalf("aggregate create: %v", a)
	}
	cliJSON(t, s, "admin", &a, "aggregate", "add", "host", "fast", host)
	if !strings.Contains(mustMarshal(a["hosts"]), host) {
		t.Fatalf("aggregate add host: %v", a)
	}
	if _, errOut, err := s.CLI("admin", "aggregate", "add", "host", "fast", "no-such-host"); err == nil || !strings.Contains(errOut, "could not be found") {
		t.Fatalf("adding an unknown host: %v %s", err, errOut)
	}
	s.MustCLI("admin", "aggregate", "set", "--property", "gpu=no", "--name", "faster", "fast")
	s.MustCLI("admin", "aggregate", "unset", "--property", "ssd", "faster")
	cliJSON(t, s, "admin", &a, "--os-compute-api-version", "2.41", "aggregate", "show", "faster")
	props := mustMarshal(a["properties"])
	if a["uuid"] == nil || !strings.Contains(props, "gpu") || strings.Contains(props, "ssd") || a["availability_zone"] != "az1" {
		t.Fatalf("aggregate show: %v", a)
	}
	var zones []map[string]any
	cliJSON(t, s, "admin", &zones, "availability", "zone", "list", "--compute")
	if got := mustMarshal(zones); len(zones) != 2 || !strings.Contains(got, `"az1"`) || strings.Contains(got, `"nova"`) {
		t.Fatalf("availability zone list: %v", zones)
	}
	var list []map[string]any
	cliJSON(t, s, "admin", &list, "aggregate", "list", "--long")
	if len(list) != 1 || list[0]["Name"] != "faster" {
		t.Fatalf("aggregate list: %v", list)
	}

	id := strings.TrimSpace(s.MustCLI("admin", "image", "create", "--file", bootImage(t, "IMAGESTACK-PRECACHE"), "--disk-format", "raw",
		"--container-format", "bare", "--public", "-f", "value", "-c", "id", "precached"))
	s.MustCLI("admin", "--os-compute-api-version", "2.81", "aggregate", "cache", "image", "faster", id)
	base := filepath.Join(s.StateDir, "compute", "base", id)
	eventually(t, 30*time.Second, func() (bool, string) {
		_, err := os.Stat(base)
		return err == nil, "the image never reached the host's cache"
	})

	// A boot on the precached image downloads nothing more.
	s.MustCLI("admin", "server", "create", "--image", "precached", "--flavor", "m1.nano", "--wait", "vm1")
	if n := strings.Count(s.log.String(), `"image downloaded into the host cache" image=`+id); n != 1 {
		t.Fatalf("image %s downloaded %d times for a precache and a boot, want 1", id, n)
	}
	s.MustCLI("admin", "server", "delete", "--wait", "vm1")

	if _, errOut, err := s.CLI("admin", "aggregate", "delete", "faster"); err == nil {
		t.Fatalf("deleted an aggregate with a host: %s", errOut)
	}
	s.MustCLI("admin", "aggregate", "remove", "host", "faster", host)
	s.MustCLI("admin", "aggregate", "delete", "faster")
	cliJSON(t, s, "admin", &list, "aggregate", "list")
	if len(list) != 0 {
		t.Fatalf("after delete: %v", list)
	}
}
