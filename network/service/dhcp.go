package service

import (
	"context"
	"slices"

	"imagestack/network"
)

// subnetsChanged gives the network's DHCP port an address in each of its
// DHCP-enabled subnets (creating the port with the first, deleting it with
// the last) and then rebuilds the network's host side, whose DHCP server
// listens on those addresses. The subnet change is made already: a DHCP
// port that cannot be fitted (no free address left) is logged, as
// Neutron's DHCP agent would, and the next subnet change tries again.
func (s *Service) subnetsChanged(ctx context.Context, n network.Network) {
	if err := s.fitDHCPPort(ctx, n); err != nil {
		s.log.Error("DHCP port not updated", "network", n.ID, "err", err)
	}
	s.syncHost(ctx, n.ID)
}

func (s *Service) fitDHCPPort(ctx context.Context, n network.Network) error {
	subs, err := s.repo.ListSubnets(ctx, n.ID)
	if err != nil {
		return err
	}
	ports, err := s.repo.ListPorts(ctx, network.PortFilter{NetworkID: n.ID})
	if err != nil {
		return err
	}
	var dhcp *network.Port
	for i := range ports {
		if ports[i].DeviceOwner == network.OwnerDHCP {
			dhcp = &ports[i]
		}
	}
	want := dhcpAddresses(subs, dhcp)
	switch {
	case len(want) == 0 && dhcp != nil:
		return s.repo.DeletePort(ctx, dhcp.ID)
	case len(want) == 0:
		return nil
	case dhcp == nil:
		p := network.Port{ID: newID(), NetworkID: n.ID, ProjectID: n.ProjectID, AdminStateUp: true, Status: network.StatusActive,
			DeviceID: "dhcp-" + n.ID, DeviceOwner: network.OwnerDHCP, SecurityGroups: []string{}, Standard: s.stamp("")}
		_, err = s.repo.CreatePort(ctx, p, want)
		return err
	case !sameIPs(dhcp.FixedIPs, want):
		s.touch(&dhcp.Standard)
		_, err = s.repo.UpdatePort(ctx, *dhcp, want)
		return err
	}
	return nil
}

// dhcpAddresses are the DHCP port's addresses: one per DHCP-enabled IPv4
// subnet, kept where it has one.
func dhcpAddresses(subs []network.Subnet, dhcp *network.Port) []network.IPRequest {
	var want []network.IPRequest
	for _, sub := range subs {
		if !sub.EnableDHCP || sub.IPVersion != 4 {
			continue
		}
		req := network.IPRequest{SubnetID: sub.ID}
		if dhcp != nil {
			for _, ip := range dhcp.FixedIPs {
				if ip.SubnetID == sub.ID {
					req.IPAddress = ip.IPAddress
				}
			}
		}
		want = append(want, req)
	}
	return want
}

func sameIPs(have []network.FixedIP, want []network.IPRequest) bool {
	h := make([]network.IPRequest, len(have))
	for i, ip := range have {
		h[i] = network.IPRequest{SubnetID: ip.SubnetID, IPAddress: ip.IPAddress}
	}
	return slices.Equal(h, want)
}
