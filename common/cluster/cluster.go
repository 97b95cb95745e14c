// Package cluster names the members of a deployment that runs as several
// processes (API replicas and compute hosts) over one shared database and
// blob store, and the timings that bound how they see each other: leases
// on work in flight, heartbeats of compute hosts and when a silent host
// counts as down.
package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// Roles a process can take (configuration key roles).
const (
	// RoleAPI serves the identity, image, compute and network APIs; it keeps
	// no state of its own, so any number of replicas run side by side.
	RoleAPI = "api"
	// RoleCompute runs one hypervisor host: its libvirt, its image cache,
	// its console endpoint, and the work the API replicas send it.
	RoleCompute = "compute"
)

// Member is one process of the deployment.
type Member struct {
	// Name is stable across restarts and unique in the deployment (by
	// default the host and the ports this process listens on, which no
	// other live process can hold): work leased by an earlier run of the
	// same Name is dead for certain and recovered at once at start-up,
	// without waiting for its lease to expire.
	Name string
	// ID is unique to this run of this process (Name and a random part):
	// leases name it, so a restarted process never takes its former
	// self's leases for its own.
	ID string
	// Host is the compute host this process is (or runs on): the name
	// os-services and os-hypervisors show and servers are placed on.
	Host  string
	Roles []string
}

// NewMember returns this process as the member name ("" for host) with
// roles, on host ("" for the machine's host name).
func NewMember(name, host string, roles []string) Member {
	if host == "" {
		host, _ = os.Hostname()
	}
	if name == "" {
		name = host
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	return Member{Name: name, ID: fmt.Sprintf("%s#%d-%s", name, os.Getpid(), hex.EncodeToString(b[:])), Host: host, Roles: roles}
}

// NameOf returns the member name within a member id made by NewMember.
func NameOf(id string) string {
	if i := strings.LastIndexByte(id, '#'); i >= 0 {
		return id[:i]
	}
	return id
}

// Has reports whether the member takes role.
func (m Member) Has(role string) bool { return slices.Contains(m.Roles, role) }

// Timing bounds how fast members notice each other's absence.
type Timing struct {
	// LeaseTTL is how long work in flight stays its owner's without a
	// renewal; owners renew every LeaseTTL/3. Work whose lease expired is
	// recovered by a live member.
	LeaseTTL time.Duration
	// Heartbeat is how often a compute host reports it is alive.
	Heartbeat time.Duration
	// ServiceDownTime is how long after its last heartbeat a host counts
	// as down (Nova's service_down_time).
	ServiceDownTime time.Duration
}

// DefaultTiming is the timing when the configuration says nothing.
var DefaultTiming = Timing{LeaseTTL: 30 * time.Second, Heartbeat: 10 * time.Second, ServiceDownTime: 60 * time.Second}

// RenewEvery is how often a lease of ttl is renewed: three renewals fit in
// one lease, so two lost renewals never lose it.
func RenewEvery(ttl time.Duration) time.Duration { return ttl / 3 }
