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

// bootstrapStep names the default network's creation among the one-time
// start-up steps.
const bootstrapStep = "default-network"

// EnsureDefaultNetwork creates the shared network d with its DHCP subnet
// at the first start; an operator who deleted it later does not get it
// back (the step is recorded), nor does a database that already has
// networks get another. It reports whether it created it.
func (s *Service) EnsureDefaultNetwork(ctx context.Context, d DefaultNetwork) (bool, error) {
	if done, err := s.repo.Bootstrapped(ctx, bootstrapStep); err != nil || done {
		return false, err
	}
	nets, err := s.repo.ListNetworks(ctx)
	if err != nil {
		return false, err
	}
	if len(nets) > 0 { // a start that stopped after creating it
		return false, s.repo.MarkBootstrapped(ctx, bootstrapStep)
	}
	made, err := s.createDefault(ctx, d)
	if err != nil {
		return false, err
	}
	return made, s.repo.MarkBootstrapped(ctx, bootstrapStep)
}

func (s *Service) createDefault(ctx context.Context, d DefaultNetwork) (bool, error) {
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
	s.subnetsChanged(ctx, n)
	return true, nil
}
