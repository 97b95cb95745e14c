package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Leases, scheduling and compute hosts: what a deployment of several
// processes does to share work.

var (
	leasesHeld      = gaugeVec("cluster", "leases_held", "Leases on work in flight this process holds, by kind of work.", "kind")
	leasesRecovered = counterVec("cluster", "leases_recovered_total",
		"Work whose owner's lease expired that this process recovered, by kind of work.", "kind")
	schedulerDecisions = counterVec("scheduler", "decisions_total", "Placement decisions, by result (scheduled, or why not).", "result")
	heartbeats         = counterVec("host", "heartbeats_total", "Heartbeats of compute hosts, by host.", "host")
	lastHeartbeat      = gaugeVec("host", "last_heartbeat_timestamp_seconds", "When a compute host last reported itself alive (Unix time).", "host")
	hostVCPUs          = gaugeVec("host", "capacity_vcpus", "Virtual CPUs a compute host reports.", "host")
	hostMemory         = gaugeVec("host", "capacity_memory_bytes", "Memory a compute host reports.", "host")
	hostDisk           = gaugeVec("host", "capacity_disk_bytes", "Instance disk space a compute host reports.", "host")
)

// Scheduler results that SchedulerDecision expects; failures may add
// their own short, fixed reasons.
const (
	Scheduled   = "scheduled"
	NoValidHost = "no_valid_host"
	ClaimFailed = "claim_failed"
)

// LeaseHeld adds delta (+1 taken, -1 released or lost) to the leases of
// kind ("upload", "import", "copy", "server_task", ...) this process holds.
func LeaseHeld(kind string, delta int) { leasesHeld.WithLabelValues(kind).Add(float64(delta)) }

// LeaseRecovered counts one piece of work of kind taken over from an owner
// whose lease expired.
func LeaseRecovered(kind string) { leasesRecovered.WithLabelValues(kind).Inc() }

// SchedulerDecision counts one placement decision: Scheduled, NoValidHost,
// ClaimFailed or another fixed reason.
func SchedulerDecision(result string) { schedulerDecisions.WithLabelValues(result).Inc() }

// Heartbeat records a heartbeat of host, seen now.
func Heartbeat(host string) {
	heartbeats.WithLabelValues(host).Inc()
	lastHeartbeat.WithLabelValues(host).Set(float64(time.Now().UnixMilli()) / 1000)
}

// HostCapacity records what host reports it has.
func HostCapacity(host string, vcpus int, ramMB, diskGB int64) {
	hostVCPUs.WithLabelValues(host).Set(float64(vcpus))
	hostMemory.WithLabelValues(host).Set(float64(ramMB) * (1 << 20))
	hostDisk.WithLabelValues(host).Set(float64(diskGB) * (1 << 30))
}

// ForgetHost drops host's series (a compute service deleted for good).
func ForgetHost(host string) {
	for _, v := range []*prometheus.GaugeVec{lastHeartbeat, hostVCPUs, hostMemory, hostDisk} {
		v.DeleteLabelValues(host)
	}
	heartbeats.DeleteLabelValues(host)
}
