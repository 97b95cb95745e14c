package service

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"

	"imagestack/network"
	"imagestack/policy"
)

// FixedIPInput is one entry of a port's fixed_ips as given.
type FixedIPInput struct{ SubnetID, IPAddress string }

// PortInput is a port create or update; nil fields are not given.
type PortInput struct {
	NetworkID, Name, Description, ProjectID *string
	AdminStateUp, PortSecurity              *bool
	MAC, DeviceID, DeviceOwner, HostID      *string
	DNSName                                 *string
	FixedIPs                                *[]FixedIPInput
	SecurityGroups                          *[]string
}

// CreatePort creates a port with its addresses.
func (s *Service) CreatePort(ctx context.Context, c policy.Credentials, in PortInput) (PortDetail, error) {
	if in.NetworkID == nil || *in.NetworkID == "" {
		return PortDetail{}, badInput("Failed to parse request. Required attribute 'network_id' not specified")
	}
	n, err := s.visibleNetwork(ctx, c, *in.NetworkID)
	if err != nil {
		return PortDetail{}, err
	}
	p := network.Port{ID: newID(), NetworkID: n.ID, ProjectID: projectOf(c, deref(in.ProjectID)), AdminStateUp: true,
		PortSecurityEnabled: n.PortSecurityEnabled, SecurityGroups: []string{}, Standard: s.stamp("")}
	if err := s.authorizePort(c, "create_port", target(p.ProjectID, n), in); err != nil {
		return PortDetail{}, err
	}
	if err := applyPort(&p, in); err != nil {
		return PortDetail{}, err
	}
	ips, err := s.ipRequests(ctx, n, in.FixedIPs)
	if err != nil {
		return PortDetail{}, err
	}
	if err := s.portGroups(ctx, c, &p, in.SecurityGroups); err != nil {
		return PortDetail{}, err
	}
	if err := s.checkQuota(ctx, p.ProjectID, network.QuotaPort, 1); err != nil {
		return PortDetail{}, err
	}
	p, err = s.repo.CreatePort(ctx, p, ips)
	if err != nil {
		return PortDetail{}, err
	}
	s.portsChanged(ctx, n.ID)
	return s.shown(c, p, n), nil
}

// authorizePort checks action and the attribute rules of what in sets
// (Neutron's <action>:<attribute> rules).
func (s *Service) authorizePort(c policy.Credentials, action string, t policy.Target, in PortInput) error {
	rules := []string{action}
	add := func(given bool, attr string) {
		if given {
			rules = append(rules, action+":"+attr)
		}
	}
	add(in.MAC != nil, "mac_address")
	add(in.FixedIPs != nil, "fixed_ips")
	add(in.HostID != nil, "binding:host_id")
	add(in.PortSecurity != nil, "port_security_enabled")
	add(in.DeviceOwner != nil && strings.HasPrefix(*in.DeviceOwner, "network:"), "device_owner")
	add(action == "update_port" && in.DeviceID != nil, "device_id")
	if action == "create_port" && in.FixedIPs != nil {
		for _, ip := range *in.FixedIPs {
			add(ip.IPAddress != "", "fixed_ips:ip_address")
			add(ip.SubnetID != "", "fixed_ips:subnet_id")
		}
	}
	for _, r := range rules {
		if err := s.authorize(c, r, t); err != nil {
			return err
		}
	}
	return nil
}

// applyPort sets the plain fields of in on p.
func applyPort(p *network.Port, in PortInput) error {
	if in.MAC != nil {
		hw, err := net.ParseMAC(*in.MAC)
		if err != nil || len(hw) != 6 || hw[0]&1 == 1 {
			return invalid("'%s' is not a valid MAC address", *in.MAC)
		}
		p.MAC = hw.String()
	}
	set(&p.Name, in.Name)
	set(&p.Description, in.Description)
	set(&p.AdminStateUp, in.AdminStateUp)
	set(&p.PortSecurityEnabled, in.PortSecurity)
	set(&p.DeviceID, in.DeviceID)
	set(&p.DeviceOwner, in.DeviceOwner)
	set(&p.HostID, in.HostID)
	set(&p.DNSName, in.DNSName)
	p.Status = network.StatusDown
	if p.DeviceID != "" && p.AdminStateUp {
		p.Status = network.StatusActive
	}
	return nil
}

// ipRequests resolves fixed_ips against the network's subnets; none given
// is one address on the network's first IPv4 subnet (none without one).
func (s *Service) ipRequests(ctx context.Context, n network.Network, given *[]FixedIPInput) ([]network.IPRequest, error) {
	subs, err := s.repo.ListSubnets(ctx, n.ID)
	if err != nil {
		return nil, err
	}
	if given == nil {
		for _, sub := range subs {
			if sub.IPVersion == 4 {
				return []network.IPRequest{{SubnetID: sub.ID}}, nil
			}
		}
		return []network.IPRequest{}, nil
	}
	out := []network.IPRequest{}
	for _, g := range *given {
		req, err := resolveIP(n.ID, subs, g)
		if err != nil {
			return nil, err
		}
		out = append(out, req)
	}
	return out, nil
}

func resolveIP(networkID string, subs []network.Subnet, g FixedIPInput) (network.IPRequest, error) {
	var addr netip.Addr
	if g.IPAddress != "" {
		a, err := netip.ParseAddr(g.IPAddress)
		if err != nil {
			return network.IPRequest{}, invalid("'%s' is not a valid IP address", g.IPAddress)
		}
		addr = a
	}
	for _, sub := range subs {
		p, _ := netip.ParsePrefix(sub.CIDR)
		if g.SubnetID == sub.ID || g.SubnetID == "" && addr.IsValid() && p.Contains(addr) {
			if addr.IsValid() && !p.Contains(addr) {
				return network.IPRequest{}, network.Errorf(network.ErrBadRequest, "InvalidIpForSubnet",
					"IP address %s is not a valid IP for the specified subnet.", g.IPAddress)
			}
			return network.IPRequest{SubnetID: sub.ID, IPAddress: g.IPAddress}, nil
		}
	}
	if g.SubnetID != "" {
		return network.IPRequest{}, invalid("Failed to create port on network %s, because fixed_ips included invalid subnet %s.", networkID, g.SubnetID)
	}
	if g.IPAddress == "" {
		return network.IPRequest{}, invalid("Exactly one of ip_address and subnet_id must be given in a fixed_ips entry.")
	}
	return network.IPRequest{}, network.Errorf(network.ErrBadRequest, "InvalidIpForNetwork",
		"IP address %s is not a valid IP for any of the subnets on the specified network.", g.IPAddress)
}

// PortDetail is a port as a caller sees it.
type PortDetail struct {
	network.Port
	// Binding: the caller may see the binding:* attributes (Neutron's
	// get_port:binding:host_id, admins by default); without it HostID is
	// empty and the API leaves them out.
	Binding bool
}

// shown is p as c may see it.
func (s *Service) shown(c policy.Credentials, p network.Port, n network.Network) PortDetail {
	if !s.may(c, "get_port:binding:host_id", target(p.ProjectID, n)) {
		p.HostID = ""
		return PortDetail{Port: p}
	}
	return PortDetail{Port: p, Binding: true}
}

// visiblePort reads a port the caller may see, with its network.
func (s *Service) visiblePort(ctx context.Context, c policy.Credentials, id string) (network.Port, network.Network, error) {
	p, err := s.repo.GetPort(ctx, id)
	if errors.Is(err, network.ErrNotFound) {
		return p, network.Network{}, network.NotFound("Port", id)
	} else if err != nil {
		return p, network.Network{}, err
	}
	n, err := s.repo.GetNetwork(ctx, p.NetworkID)
	if err != nil || !s.may(c, "get_port", target(p.ProjectID, n)) {
		return network.Port{}, n, network.NotFound("Port", id)
	}
	return p, n, nil
}

// GetPort shows a port the caller may see.
func (s *Service) GetPort(ctx context.Context, c policy.Credentials, id string) (PortDetail, error) {
	p, n, err := s.visiblePort(ctx, c, id)
	if err != nil {
		return PortDetail{}, err
	}
	return s.shown(c, p, n), nil
}

// ListPorts lists the ports the caller may see.
func (s *Service) ListPorts(ctx context.Context, c policy.Credentials) ([]PortDetail, error) {
	ports, err := s.repo.ListPorts(ctx, network.PortFilter{})
	if err != nil {
		return nil, err
	}
	nets, err := s.networksByID(ctx)
	if err != nil {
		return nil, err
	}
	out := []PortDetail{}
	for _, p := range ports {
		if s.may(c, "get_port", target(p.ProjectID, nets[p.NetworkID])) {
			out = append(out, s.shown(c, p, nets[p.NetworkID]))
		}
	}
	return out, nil
}

// UpdatePort changes a port.
func (s *Service) UpdatePort(ctx context.Context, c policy.Credentials, id string, in PortInput) (PortDetail, error) {
	p, n, err := s.visiblePort(ctx, c, id)
	if err != nil {
		return PortDetail{}, err
	}
	if in.NetworkID != nil && *in.NetworkID != p.NetworkID || in.ProjectID != nil && *in.ProjectID != p.ProjectID {
		return PortDetail{}, badInput("Cannot update read-only attribute network_id or project_id")
	}
	if err := s.authorizePort(c, "update_port", target(p.ProjectID, n), in); err != nil {
		return PortDetail{}, err
	}
	if err := applyPort(&p, in); err != nil {
		return PortDetail{}, err
	}
	var ips []network.IPRequest
	if in.FixedIPs != nil {
		if ips, err = s.ipRequests(ctx, n, in.FixedIPs); err != nil {
			return PortDetail{}, err
		}
	}
	if in.SecurityGroups != nil {
		if err := s.portGroups(ctx, c, &p, in.SecurityGroups); err != nil {
			return PortDetail{}, err
		}
	}
	s.touch(&p.Standard)
	if p, err = s.repo.UpdatePort(ctx, p, ips); err != nil {
		return PortDetail{}, err
	}
	s.portsChanged(ctx, n.ID)
	return s.shown(c, p, n), nil
}

// DeletePort deletes a port and frees its addresses.
func (s *Service) DeletePort(ctx context.Context, c policy.Credentials, id string) error {
	p, n, err := s.visiblePort(ctx, c, id)
	if err != nil {
		return err
	}
	if err := s.authorize(c, "delete_port", target(p.ProjectID, n)); err != nil {
		return err
	}
	if err := s.repo.DeletePort(ctx, id); err != nil {
		return err
	}
	s.portsChanged(ctx, n.ID)
	return nil
}
