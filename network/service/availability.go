package service

import (
	"context"

	"imagestack/network"
	"imagestack/policy"
)

// SubnetAvailability is a subnet's line in a network IP availability.
type SubnetAvailability struct {
	SubnetID, SubnetName, CIDR string
	IPVersion                  int
	TotalIPs, UsedIPs          int
}

// IPAvailability is Neutron's network-ip-availability of one network.
type IPAvailability struct {
	NetworkID, NetworkName, ProjectID string
	TotalIPs, UsedIPs                 int
	Subnets                           []SubnetAvailability
}

// IPAvailabilities lists the address use of every network (admins, by
// default policy; others see none).
func (s *Service) IPAvailabilities(ctx context.Context, c policy.Credentials) ([]IPAvailability, error) {
	nets, err := s.repo.ListNetworks(ctx)
	if err != nil {
		return nil, err
	}
	subs, err := s.repo.ListSubnets(ctx, "")
	if err != nil {
		return nil, err
	}
	ports, err := s.repo.ListPorts(ctx, network.PortFilter{})
	if err != nil {
		return nil, err
	}
	used := map[string]int{} // subnet id -> addresses held
	for _, p := range ports {
		for _, ip := range p.FixedIPs {
			used[ip.SubnetID]++
		}
	}
	out := []IPAvailability{}
	for _, n := range nets {
		if !s.may(c, "get_network_ip_availability", target(n.ProjectID, n)) {
			continue
		}
		a := IPAvailability{NetworkID: n.ID, NetworkName: n.Name, ProjectID: n.ProjectID, Subnets: []SubnetAvailability{}}
		for _, sub := range subs {
			if sub.NetworkID == n.ID {
				sa := SubnetAvailability{SubnetID: sub.ID, SubnetName: sub.Name, CIDR: sub.CIDR, IPVersion: sub.IPVersion,
					TotalIPs: poolSize(sub), UsedIPs: used[sub.ID]}
				a.Subnets = append(a.Subnets, sa)
				a.TotalIPs += sa.TotalIPs
				a.UsedIPs += sa.UsedIPs
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// IPAvailability shows one network's address use.
func (s *Service) IPAvailability(ctx context.Context, c policy.Credentials, networkID string) (IPAvailability, error) {
	all, err := s.IPAvailabilities(ctx, c)
	if err != nil {
		return IPAvailability{}, err
	}
	for _, a := range all {
		if a.NetworkID == networkID {
			return a, nil
		}
	}
	return IPAvailability{}, network.NotFound("Network", networkID)
}
