package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
)

// topologyDir is where the test's topology keeps its state (removed by its
// stop); a topology started by hand uses /tmp/imagestack-topo.
const topologyDir = "/tmp/imagestack-topo-t"

// Topology is the Proof topology of scripts/topology.sh (doc/topology.md),
// started for one test and stopped at its end.
type Topology struct {
	t   testing.TB
	Env map[string]string // the exports of `topology.sh env`
}

// StartTopology starts the topology with the test binary's server and stops
// it when the test ends, checking that nothing of it is left running.
func StartTopology(t testing.TB) *Topology {
	t.Helper()
	if os.Getuid() != 0 {
		t.Fatal("the topology test runs as root (it starts MariaDB, MinIO, HAProxy and libvirtd): run `make test` as root")
	}
	tp := &Topology{t: t}
	t.Cleanup(tp.stop)
	start := time.Now()
	out, err := tp.script(10*time.Minute, "start")
	if err != nil {
		t.Fatalf("topology.sh start: %v", err)
	}
	t.Logf("topology started in %v", time.Since(start).Round(100*time.Millisecond))
	tp.Env = parseExports(out)
	return tp
}

// script runs scripts/topology.sh with the test's state directory and
// server binary; it returns stdout, stderr going to the test log on failure.
func (tp *Topology) script(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{"../scripts/topology.sh"}, args...)...)
	cmd.Env = append(cleanEnv(), "TOPO_DIR="+topologyDir, "IMAGESTACK_BIN="+serverBin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%w\n%s", err, errb.String())
	}
	return out.String(), err
}

// parseExports reads `export NAME='value'` lines.
func parseExports(out string) map[string]string {
	env := map[string]string{}
	for line := range strings.Lines(out) {
		name, value, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "export "), "=")
		if ok {
			env[name] = strings.Trim(value, "'")
		}
	}
	return env
}

// stop shows the components' last log lines when the test failed, stops the
// topology and checks that no process or listener of it is left.
func (tp *Topology) stop() {
	if tp.t.Failed() {
		tp.dumpLogs()
	}
	start := time.Now()
	if _, err := tp.script(5*time.Minute, "stop"); err != nil {
		tp.t.Errorf("topology.sh stop: %v", err)
		return
	}
	tp.t.Logf("topology stopped in %v", time.Since(start).Round(100*time.Millisecond))
	if left := processesMentioning(topologyDir); len(left) > 0 {
		tp.t.Errorf("processes of the topology still running after stop: %v", left)
	}
	for _, addr := range []string{"127.0.0.10:5000", "127.0.0.10:9292", "127.0.0.10:3310", "127.0.0.11:9292", "127.0.0.1:3311", "127.0.0.1:9301"} {
		if ln, err := net.Listen("tcp", addr); err != nil {
			tp.t.Errorf("%s still in use after stop: %v", addr, err)
		} else {
			ln.Close()
		}
	}
}

func (tp *Topology) dumpLogs() {
	logs, _ := filepath.Glob(filepath.Join(topologyDir, "*", "out.log"))
	galera, _ := filepath.Glob(filepath.Join(topologyDir, "galera-*", "error.log"))
	for _, p := range append(logs, galera...) {
		data, _ := os.ReadFile(p)
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		tp.t.Logf("--- %s (last lines)\n%s", p, strings.Join(lines[max(0, len(lines)-12):], "\n"))
	}
}

// processesMentioning lists the processes whose command line contains s.
func processesMentioning(s string) []string {
	var found []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		data, err := os.ReadFile(p)
		if err == nil && bytes.Contains(data, []byte(s)) {
			found = append(found, strings.ReplaceAll(string(data), "\x00", " "))
		}
	}
	return found
}

// Kill signals one component (api-2, galera-1, minio-4, ...) and, for KILL
// and TERM, waits until it is gone.
func (tp *Topology) Kill(name, signal string) {
	tp.t.Helper()
	if _, err := tp.script(time.Minute, "kill", name, signal); err != nil {
		tp.t.Fatalf("topology.sh kill %s %s: %v", name, signal, err)
	}
}

// Stats returns HAProxy's view of each server ("backend/server"): its
// status (UP, DOWN...) and the sessions it served.
func (tp *Topology) Stats() map[string]ServerStat {
	tp.t.Helper()
	resp, err := http.Get(tp.Env["TOPO_STATS_URL"] + ";csv")
	if err != nil {
		tp.t.Fatalf("HAProxy stats: %v", err)
	}
	defer resp.Body.Close()
	r := csv.NewReader(resp.Body)
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil || len(rows) == 0 {
		tp.t.Fatalf("HAProxy stats: %v", err)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[strings.TrimPrefix(name, "# ")] = i
	}
	stats := map[string]ServerStat{}
	for _, row := range rows[1:] {
		num := func(name string) int { n, _ := strconv.Atoi(row[col[name]]); return n }
		stats[row[col["pxname"]]+"/"+row[col["svname"]]] = ServerStat{Status: row[col["status"]], Sessions: num("stot"),
			Retries: num("wretr"), Redispatches: num("wredis")}
	}
	return stats
}

// ServerStat is one server's line in HAProxy's statistics.
type ServerStat struct {
	Status   string
	Sessions int
	// Retries of a connection to it, and requests sent elsewhere after
	// failing on it.
	Retries, Redispatches int
}

// ImageRequests counts the image API requests a member logged (HAProxy's
// health checks left out).
func (tp *Topology) ImageRequests(member string) int {
	f, err := os.Open(filepath.Join(topologyDir, member, "out.log"))
	if err != nil {
		tp.t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, `"msg":"request"`) && strings.Contains(line, `"api":"image"`) && strings.Contains(line, `"path":"/v2/`) {
			n++
		}
	}
	return n
}

// Cloud is the auth section of a cloud in the topology's clouds.yaml.
func (tp *Topology) Cloud(name string) map[string]string {
	tp.t.Helper()
	return cloudAuth(tp.t, tp.Env["OS_CLIENT_CONFIG_FILE"], name)
}

// AuthOptions are gophercloud's options for cloud, through HAProxy.
func (tp *Topology) AuthOptions(cloud string) gophercloud.AuthOptions {
	c := tp.Cloud(cloud)
	return gophercloud.AuthOptions{IdentityEndpoint: c["auth_url"], Username: c["username"], Password: c["password"],
		DomainName: c["user_domain_name"], Scope: &gophercloud.AuthScope{ProjectName: c["project_name"], DomainName: c["project_domain_name"]}}
}

// ImageClient authenticates cloud with gophercloud through HAProxy and
// returns its image client.
func (tp *Topology) ImageClient(ctx context.Context, cloud string) (*gophercloud.ServiceClient, error) {
	return imageClientWith(ctx, tp.AuthOptions(cloud))
}

// imageClientWith issues a token with opts and returns the image client
// of its catalog.
func imageClientWith(ctx context.Context, opts gophercloud.AuthOptions) (*gophercloud.ServiceClient, error) {
	provider, err := openstack.AuthenticatedClient(ctx, opts)
	if err != nil {
		return nil, err
	}
	return openstack.NewImageV2(provider, gophercloud.EndpointOpts{Region: "RegionOne"})
}

// CLI runs the openstack CLI as cloud against the topology.
func (tp *Topology) CLI(cloud string, args ...string) (string, error) {
	tp.t.Helper()
	out, errOut, err := openstackCLI(tp.t, tp.Env["OS_CLIENT_CONFIG_FILE"], cloud, args...)
	if err != nil {
		return out, fmt.Errorf("openstack %s: %w: %s", strings.Join(args, " "), err, errOut)
	}
	return out, nil
}

// ServedBy names the API replicas whose log shows a request for path.
func (tp *Topology) ServedBy(path string) []string {
	var by []string
	for _, r := range []string{"api-1", "api-2", "api-3"} {
		data, _ := os.ReadFile(filepath.Join(topologyDir, r, "out.log"))
		for line := range strings.Lines(string(data)) {
			if strings.Contains(line, `"msg":"request"`) && strings.Contains(line, `"path":"`+path+`"`) {
				by = append(by, r)
				break
			}
		}
	}
	return by
}
