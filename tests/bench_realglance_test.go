package tests

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
)

// realGlance is Debian's Glance 25 (file store, MariaDB, one worker) with
// Keystone 22, started by the shared real-glance.sh: the peer every ratio in
// the side-by-side benchmarks is taken against.
type realGlance struct {
	ImageURL string                     // http://127.0.0.1:19292
	DSN      string                     // its database, for seeding (go-sql-driver form)
	Client   *gophercloud.ServiceClient // image v2 client as admin in project admin
	Project  string                     // the admin project's id (owner of what Client creates)
}

// realGlanceScript finds real-glance.sh: $REAL_GLANCE_SCRIPT, else the
// workplace's shared tools beside or above the checkout.
func realGlanceScript(tb testing.TB) string {
	if p := os.Getenv("REAL_GLANCE_SCRIPT"); p != "" {
		return p
	}
	wd, _ := os.Getwd()
	for dir := wd; dir != "/"; dir = filepath.Dir(dir) {
		p := filepath.Join(dir, "shared", "tools", "real-glance.sh")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/work/shared/tools/real-glance.sh"); err == nil {
		return "/work/shared/tools/real-glance.sh"
	}
	tb.Fatal("real-glance.sh not found: set REAL_GLANCE_SCRIPT to the shared tools' real-glance.sh")
	return ""
}

// startRealGlance starts the real Glance and Keystone unless they already
// answer, and stops them at the end of the benchmark if it started them.
func startRealGlance(tb testing.TB) *realGlance {
	tb.Helper()
	before := glancePIDs()
	out, err := exec.Command("bash", realGlanceScript(tb)).CombinedOutput()
	if err != nil {
		tb.Fatalf("real-glance.sh: %v\n%s", err, out)
	}
	if len(before) == 0 {
		tb.Cleanup(stopRealGlance)
	}
	opts := gophercloud.AuthOptions{
		IdentityEndpoint: "http://127.0.0.1:15000/v3", Username: "admin", Password: "adminpw",
		DomainName: "Default", TenantName: "admin",
	}
	opts.Scope = &gophercloud.AuthScope{ProjectName: "admin", DomainName: "Default"}
	provider, err := openstack.AuthenticatedClient(context.Background(), opts)
	if err != nil {
		tb.Fatalf("real Keystone: %v", err)
	}
	c, err := openstack.NewImageV2(provider, gophercloud.EndpointOpts{Region: "RegionOne"})
	if err != nil {
		tb.Fatal(err)
	}
	g := &realGlance{ImageURL: "http://127.0.0.1:19292", Client: c,
		DSN: "glance:glance@tcp(127.0.0.1:3306)/glance?parseTime=true"}
	g.Project = realGlanceProject(tb)
	return g
}

// realGlanceProject returns the id of the admin project, which owns what
// the benchmark's client creates.
func realGlanceProject(tb testing.TB) string {
	out, err := exec.Command("mysql", "-uroot", "-N", "-e", "SELECT id FROM keystone.project WHERE name='admin' AND domain_id='default'").Output()
	if err != nil {
		tb.Fatalf("real Keystone's admin project: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// PIDs are the real Glance's processes (parent and worker): their CPU
// time is what a request costs it.
func (g *realGlance) PIDs() []int { return glancePIDs() }

func glancePIDs() []int {
	out, _ := exec.Command("pgrep", "-f", "glance-api --config-file /tmp/real-openstack").Output()
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	return pids
}

// stopRealGlance ends the Glance and Keystone processes real-glance.sh started.
func stopRealGlance() {
	exec.Command("pkill", "-f", "glance-api --config-file /tmp/real-openstack").Run()
	exec.Command("pkill", "-f", "/tmp/real-openstack/keystone-serve.py").Run()
}
