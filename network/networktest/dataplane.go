// Package networktest provides fakes and conformance suites for the
// network service's collaborators.
package networktest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"imagestack/network"
)

// Dataplane is a network.Dataplane keeping networks in memory.
type Dataplane struct {
	mu    sync.Mutex
	specs map[string]network.HostSpec
	hosts map[string][]network.DHCPHost
}

var _ network.Dataplane = (*Dataplane)(nil)

// NewDataplane returns a dataplane without networks.
func NewDataplane() *Dataplane {
	return &Dataplane{specs: map[string]network.HostSpec{}, hosts: map[string][]network.DHCPHost{}}
}

// Bridge implements network.Dataplane.
func (d *Dataplane) Bridge(id string) string { return "brq" + id[:min(11, len(id))] }

// Namespace implements network.Dataplane.
func (d *Dataplane) Namespace(id string) string { return "qdhcp-" + id }

// Ensure implements network.Dataplane.
func (d *Dataplane) Ensure(_ context.Context, spec network.HostSpec, hosts []network.DHCPHost) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.specs[spec.NetworkID], d.hosts[spec.NetworkID] = spec, slices.Clone(hosts)
	return nil
}

// SetHosts implements network.Dataplane.
func (d *Dataplane) SetHosts(_ context.Context, id string, hosts []network.DHCPHost) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.specs[id]; !ok {
		return fmt.Errorf("network %s has no host side", id)
	}
	d.hosts[id] = slices.Clone(hosts)
	return nil
}

// Delete implements network.Dataplane.
func (d *Dataplane) Delete(_ context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.specs, id)
	delete(d.hosts, id)
	return nil
}

// Networks returns the ids of the networks with a host side.
func (d *Dataplane) Networks() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Sorted(maps.Keys(d.specs))
}

// Hosts returns a network's static leases.
func (d *Dataplane) Hosts(id string) []network.DHCPHost {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.hosts[id])
}
