package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"imagestack/compute"
)

// moveDestinations places servers being evacuated, migrated or resized
// to another host with this service's scheduler: the same filters,
// weights and race-free claims as a boot, never on the hosts the move
// excludes (compute.Destinations).
type moveDestinations struct{ s *Service }

// Claim implements compute.Destinations.
func (d moveDestinations) Claim(ctx context.Context, p compute.MoveRequest) (compute.Destination, error) {
	s := d.s
	if p.Host != "" {
		if err := s.knownHost(ctx, p.Host); err != nil {
			return compute.Destination{}, err
		}
	}
	r := placementRequest{alloc: compute.Allocation{ServerID: p.Server.ID, VCPUs: p.VCPUs, MemoryMB: p.RAM, DiskGB: p.Disk},
		exclude: p.Exclude, only: p.Host}
	r.zone, _, _ = strings.Cut(p.Server.AvailabilityZone, ":")
	if p.Force { // Nova's force: the host asked for, whatever its filters say
		r.zone = ""
	}
	n, err := s.placeOne(ctx, r)
	if errors.Is(err, errNoValidHost) {
		return compute.Destination{}, fmt.Errorf("%w", compute.ErrNoValidHost)
	}
	if err != nil {
		return compute.Destination{}, err
	}
	return compute.Destination{Host: n.Host, Node: n.HypervisorHostname}, nil
}

// Release implements compute.Destinations.
func (d moveDestinations) Release(ctx context.Context, serverID, host string) error {
	return d.s.Nodes.ReleaseAllocation(ctx, serverID, host)
}

// knownHost is nil for a registered compute host, ErrNotFound otherwise.
func (s *Service) knownHost(ctx context.Context, host string) error {
	nodes, err := s.Nodes.ListNodes(ctx)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(nodes, func(n compute.ComputeNode) bool { return n.Host == host }) {
		return compute.Errorf(compute.ErrNotFound, "Compute host %s could not be found.", host)
	}
	return nil
}

// otherHostUp reports whether a compute host (one with a nova-compute
// service) other than host is up by HostStates: a resize goes to another
// host when there is one, and stays in place on a deployment of one host
// (Nova's allow_resize_to_same_host).
func (s *Service) otherHostUp(ctx context.Context, host string) bool {
	if s.HostStates == nil {
		return true
	}
	hosts, err := s.computeHosts(ctx)
	return err == nil && slices.ContainsFunc(hosts, func(h string) bool {
		return h != host && s.HostStates.HostUp(ctx, h)
	})
}
