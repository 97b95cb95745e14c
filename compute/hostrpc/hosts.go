package hostrpc

import (
	"context"
	"sync"

	"imagestack/compute"
)

// HostLiveness says whether a compute host is up: its heartbeat is recent
// (the scheduler's host registry implements it).
type HostLiveness interface {
	// Up reports whether host heartbeats; false for a host never seen.
	Up(ctx context.Context, host string) (bool, error)
}

// Locator finds the host a server's VM is on.
type Locator interface {
	// HostOf returns the server's host; an error wrapping
	// compute.ErrNotFound when there is no such server.
	HostOf(ctx context.Context, serverID string) (string, error)
}

// LocatorFunc is a Locator in a function.
type LocatorFunc func(ctx context.Context, serverID string) (string, error)

// HostOf implements Locator.
func (f LocatorFunc) HostOf(ctx context.Context, serverID string) (string, error) {
	return f(ctx, serverID)
}

// OneHost places every server on host.
func OneHost(host string) Locator {
	return LocatorFunc(func(context.Context, string) (string, error) { return host, nil })
}

// FromServers finds a server's host in its row (compute.Server.Host, set
// by the scheduler); a server placed nowhere yet goes to fallback, or
// fails with compute.ErrUnavailable when fallback is "".
func FromServers(servers compute.ServerRepository, fallback string) Locator {
	return LocatorFunc(func(ctx context.Context, id string) (string, error) {
		sv, err := servers.GetServer(ctx, id)
		switch {
		case err != nil:
			return "", err
		case sv.Host != "":
			return sv.Host, nil
		case fallback != "":
			return fallback, nil
		}
		return "", compute.Errorf(compute.ErrUnavailable, "Server %s is not placed on any compute host.", id)
	})
}

// Hosts is a HostLiveness kept in memory, for tests and single-host
// deployments: hosts are up once marked so.
type Hosts struct {
	mu sync.Mutex
	up map[string]bool
}

// NewHosts returns the hosts up given.
func NewHosts(up ...string) *Hosts {
	h := &Hosts{up: map[string]bool{}}
	for _, name := range up {
		h.up[name] = true
	}
	return h
}

// Set marks host up or down.
func (h *Hosts) Set(host string, up bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.up[host] = up
}

// Up implements HostLiveness.
func (h *Hosts) Up(_ context.Context, host string) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.up[host], nil
}

// errDown is the error of a call to a host that is down.
func errDown(host string) error {
	return compute.Errorf(compute.ErrUnavailable, "Compute host %s is down.", host)
}
