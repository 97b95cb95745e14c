package computetest

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"imagestack/compute"
)

// Hosts is a deployment of several fake compute hosts, for moves between
// them: a Hypervisor per host; Router, a compute.Hypervisor sending each
// call to the host in the server's record (a server on no host yet goes
// to the first), as the remote hypervisor does; and the scheduler's side
// (compute.Destinations, compute.HostStates, compute.HostHypervisors):
// every host is up until SetUp says otherwise, and a claim takes the
// first up host, in name order, that is not excluded.
type Hosts struct {
	names   []string
	hv      map[string]*Hypervisor
	servers compute.ServerRepository
	mu      sync.Mutex
	down    map[string]bool
	claims  map[string][]string // server id -> hosts it holds claims on
	full    map[string]bool
}

var (
	_ compute.Destinations    = (*Hosts)(nil)
	_ compute.HostStates      = (*Hosts)(nil)
	_ compute.HostHypervisors = (*Hosts)(nil)
)

// NewHosts returns hosts of those names, reading servers' hosts from
// servers.
func NewHosts(servers compute.ServerRepository, names ...string) *Hosts {
	h := &Hosts{names: slices.Clone(names), hv: map[string]*Hypervisor{}, servers: servers,
		down: map[string]bool{}, claims: map[string][]string{}, full: map[string]bool{}}
	for _, n := range names {
		h.hv[n] = NewHypervisor()
		h.hv[n].peer = func(host string) *Hypervisor { return h.hv[host] }
	}
	return h
}

// Host returns the fake hypervisor of a host.
func (h *Hosts) Host(name string) *Hypervisor { return h.hv[name] }

// SetUp marks a host up or down (its heartbeat).
func (h *Hosts) SetUp(name string, up bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.down[name] = !up
}

// SetFull makes a host refuse every claim not forced onto it.
func (h *Hosts) SetFull(name string, full bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.full[name] = full
}

// Claims returns the hosts a server holds claims on, in claim order.
func (h *Hosts) Claims(serverID string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.claims[serverID])
}

// HostUp implements compute.HostStates.
func (h *Hosts) HostUp(_ context.Context, host string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, known := h.hv[host]
	return known && !h.down[host]
}

// OnHost implements compute.HostHypervisors.
func (h *Hosts) OnHost(_ context.Context, host string) (compute.Hypervisor, error) {
	if hv, ok := h.hv[host]; ok {
		return hv, nil
	}
	return nil, fmt.Errorf("host %s: %w", host, compute.ErrNotFound)
}

// Claim implements compute.Destinations.
func (h *Hosts) Claim(_ context.Context, p compute.MoveRequest) (compute.Destination, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fits := func(n string) bool { return !h.down[n] && !h.full[n] && !slices.Contains(p.Exclude, n) }
	pick := ""
	switch {
	case p.Host != "" && h.hv[p.Host] == nil:
		return compute.Destination{}, fmt.Errorf("host %s: %w", p.Host, compute.ErrNotFound)
	case p.Host != "" && (p.Force || fits(p.Host)):
		pick = p.Host
	case p.Host == "":
		for _, n := range h.names {
			if fits(n) {
				pick = n
				break
			}
		}
	}
	if pick == "" {
		return compute.Destination{}, compute.ErrNoValidHost
	}
	h.claims[p.Server.ID] = append(h.claims[p.Server.ID], pick)
	return compute.Destination{Host: pick, Node: pick + ".node"}, nil
}

// Release implements compute.Destinations.
func (h *Hosts) Release(_ context.Context, serverID, host string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.claims[serverID] = slices.DeleteFunc(h.claims[serverID], func(n string) bool { return n == host })
	return nil
}

var _ compute.LiveMigrator = (*Hypervisor)(nil)

// LiveMigrate implements compute.LiveMigrator between the hosts of a
// Hosts deployment: the running or paused domain, its disk and console
// move to dest's hypervisor without a new boot. Disks are local: a
// migration without block is refused.
func (h *Hypervisor) LiveMigrate(_ context.Context, spec compute.SpawnSpec, dest compute.Destination, block bool) error {
	id := spec.ServerID
	if err := h.pass("live_migrate", id); err != nil {
		return err
	}
	var to *Hypervisor
	if h.peer != nil {
		to = h.peer(dest.Host)
	}
	if to == nil || to == h || !block {
		return fmt.Errorf("cannot live-migrate server %s to %q (block %v)", id, dest.Host, block)
	}
	h.mu.Lock()
	ps, ok := h.domains[id]
	if !ok || (ps != compute.PowerRunning && ps != compute.PowerPaused) {
		h.mu.Unlock()
		return fmt.Errorf("server %s is not running here: %w", id, compute.ErrConflict)
	}
	disk, console := h.disks[id], h.console[id]
	delete(h.domains, id)
	delete(h.disks, id)
	delete(h.console, id)
	delete(h.specs, id)
	h.vnc.stop(id)
	h.mu.Unlock()
	to.mu.Lock()
	defer to.mu.Unlock()
	to.domains[id], to.specs[id], to.disks[id], to.console[id] = ps, spec, disk, console
	return nil
}
