package service

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"

	"imagestack/compute"
)

// Hypervisor is a compute host as os-hypervisors shows it: its capacity,
// what the servers allocated on it take, and its compute service.
type Hypervisor struct {
	ID                                   int
	UUID                                 string // stable per host name (shown from 2.53)
	Hostname                             string
	Up                                   bool
	Type                                 string
	Version                              int
	VCPUs, MemoryMB, LocalGB             int
	VCPUsUsed, MemoryMBUsed, LocalGBUsed int
	RunningVMs                           int
	FreeDiskGB                           int
	Service                              ComputeService
	Servers                              []HostedServer
}

// HostedServer is a server on a hypervisor (with_servers, /servers).
type HostedServer struct{ Name, UUID string }

// hypervisorNamespace derives a host's hypervisor UUID from its name, so it
// stays the same across restarts without being stored.
var hypervisorNamespace = uuid.MustParse("5f1c3a8e-6c44-4d43-9a9b-0c2e7d1c9f10")

// Hypervisors reports every registered compute host whose nova-compute
// service exists (Nova skips the nodes of deleted services), up while it
// heartbeats, under rule, one of Nova's os-hypervisors rules (admins by
// default).
func (s *Service) Hypervisors(ctx context.Context, c Caller, rule string) ([]Hypervisor, error) {
	if err := s.authorize(c, "os_compute_api:os-hypervisors:"+rule, nil); err != nil {
		return nil, err
	}
	services, err := s.hostServices(ctx)
	if err != nil || s.Nodes == nil {
		return []Hypervisor{}, err
	}
	nodes, usage, err := s.nodesAndUsage(ctx)
	if err != nil {
		return nil, err
	}
	hosted, err := s.serversByHost(ctx)
	if err != nil {
		return nil, err
	}
	out := []Hypervisor{}
	for _, n := range nodes {
		i := slices.IndexFunc(services, func(sv ComputeService) bool { return sv.Binary == compute.BinaryCompute && sv.Host == n.Host })
		if i < 0 {
			continue
		}
		u := usage[n.Host]
		out = append(out, Hypervisor{ID: n.ID, UUID: uuid.NewSHA1(hypervisorNamespace, []byte(n.HypervisorHostname)).String(),
			Hostname: n.HypervisorHostname, Up: services[i].Up, Type: n.HypervisorType, Version: n.HypervisorVersion,
			VCPUs: n.VCPUs, MemoryMB: n.MemoryMB, LocalGB: n.LocalGB, VCPUsUsed: u.VCPUs, MemoryMBUsed: u.MemoryMB,
			LocalGBUsed: u.DiskGB, RunningVMs: u.Servers, FreeDiskGB: n.LocalGB - u.DiskGB, Service: services[i],
			Servers: append([]HostedServer{}, hosted[n.Host]...)})
	}
	return out, nil
}

// serversByHost lists the live servers by the host they were placed on.
func (s *Service) serversByHost(ctx context.Context) (map[string][]HostedServer, error) {
	live, err := s.Servers.ListServers(ctx, compute.ServerFilter{})
	if err != nil {
		return nil, err
	}
	out := map[string][]HostedServer{}
	for _, sv := range live {
		if sv.Host != "" && sv.VMState != compute.VMShelvedOffloaded {
			out[sv.Host] = append(out[sv.Host], HostedServer{Name: sv.Name, UUID: sv.ID})
		}
	}
	return out, nil
}

// HostUptime is the host's uptime as Nova shows it (the output of
// uptime(1)): "HH:MM:SS up D days, H:MM,  N users,  load average: a, b, c".
func HostUptime(now time.Time) string {
	up, load := 0.0, "0.00, 0.00, 0.00"
	if b, err := os.ReadFile("/proc/uptime"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			up, _ = strconv.ParseFloat(f[0], 64)
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			load = f[0] + ", " + f[1] + ", " + f[2]
		}
	}
	secs := int(up)
	days, hours, mins := secs/86400, secs%86400/3600, secs%3600/60
	return fmt.Sprintf(" %s up %d days, %2d:%02d,  0 users,  load average: %s", now.Format("15:04:05"), days, hours, mins, load)
}

// memTotalMB is the host's memory (MemTotal of /proc/meminfo), 0 unknown.
func memTotalMB() int {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kb / 1024
		}
	}
	return 0
}

// diskGB is the size and free space of the filesystem that holds (or
// will hold: its nearest existing parent) dir, in GiB.
func diskGB(dir string) (int, int) {
	if dir == "" {
		dir = "/"
	}
	var st syscall.Statfs_t
	for syscall.Statfs(dir, &st) != nil {
		if parent := filepath.Dir(dir); parent != dir {
			dir = parent
			continue
		}
		return 0, 0
	}
	return int(st.Blocks * uint64(st.Bsize) >> 30), int(st.Bavail * uint64(st.Bsize) >> 30)
}
