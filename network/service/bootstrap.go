package service

import (
	"context"

	"imagestack/network"
)

// DefaultNetwork describes the network made at first start.
type DefaultNetwork struct {
	Name, SubnetName, CIDR string
	DNSNameservers         []string
	ProjectID              string // the owner (the admin project)
}

// EnsureDefaultNetwork creates the shared network d with its DHCP subnet
// when there is no network at all (a first start); an operator who deleted
// it later does not get it back. It reports whether it created it.
func (s *Service) EnsureDefaultNetwork(ctx context.Context, d DefaultNetwork) (bool, error) {
	nets, err := s.repo.ListNetworks(ctx)
	if err != nil || len(nets) > 0 {
		return false, err
	}
	n := network.Network{ID: newID(), Name: d.Name, ProjectID: d.ProjectID, Shared: true, AdminStateUp: true,
		PortSecurityEnabled: true, MTU: network.DefaultMTU, Status: network.StatusActive, Standard: s.stamp("")}
	sub := network.Subnet{ID: newID(), NetworkID: n.ID, ProjectID: d.ProjectID, Name: d.SubnetName, IPVersion: 4, EnableDHCP: true,
		HostRoutes: []network.HostRoute{}, Standard: s.stamp("")}
	dns := append([]string{}, d.DNSNameservers...)
	if err := newSubnet(&sub, SubnetInput{CIDR: &d.CIDR, DNSNameservers: &dns}); err != nil {
		return false, err
	}
	if err := s.repo.CreateNetwork(ctx, n); err != nil {
		return false, err
	}
	if err := s.repo.CreateSubnet(ctx, sub); err != nil {
		return false, err
	}
	return true, s.subnetsChanged(ctx, n)
}
