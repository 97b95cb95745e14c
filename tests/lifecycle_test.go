package tests

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestOpenstackCLILifecycle: what a user does with the openstack CLI to
// suspend, resize (confirm and revert), reset the state of (admin), soft
// delete and restore a server, checked in what `server show` says and in
// the real libvirt domain (virsh dominfo), across restarts of the service.
func TestOpenstackCLILifecycle(t *testing.T) {
	requireLibvirt(t)
	s := NewServer(t, nil, "compute:\n  reclaim_instance_interval: 3600\n")
	uri := os.Getenv("TEST_LIBVIRT_URI")
	s.MustCLI("demo", "image", "create", "--file", bootImage(t, "IMAGESTACK-LIFECYCLE"), "--disk-format", "raw", "--container-format", "bare", "lc")
	s.MustCLI("admin", "flavor", "create", "--vcpus", "2", "--ram", "256", "--disk", "2", "m2.lc")
	s.MustCLI("demo", "server", "create", "--image", "lc", "--flavor", "m1.nano", "--wait", "lc1")
	id := strings.TrimSpace(s.MustCLI("demo", "server", "show", "-f", "value", "-c", "id", "lc1"))
	dominfo := func(field string) string {
		t.Helper()
		out, err := exec.Command("virsh", "-c", uri, "dominfo", "imagestack-"+id).CombinedOutput()
		if err != nil {
			t.Fatalf("virsh dominfo: %v %s", err, out)
		}
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(field) + `:\s*(.*)$`).FindStringSubmatch(string(out))
		if m == nil {
			t.Fatalf("virsh dominfo has no %s: %s", field, out)
		}
		return strings.TrimSpace(m[1])
	}
	flavor := func() string {
		return strings.TrimSpace(s.MustCLI("demo", "server", "show", "-f", "value", "-c", "flavor", "lc1"))
	}

	// suspend: SUSPENDED, the domain off with a managed save; resume: ACTIVE.
	s.MustCLI("demo", "server", "suspend", "lc1")
	waitStatus2(t, s, "lc1", "SUSPENDED")
	if st, saved := dominfo("State"), dominfo("Managed save"); st != "shut off" || saved != "yes" {
		t.Fatalf("suspended domain: state %q, managed save %q", st, saved)
	}
	if _, errOut, err := s.CLI("demo", "server", "stop", "lc1"); err == nil || !strings.Contains(errOut, "409") {
		t.Fatalf("stopping a suspended server: %v %s", err, errOut)
	}
	s.Stop() // a restart keeps it suspended
	s.Start()
	waitStatus2(t, s, "lc1", "SUSPENDED")
	s.MustCLI("demo", "server", "resume", "lc1")
	waitStatus2(t, s, "lc1", "ACTIVE")
	if st := dominfo("State"); st != "running" {
		t.Fatalf("resumed domain: %q", st)
	}

	// resize --wait ends in VERIFY_RESIZE with the new flavor and a domain
	// of 2 vCPUs; revert brings m1.nano back; confirm keeps m2.lc.
	s.MustCLI("demo", "server", "resize", "--flavor", "m2.lc", "--wait", "lc1")
	waitStatus2(t, s, "lc1", "VERIFY_RESIZE")
	if f, cpus := flavor(), dominfo("CPU(s)"); !strings.Contains(f, "m2.lc") || cpus != "2" {
		t.Fatalf("after resize: flavor %q, %s vCPUs", f, cpus)
	}
	s.Stop() // the old flavor and disk outlive a restart
	s.Start()
	waitStatus2(t, s, "lc1", "VERIFY_RESIZE")
	s.MustCLI("demo", "server", "resize", "revert", "lc1")
	waitStatus2(t, s, "lc1", "ACTIVE")
	if f, cpus := flavor(), dominfo("CPU(s)"); !strings.Contains(f, "m1.nano") || cpus != "1" {
		t.Fatalf("after revert: flavor %q, %s vCPUs", f, cpus)
	}
	s.MustCLI("demo", "server", "resize", "--flavor", "m2.lc", "--wait", "lc1")
	waitStatus2(t, s, "lc1", "VERIFY_RESIZE")
	s.MustCLI("demo", "server", "resize", "confirm", "lc1")
	waitStatus2(t, s, "lc1", "ACTIVE")
	if f, cpus, mem := flavor(), dominfo("CPU(s)"), dominfo("Max memory"); !strings.Contains(f, "m2.lc") || cpus != "2" || mem != "262144 KiB" {
		t.Fatalf("after confirm: flavor %q, %s vCPUs, %s", f, cpus, mem)
	}
	// openstack server migration list (admins) shows both resizes, newest
	// first: the confirmed one, then the reverted one.
	var migs []map[string]any
	out := s.MustCLI("admin", "--os-compute-api-version", "2.80", "server", "migration", "list", "--server", id, "-f", "json")
	if err := json.Unmarshal([]byte(out), &migs); err != nil || len(migs) != 2 || migs[0]["Status"] != "confirmed" ||
		migs[1]["Status"] != "reverted" || migs[0]["Type"] != "resize" || migs[0]["Server UUID"] != id {
		t.Fatalf("server migration list: %v %s", err, out)
	}
	if _, errOut, err := s.CLI("demo", "server", "resize", "--flavor", "m1.nano", "lc1"); err == nil || !strings.Contains(errOut, "smaller disk") {
		t.Fatalf("resize to a smaller disk: %v %s", err, errOut)
	}

	// server set --state: admins only.
	if _, errOut, err := s.CLI("demo", "server", "set", "--state", "error", "lc1"); err == nil || !strings.Contains(errOut, "403") {
		t.Fatalf("member reset state: %v %s", err, errOut)
	}
	s.MustCLI("admin", "server", "set", "--state", "error", id)
	waitStatus2(t, s, "lc1", "ERROR")
	s.MustCLI("admin", "server", "set", "--state", "active", id)
	waitStatus2(t, s, "lc1", "ACTIVE")

	// Soft delete (reclaim_instance_interval set): SOFT_DELETED with the
	// domain off, out of the default list (as Nova: by id only, and listed
	// with --deleted for admins); restore: ACTIVE; delete --force: gone.
	s.MustCLI("demo", "server", "delete", "lc1")
	waitStatus2(t, s, id, "SOFT_DELETED")
	if st := dominfo("State"); st != "shut off" {
		t.Fatalf("soft-deleted domain: %q", st)
	}
	if out := s.MustCLI("demo", "server", "list", "-f", "value", "-c", "Name"); strings.Contains(out, "lc1") {
		t.Fatalf("a soft-deleted server in the default list: %q", out)
	}
	if out := s.MustCLI("admin", "server", "list", "--all-projects", "--deleted", "-f", "value", "-c", "Name", "-c", "Status"); !strings.Contains(out, "lc1 SOFT_DELETED") {
		t.Fatalf("server list --deleted: %q", out)
	}
	s.MustCLI("demo", "server", "restore", id)
	waitStatus2(t, s, "lc1", "ACTIVE")
	if st := dominfo("State"); st != "running" {
		t.Fatalf("restored domain: %q", st)
	}
	s.MustCLI("demo", "server", "delete", "--force", "--wait", "lc1")
	if out := s.MustCLI("demo", "server", "list", "-f", "value"); strings.TrimSpace(out) != "" {
		t.Fatalf("servers left: %q", out)
	}
}
