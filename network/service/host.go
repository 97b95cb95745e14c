package service

import (
	"context"
	"net/netip"
	"sync"

	"imagestack/network"
)

// hostLock locks the host side of one network: updates of its leases are
// applied one at a time, each from the repository's state at that time,
// so the last one applied is never older than the last change.
func (s *Service) hostLock(networkID string) *sync.Mutex {
	v, _ := s.hostMu.LoadOrStore(networkID, &sync.Mutex{})
	mu := v.(*sync.Mutex)
	mu.Lock()
	return mu
}

// hostState reads what the network's host side must be.
func (s *Service) hostState(ctx context.Context, networkID string) (network.HostSpec, []network.DHCPHost, error) {
	n, err := s.repo.GetNetwork(ctx, networkID)
	if err != nil {
		return network.HostSpec{}, nil, err
	}
	subs, err := s.repo.ListSubnets(ctx, networkID)
	if err != nil {
		return network.HostSpec{}, nil, err
	}
	ports, err := s.repo.ListPorts(ctx, network.PortFilter{NetworkID: networkID})
	if err != nil {
		return network.HostSpec{}, nil, err
	}
	return hostSpec(n, subs, ports), hosts(ports), nil
}

func hostSpec(n network.Network, subs []network.Subnet, ports []network.Port) network.HostSpec {
	spec := network.HostSpec{NetworkID: n.ID, MTU: n.MTU}
	server := map[string]string{} // subnet id -> DHCP port address
	for _, p := range ports {
		if p.DeviceOwner == network.OwnerDHCP {
			for _, ip := range p.FixedIPs {
				server[ip.SubnetID] = ip.IPAddress
			}
		}
	}
	for _, sub := range subs {
		if sub.EnableDHCP && sub.IPVersion == 4 {
			spec.Subnets = append(spec.Subnets, network.DHCPSubnet{ID: sub.ID, CIDR: sub.CIDR, Gateway: sub.GatewayIP,
				DNS: append([]string{}, sub.DNSNameservers...), ServerIP: server[sub.ID]})
		}
	}
	return spec
}

// hosts are the static leases of a network's ports: each port's first
// IPv4 address, the DHCP port left out.
func hosts(ports []network.Port) []network.DHCPHost {
	out := []network.DHCPHost{}
	for _, p := range ports {
		if p.DeviceOwner == network.OwnerDHCP {
			continue
		}
		for _, ip := range p.FixedIPs {
			if a, err := netip.ParseAddr(ip.IPAddress); err == nil && a.Is4() {
				out = append(out, network.DHCPHost{MAC: p.MAC, IP: ip.IPAddress, Hostname: p.DNSName})
				break
			}
		}
	}
	return out
}

// ensureHost builds or repairs the network's whole host side.
func (s *Service) ensureHost(ctx context.Context, networkID string) error {
	mu := s.hostLock(networkID)
	defer mu.Unlock()
	spec, hs, err := s.hostState(ctx, networkID)
	if err != nil {
		return err
	}
	return s.dp.Ensure(ctx, spec, hs)
}

// syncHost is ensureHost for changes the API has already made: a failure
// is logged (Restore at the next start repairs it), not returned.
func (s *Service) syncHost(ctx context.Context, networkID string) {
	if err := s.ensureHost(ctx, networkID); err != nil {
		s.log.Error("network host side not updated", "network", networkID, "err", err)
	}
}

// setHosts gives the network's DHCP server the leases of its ports as they
// are now; a network whose host side is missing gets all of it.
func (s *Service) setHosts(ctx context.Context, networkID string) error {
	mu := s.hostLock(networkID)
	spec, hs, err := s.hostState(ctx, networkID)
	if err == nil {
		if err = s.dp.SetHosts(ctx, networkID, hs); err != nil {
			err = s.dp.Ensure(ctx, spec, hs)
		}
	}
	mu.Unlock()
	return err
}

// portsChanged is setHosts for changes already made: failures are logged.
func (s *Service) portsChanged(ctx context.Context, networkID string) {
	if err := s.setHosts(ctx, networkID); err != nil {
		s.log.Error("DHCP leases not updated", "network", networkID, "err", err)
	}
}

// Restore builds the host side of every network (after a host reboot, the
// bridges, namespaces and DHCP servers are gone); it goes on past a
// network that fails and returns the first error.
func (s *Service) Restore(ctx context.Context) error {
	nets, err := s.repo.ListNetworks(ctx)
	if err != nil {
		return err
	}
	var first error
	for _, n := range nets {
		if err := s.ensureHost(ctx, n.ID); err != nil {
			s.log.Error("network host side not restored", "network", n.ID, "err", err)
			if first == nil {
				first = err
			}
		}
	}
	return first
}
