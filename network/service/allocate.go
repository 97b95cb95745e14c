package service

import (
	"context"
	"net/netip"

	"imagestack/compute"
	"imagestack/network"
	"imagestack/policy"
)

// Allocate implements compute.Networks: a port per request (new ones
// device_owner compute:nova, named after nothing, DNS name the hostname),
// then the host side of each network is brought up to date.
func (c Compute) Allocate(ctx context.Context, user policy.Credentials, serverID, hostname string, requests []compute.NetworkRequest) ([]compute.NIC, error) {
	var nics []compute.NIC
	for _, r := range requests {
		nic, err := c.allocateOne(ctx, user, serverID, hostname, r)
		if err != nil {
			c.release(ctx, nics)
			return nil, err
		}
		nics = append(nics, nic)
	}
	for _, nic := range nics {
		if err := c.s.ensureHost(ctx, nic.NetworkID); err != nil {
			c.release(ctx, nics)
			return nil, compute.Errorf(compute.ErrUnavailable, "The host side of network %s could not be set up.", nic.NetworkID)
		}
	}
	return nics, nil
}

func (c Compute) allocateOne(ctx context.Context, user policy.Credentials, serverID, hostname string, r compute.NetworkRequest) (compute.NIC, error) {
	n, err := c.s.repo.GetNetwork(ctx, r.NetworkID)
	if err != nil {
		return compute.NIC{}, toCompute(err)
	}
	var p network.Port
	if r.PortID != "" {
		p, err = c.bind(ctx, serverID, hostname, r.PortID)
	} else {
		p, err = c.newPort(ctx, user, n, serverID, hostname, r.FixedIP, r.SecurityGroups)
	}
	if err != nil {
		return compute.NIC{}, err
	}
	return c.nic(ctx, n, p)
}

func (c Compute) newPort(ctx context.Context, user policy.Credentials, n network.Network, serverID, hostname, fixedIP string, groups []string) (network.Port, error) {
	p := network.Port{ID: newID(), NetworkID: n.ID, ProjectID: user.ProjectID, AdminStateUp: true, Status: network.StatusActive,
		DeviceID: serverID, DeviceOwner: network.OwnerCompute, DNSName: hostname, PortSecurityEnabled: n.PortSecurityEnabled,
		AutoDelete: true, Standard: c.s.stamp("")}
	if err := c.s.checkQuota(ctx, p.ProjectID, network.QuotaPort, 1); err != nil {
		return p, compute.Errorf(compute.ErrOverQuota, "Maximum number of ports exceeded.")
	}
	var given *[]FixedIPInput
	if fixedIP != "" {
		given = &[]FixedIPInput{{IPAddress: fixedIP}}
	}
	ips, err := c.s.ipRequests(ctx, n, given)
	if err == nil {
		var given *[]string // nil: the default group
		if groups != nil {
			given = &groups
		}
		err = c.s.portGroups(ctx, user, &p, given)
	}
	if err == nil {
		p, err = c.s.repo.CreatePort(ctx, p, ips)
	}
	return p, toCompute(err)
}

// bind gives an existing port to the server.
func (c Compute) bind(ctx context.Context, serverID, hostname, portID string) (network.Port, error) {
	p, err := c.s.repo.GetPort(ctx, portID)
	if err != nil {
		return p, toCompute(err)
	}
	if p.DeviceID != "" && p.DeviceID != serverID {
		return p, compute.Errorf(compute.ErrConflict, "Port %s is still in use.", portID)
	}
	p.DeviceID, p.DeviceOwner, p.Status, p.AutoDelete = serverID, network.OwnerCompute, network.StatusActive, false
	if p.DNSName == "" {
		p.DNSName = hostname
	}
	c.s.touch(&p.Standard)
	p, err = c.s.repo.UpdatePort(ctx, p, nil)
	return p, toCompute(err)
}

// nic describes the port for compute.
func (c Compute) nic(ctx context.Context, n network.Network, p network.Port) (compute.NIC, error) {
	subs, err := c.s.repo.ListSubnets(ctx, n.ID)
	if err != nil {
		return compute.NIC{}, toCompute(err)
	}
	byID := map[string]network.Subnet{}
	for _, sub := range subs {
		byID[sub.ID] = sub
	}
	nic := compute.NIC{PortID: p.ID, NetworkID: n.ID, NetworkName: n.Name, MAC: p.MAC, Bridge: c.s.dp.Bridge(n.ID),
		Device: "tap" + p.ID[:11], MTU: n.MTU, Preexisting: !p.AutoDelete, SecurityGroups: []string{}}
	for _, id := range p.SecurityGroups {
		g, err := c.s.repo.GetSecurityGroup(ctx, id)
		if err != nil {
			return compute.NIC{}, toCompute(err)
		}
		nic.SecurityGroups = append(nic.SecurityGroups, g.Name)
	}
	for _, ip := range p.FixedIPs {
		sub := byID[ip.SubnetID]
		v := 4
		if a, err := netip.ParseAddr(ip.IPAddress); err == nil && a.Is6() {
			v = 6
		}
		nic.IPs = append(nic.IPs, compute.FixedIP{Address: ip.IPAddress, Version: v, SubnetID: sub.ID, CIDR: sub.CIDR,
			Gateway: sub.GatewayIP, DNS: append([]string{}, sub.DNSNameservers...)})
	}
	return nic, nil
}

// release undoes a partial Allocate.
func (c Compute) release(ctx context.Context, nics []compute.NIC) {
	for _, nic := range nics {
		if err := c.releasePort(ctx, nic.PortID); err != nil {
			c.s.log.ErrorContext(ctx, "port of a failed allocation not released", "port", nic.PortID, "err", err)
		}
	}
}

// releasePort deletes a port Allocate made, or unbinds one the user gave,
// and updates the network's DHCP leases.
func (c Compute) releasePort(ctx context.Context, portID string) error {
	p, err := c.s.repo.GetPort(ctx, portID)
	if err != nil {
		return err
	}
	if p.AutoDelete {
		err = c.s.repo.DeletePort(ctx, p.ID)
	} else {
		p.DeviceID, p.DeviceOwner, p.Status = "", "", network.StatusDown
		c.s.touch(&p.Standard)
		_, err = c.s.repo.UpdatePort(ctx, p, nil)
	}
	if err == nil {
		c.s.portsChanged(ctx, p.NetworkID)
	}
	return err
}

// Deallocate implements compute.Networks.
func (c Compute) Deallocate(ctx context.Context, serverID string) error {
	ports, err := c.s.repo.ListPorts(ctx, network.PortFilter{DeviceID: serverID})
	if err != nil {
		return toCompute(err)
	}
	for _, p := range ports {
		if p.DeviceOwner != network.OwnerCompute {
			continue
		}
		if err := c.releasePort(ctx, p.ID); err != nil && !isNotFound(err) {
			return toCompute(err)
		}
	}
	return nil
}
