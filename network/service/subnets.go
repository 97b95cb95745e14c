package service

import (
	"context"
	"errors"

	"imagestack/network"
	"imagestack/policy"
)

// SubnetInput is a subnet create or update; nil fields are not given.
type SubnetInput struct {
	NetworkID, Name, Description, ProjectID *string
	IPVersion                               *int
	CIDR                                    *string
	// GatewayIP nil: the default (the first host); NoGateway: null given.
	GatewayIP       *string
	NoGateway       bool
	AllocationPools *[]network.Pool
	EnableDHCP      *bool
	DNSNameservers  *[]string
	HostRoutes      *[]network.HostRoute
}

// CreateSubnet adds a subnet to a network (admins, by default policy); a
// DHCP-enabled one gets an address on the network's DHCP port and the
// DHCP server serves it.
func (s *Service) CreateSubnet(ctx context.Context, c policy.Credentials, in SubnetInput) (network.Subnet, error) {
	if in.NetworkID == nil || *in.NetworkID == "" {
		return network.Subnet{}, badInput("Failed to parse request. Required attribute 'network_id' not specified")
	}
	n, err := s.visibleNetwork(ctx, c, *in.NetworkID)
	if err != nil {
		return network.Subnet{}, err
	}
	sub := network.Subnet{ID: newID(), NetworkID: n.ID, ProjectID: projectOf(c, deref(in.ProjectID)), IPVersion: 4,
		EnableDHCP: true, DNSNameservers: []string{}, HostRoutes: []network.HostRoute{}, Standard: s.stamp("")}
	if err := s.authorize(c, "create_subnet", target(sub.ProjectID, n)); err != nil {
		return network.Subnet{}, err
	}
	if err := newSubnet(&sub, in); err != nil {
		return network.Subnet{}, err
	}
	if err := s.checkQuota(ctx, sub.ProjectID, network.QuotaSubnet, 1); err != nil {
		return network.Subnet{}, err
	}
	if err := s.repo.CreateSubnet(ctx, sub); err != nil {
		return network.Subnet{}, err
	}
	s.subnetsChanged(ctx, n)
	return sub, nil
}

func badInput(msg string) error {
	return network.Errorf(network.ErrBadRequest, "HTTPBadRequest", "%s", msg)
}

// newSubnet validates a create's input into sub, with Neutron's defaults.
func newSubnet(sub *network.Subnet, in SubnetInput) error {
	set(&sub.IPVersion, in.IPVersion)
	if sub.IPVersion == 6 {
		return invalid("IPv6 subnets are not supported by this service.")
	}
	if sub.IPVersion != 4 {
		return invalid("%d is not in valid_values", sub.IPVersion)
	}
	if in.CIDR == nil {
		return badInput("Failed to parse request. Required attribute 'cidr' not specified")
	}
	cidr, err := parseCIDR(*in.CIDR)
	if err != nil {
		return err
	}
	sub.CIDR = cidr.String()
	if !in.NoGateway && in.GatewayIP == nil {
		sub.GatewayIP = cidr.Addr().Next().String()
	}
	if err := applySubnet(sub, in); err != nil {
		return err
	}
	if in.AllocationPools == nil {
		sub.AllocationPools = defaultPools(cidr, sub.GatewayIP)
	}
	return nil
}

// applySubnet sets and checks the changeable fields of in on sub.
func applySubnet(sub *network.Subnet, in SubnetInput) error {
	set(&sub.Name, in.Name)
	set(&sub.Description, in.Description)
	set(&sub.EnableDHCP, in.EnableDHCP)
	cidr, _ := parseCIDR(sub.CIDR)
	if in.NoGateway {
		sub.GatewayIP = ""
	} else if in.GatewayIP != nil {
		gw, err := hostIn(cidr, *in.GatewayIP, "gateway_ip")
		if err != nil {
			return err
		}
		sub.GatewayIP = gw
	}
	if in.DNSNameservers != nil {
		dns, err := checkNameservers(*in.DNSNameservers)
		if err != nil {
			return err
		}
		sub.DNSNameservers = dns
	}
	if in.HostRoutes != nil {
		routes, err := checkRoutes(*in.HostRoutes)
		if err != nil {
			return err
		}
		sub.HostRoutes = routes
	}
	if in.AllocationPools != nil {
		pools, err := checkPools(cidr, sub.GatewayIP, *in.AllocationPools)
		if err != nil {
			return err
		}
		sub.AllocationPools = pools
	}
	return nil
}

// GetSubnet shows a subnet of a network the caller may see.
func (s *Service) GetSubnet(ctx context.Context, c policy.Credentials, id string) (network.Subnet, error) {
	sub, _, err := s.visibleSubnet(ctx, c, id)
	return sub, err
}

func (s *Service) visibleSubnet(ctx context.Context, c policy.Credentials, id string) (network.Subnet, network.Network, error) {
	sub, err := s.repo.GetSubnet(ctx, id)
	if errors.Is(err, network.ErrNotFound) {
		return sub, network.Network{}, network.NotFound("Subnet", id)
	} else if err != nil {
		return sub, network.Network{}, err
	}
	n, err := s.repo.GetNetwork(ctx, sub.NetworkID)
	if err != nil || !s.may(c, "get_subnet", target(sub.ProjectID, n)) {
		return network.Subnet{}, n, network.NotFound("Subnet", id)
	}
	return sub, n, nil
}

// ListSubnets lists the subnets the caller may see.
func (s *Service) ListSubnets(ctx context.Context, c policy.Credentials) ([]network.Subnet, error) {
	subs, err := s.repo.ListSubnets(ctx, "")
	if err != nil {
		return nil, err
	}
	nets, err := s.networksByID(ctx)
	if err != nil {
		return nil, err
	}
	return visible(subs, func(sub network.Subnet) bool {
		return s.may(c, "get_subnet", target(sub.ProjectID, nets[sub.NetworkID]))
	}), nil
}

func (s *Service) networksByID(ctx context.Context) (map[string]network.Network, error) {
	nets, err := s.repo.ListNetworks(ctx)
	byID := map[string]network.Network{}
	for _, n := range nets {
		byID[n.ID] = n
	}
	return byID, err
}

// UpdateSubnet changes a subnet's changeable attributes.
func (s *Service) UpdateSubnet(ctx context.Context, c policy.Credentials, id string, in SubnetInput) (network.Subnet, error) {
	sub, n, err := s.visibleSubnet(ctx, c, id)
	if err != nil {
		return sub, err
	}
	if err := s.authorize(c, "update_subnet", target(sub.ProjectID, n)); err != nil {
		return network.Subnet{}, err
	}
	for name, given := range map[string]bool{"cidr": in.CIDR != nil, "ip_version": in.IPVersion != nil,
		"network_id": in.NetworkID != nil, "project_id": in.ProjectID != nil} {
		if given {
			return network.Subnet{}, badInput("Cannot update read-only attribute " + name)
		}
	}
	if err := applySubnet(&sub, in); err != nil {
		return network.Subnet{}, err
	}
	s.touch(&sub.Standard)
	if err := s.repo.UpdateSubnet(ctx, sub); err != nil {
		return network.Subnet{}, err
	}
	s.subnetsChanged(ctx, n)
	return sub, nil
}

// DeleteSubnet deletes a subnet no port but the DHCP port has an address
// in (others: 409 SubnetInUse).
func (s *Service) DeleteSubnet(ctx context.Context, c policy.Credentials, id string) error {
	sub, n, err := s.visibleSubnet(ctx, c, id)
	if err != nil {
		return err
	}
	if err := s.authorize(c, "delete_subnet", target(sub.ProjectID, n)); err != nil {
		return err
	}
	if err := s.repo.DeleteSubnet(ctx, id); err != nil {
		return err
	}
	s.subnetsChanged(ctx, n)
	return nil
}
