package tests

import (
	"context"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
)

// cliMap is cliJSON into a map.
func cliMap(t *testing.T, s *Server, cloud string, args ...string) map[string]any {
	t.Helper()
	var m map[string]any
	cliJSON(t, s, cloud, &m, args...)
	return m
}

// TestOpenstackCLIMicroversions: the Debian openstack CLI at compute
// microversion 2.90 creates a server without a network (--nic none, 2.37)
// with a description (2.19) and hostname (2.90), sets them, locks it with a
// reason (2.73) and rebuilds it (2.75); gophercloud pinned at 2.90 reads
// the same fields.
func TestOpenstackCLIMicroversions(t *testing.T) {
	requireLibvirt(t)
	s := NewServer(t, nil, "")
	s.MustCLI("demo", "image", "create", "--file", bootImage(t, "IMAGESTACK-MV"), "--disk-format", "raw",
		"--container-format", "bare", "--min-disk", "1", "tiny")
	v := []string{"--os-compute-api-version", "2.90"}
	created := cliMap(t, s, "demo", append(v, "server", "create", "--image", "tiny", "--flavor", "m1.nano", "--nic", "none",
		"--description", "web tier", "--hostname", "web-1", "--wait", "mv1")...)
	if created["status"] != "ACTIVE" || created["description"] != "web tier" || created["OS-EXT-SRV-ATTR:hostname"] != "web-1" {
		t.Fatalf("server create at 2.90: %v", created)
	}
	if addrs, _ := created["addresses"].(map[string]any); len(addrs) != 0 {
		t.Fatalf("--nic none gave addresses: %v", created["addresses"])
	}
	s.MustCLI("demo", append(v, "server", "set", "--description", "db tier", "mv1")...)
	s.MustCLI("demo", append(v, "server", "lock", "--reason", "maintenance", "mv1")...)
	shown := cliMap(t, s, "demo", append(v, "server", "show", "mv1")...)
	if shown["description"] != "db tier" || shown["locked"] != true || shown["locked_reason"] != "maintenance" {
		t.Fatalf("server show after set and lock: %v", shown)
	}
	if flavor, _ := shown["flavor"].(map[string]any); flavor["original_name"] != "m1.nano" || flavor["ram"] != 128.0 {
		t.Fatalf("2.47 flavor in server show: %v", shown["flavor"])
	}
	if _, errOut, err := s.CLI("demo", append(v, "server", "rebuild", "--image", "tiny", "mv1")...); err == nil || !strings.Contains(errOut, "409") {
		t.Fatalf("rebuild of a locked server: %v %s", err, errOut)
	}
	s.MustCLI("demo", append(v, "server", "unlock", "mv1")...)
	rebuilt := cliMap(t, s, "demo", append(v, "server", "rebuild", "--image", "tiny", "mv1")...)
	if rebuilt["OS-EXT-STS:task_state"] != "rebuilding" || rebuilt["description"] != "db tier" {
		t.Fatalf("server rebuild at 2.90: %v", rebuilt)
	}
	waitStatus2(t, s, "mv1", "ACTIVE")
	if _, errOut, err := s.CLI("demo", "--os-compute-api-version", "2.18", "server", "set", "--description", "x", "mv1"); err == nil {
		t.Fatalf("description at 2.18 was accepted: %s", errOut)
	}

	cc := computeClient(t, s, "demo")
	cc.Microversion = "2.90"
	sv, err := servers.Get(context.Background(), cc, created["id"].(string)).Extract()
	if err != nil || sv.Hostname == nil || *sv.Hostname != "web-1" || sv.Locked == nil || *sv.Locked || sv.Tags == nil ||
		sv.Flavor["original_name"] != "m1.nano" {
		t.Fatalf("gophercloud at 2.90: %+v %v", sv, err)
	}
	cc.Microversion = "2.91"
	if _, err := servers.Get(context.Background(), cc, sv.ID).Extract(); err == nil || !strings.Contains(err.Error(), "406") {
		t.Fatalf("microversion 2.91: %v, want 406", err)
	}
}
