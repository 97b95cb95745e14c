package tests

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestOpenstackCLIShelve shelves and unshelves a server with the openstack
// CLI (the default shelved_offload_time 0 offloads it at once), makes
// rotated backups of it and a snapshot at microversion 2.45.
func TestOpenstackCLIShelve(t *testing.T) {
	requireLibvirt(t)
	s := NewServer(t, nil, "")
	marker := "IMAGESTACK-SHELVE-BOOT"
	s.MustCLI("demo", "image", "create", "--file", bootImage(t, marker), "--disk-format", "raw", "--container-format", "bare", "--min-disk", "1", "tiny")
	s.MustCLI("demo", "server", "create", "--image", "tiny", "--flavor", "m1.nano", "--wait", "vm")
	addresses := func() string {
		return strings.TrimSpace(s.MustCLI("demo", "server", "show", "-f", "value", "-c", "addresses", "vm"))
	}
	before := addresses()
	if !strings.Contains(before, "10.0.0.") {
		t.Fatalf("addresses before shelve: %q", before)
	}

	s.MustCLI("demo", "server", "shelve", "--wait", "vm")
	waitStatus2(t, s, "vm", "SHELVED_OFFLOADED")
	if ps := strings.TrimSpace(s.MustCLI("demo", "server", "show", "-f", "value", "-c", "OS-EXT-STS:power_state", "vm")); ps != "Shutdown" && ps != "4" {
		t.Fatalf("power state of the offloaded server: %q", ps)
	}
	if out := s.MustCLI("demo", "image", "list", "-f", "value", "-c", "Name", "-c", "Status"); !strings.Contains(out, "vm-shelved active") {
		t.Fatalf("the shelved image is not listed active: %q", out)
	}

	s.MustCLI("demo", "server", "unshelve", "--wait", "vm")
	waitStatus2(t, s, "vm", "ACTIVE")
	waitConsole(t, s, "vm", marker)
	if after := addresses(); after != before {
		t.Fatalf("addresses changed: %q, then %q", before, after)
	}
	eventually(t, 30*time.Second, func() (bool, string) {
		out := s.MustCLI("demo", "image", "list", "-f", "value", "-c", "Name")
		return !strings.Contains(out, "vm-shelved"), "the shelved image is still there: " + out
	})

	// Backups: each has its own name, since `server backup create` looks
	// the new image up by name (two backups named alike make it fail).
	for _, name := range []string{"b1", "b2", "b3"} {
		s.MustCLI("demo", "server", "backup", "create", "--type", "daily", "--rotate", "2", "--name", name, "--wait", "vm")
		waitStatus2(t, s, "vm", "ACTIVE")
	}
	eventually(t, 60*time.Second, func() (bool, string) {
		out := strings.Fields(s.MustCLI("demo", "image", "list", "--property", "image_type=backup", "-f", "value", "-c", "Name"))
		return strings.Join(out, " ") == "b2 b3" || strings.Join(out, " ") == "b3 b2", "backups left: " + strings.Join(out, " ")
	})

	// From 2.45 createImage answers the image id in its body.
	out := s.MustCLI("demo", "--os-compute-api-version", "2.45", "server", "image", "create", "--name", "snap245", "--wait", "-f", "json", "vm")
	var img map[string]any
	if err := json.Unmarshal([]byte(out), &img); err != nil || img["name"] != "snap245" || img["status"] != "active" {
		t.Fatalf("server image create at 2.45: %s", out)
	}
	waitStatus2(t, s, "vm", "ACTIVE")
	s.MustCLI("demo", "server", "delete", "--wait", "vm")
}
