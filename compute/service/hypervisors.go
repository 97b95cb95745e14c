package service

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"imagestack/compute"
)

// Hypervisor is this host as os-hypervisors shows it: its capacity and
// what the live servers take of it.
type Hypervisor struct {
	ID                                   int
	Hostname                             string
	Up                                   bool
	VCPUs, MemoryMB, LocalGB             int
	VCPUsUsed, MemoryMBUsed, LocalGBUsed int
	RunningVMs                           int
	FreeDiskGB                           int
}

// Hypervisors reports the one hypervisor (this host) under rule, one of
// Nova's os-hypervisors rules (admins by default).
func (s *Service) Hypervisors(ctx context.Context, c Caller, rule string) ([]Hypervisor, error) {
	if err := s.authorize(c, "os_compute_api:os-hypervisors:"+rule, nil); err != nil {
		return nil, err
	}
	name, _ := os.Hostname()
	h := Hypervisor{ID: 1, Hostname: name, Up: s.Hypervisor != nil, VCPUs: runtime.NumCPU(), MemoryMB: memTotalMB()}
	h.LocalGB, h.FreeDiskGB = diskGB(s.SnapshotDir)
	live, err := s.Servers.ListServers(ctx, compute.ServerFilter{})
	if err != nil {
		return nil, err
	}
	for _, sv := range live {
		if sv.VMState == compute.VMShelvedOffloaded {
			continue // its VM is gone, its resources free
		}
		h.VCPUsUsed, h.MemoryMBUsed, h.LocalGBUsed, h.RunningVMs = h.VCPUsUsed+sv.VCPUs, h.MemoryMBUsed+sv.RAM, h.LocalGBUsed+sv.Disk, h.RunningVMs+1
	}
	return []Hypervisor{h}, nil
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

// diskGB is the size and free space of the filesystem holding dir, in GiB.
func diskGB(dir string) (int, int) {
	if dir == "" {
		dir = "/"
	}
	var st syscall.Statfs_t
	if syscall.Statfs(dir, &st) != nil {
		return 0, 0
	}
	return int(st.Blocks * uint64(st.Bsize) >> 30), int(st.Bavail * uint64(st.Bsize) >> 30)
}
