package service

import (
	"cmp"
	"context"
	"errors"
	"runtime"
	"slices"
	"time"

	"imagestack/common/cluster"
	"imagestack/common/metrics"
	"imagestack/compute"
)

// host is this process's compute host name (compute.host, else the
// member's, else the machine's host name: see New).
func (s *Service) host() string { return HostOf(cluster.Member{Host: s.Host}) }

// timing is the deployment's timing (the defaults when not configured).
func (s *Service) timing() cluster.Timing {
	if s.Timing.ServiceDownTime <= 0 {
		return cluster.DefaultTiming
	}
	return s.Timing
}

// alive reports whether n's last heartbeat is within service_down_time.
func (s *Service) alive(n compute.ComputeNode) bool {
	return s.now().Sub(n.UpdatedAt) <= s.timing().ServiceDownTime
}

// localNode is host as a compute node: the capacity of this machine (its
// CPUs, its memory, the filesystem of its instance files), the configured
// allocation ratios, and a heartbeat now.
func (s *Service) localNode(host string) compute.ComputeNode {
	n := compute.ComputeNode{Host: host, HypervisorHostname: host, VCPUs: runtime.NumCPU(), MemoryMB: memTotalMB(),
		CPUAllocationRatio:  cmp.Or(s.Scheduler.CPUAllocationRatio, defaultCPURatio),
		RAMAllocationRatio:  cmp.Or(s.Scheduler.RAMAllocationRatio, defaultRAMRatio),
		DiskAllocationRatio: cmp.Or(s.Scheduler.DiskAllocationRatio, defaultDiskRatio),
		HypervisorType:      "QEMU", Architecture: canonicalArch(runtime.GOARCH), UpdatedAt: s.now().UTC()}
	n.LocalGB, _ = diskGB(s.SnapshotDir)
	return n
}

// RegisterNode registers host (this process's compute host when "") as a
// compute node with this machine's capacity and a fresh heartbeat, and its
// nova-compute service (as nova-compute does when it starts), so that
// servers may be placed on it.
func (s *Service) RegisterNode(ctx context.Context, host string) (compute.ComputeNode, error) {
	if s.Nodes == nil {
		return compute.ComputeNode{}, errors.New("no compute node repository")
	}
	host = cmp.Or(host, s.host())
	if s.HostServices != nil {
		if _, err := s.HostServices.EnsureHostService(ctx, host, compute.BinaryCompute, s.now().UTC()); err != nil {
			return compute.ComputeNode{}, err
		}
	}
	n, err := s.Nodes.RegisterNode(ctx, s.localNode(host))
	if err == nil {
		s.adoptServers(ctx, host)
	}
	return n, err
}

// hostedStates are the vm_states of servers whose VM exists on a host.
var hostedStates = []string{compute.VMActive, compute.VMStopped, compute.VMPaused, compute.VMSuspended, compute.VMResized,
	compute.VMSoftDeleted, compute.VMShelved}

// adoptServers places on host the servers with a VM but no host: those
// created before hosts were recorded, when every server ran on the one
// host there was. They keep their host and take their share of it (as
// far as its ratios allow: they run already).
func (s *Service) adoptServers(ctx context.Context, host string) {
	live, err := s.Servers.ListServers(ctx, compute.ServerFilter{})
	if err != nil {
		s.log.Warn("could not look for servers without a host", "err", err)
		return
	}
	for _, sv := range live {
		if sv.Host != "" || !slices.Contains(hostedStates, sv.VMState) {
			continue
		}
		if _, err := s.update(ctx, sv.ID, func(sv *compute.Server) { sv.Host, sv.Node = host, host }); err != nil {
			s.log.Warn("could not record a server's host", "server", sv.ID, "err", err)
			continue
		}
		sv.Host = host
		if err := s.claimOnHost(ctx, sv, sv.VCPUs, sv.RAM, sv.Disk); err != nil {
			s.log.Warn("a server of this host takes more than its ratios allow", "server", sv.ID, "err", err)
		}
		s.log.Info("server placed on this host, where it ran before hosts were recorded", "server", sv.ID, "host", host)
	}
}

// RunHeartbeat is the compute role's heartbeat: it registers member.Host
// as a compute node (retrying until the database answers), then marks it
// alive every timing.Heartbeat until ctx ends. A host whose heartbeat
// stops is down after timing.ServiceDownTime and takes no new servers. A
// node deleted meanwhile (its service deleted through os-services) stays
// deleted until the process starts again, as in Nova.
func (s *Service) RunHeartbeat(ctx context.Context, member cluster.Member, timing cluster.Timing) {
	every := cmp.Or(timing.Heartbeat, cluster.DefaultTiming.Heartbeat)
	t := time.NewTicker(every)
	defer t.Stop()
	registered := false
	for {
		if !registered {
			n, err := s.RegisterNode(ctx, member.Host)
			registered = err == nil
			if err != nil {
				s.log.Warn("could not register this compute host; retrying", "host", member.Host, "err", err)
			} else {
				s.log.Info("compute host registered", "host", n.Host, "vcpus", n.VCPUs, "memory_mb", n.MemoryMB, "local_gb", n.LocalGB)
				metrics.HostCapacity(n.Host, n.VCPUs, int64(n.MemoryMB), int64(n.LocalGB))
				metrics.Heartbeat(n.Host)
			}
		} else if err := s.Nodes.HeartbeatNode(ctx, member.Host, s.now().UTC()); err != nil && ctx.Err() == nil {
			s.log.Warn("compute host heartbeat failed", "host", member.Host, "err", err)
		} else if err == nil {
			metrics.Heartbeat(member.Host)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// HostUp reports whether host's nova-compute is up: it heartbeat within
// service_down_time and is not forced down; unknown hosts are down (the
// moves' compute.HostStates).
func (s *Service) HostUp(ctx context.Context, host string) bool {
	all, err := s.hostServices(ctx)
	return err == nil && slices.ContainsFunc(all, func(sv ComputeService) bool {
		return sv.Binary == compute.BinaryCompute && sv.Host == host && sv.Up
	})
}
