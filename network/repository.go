package network

import "context"

// IPRequest asks for an address on a subnet: IPAddress, or any free
// address of the subnet's allocation pools when it is "".
type IPRequest struct {
	SubnetID  string
	IPAddress string
}

// PortFilter narrows ListPorts; empty fields match everything.
type PortFilter struct {
	NetworkID string
	DeviceID  string
}

// Repository stores the network service's resources. Every method returns
// errors wrapping ErrNotFound (no such row), ErrConflict (a uniqueness
// rule) or ErrUnavailable (the database is out of reach); others are
// internal. Lists are ordered by creation time, then id; filtering by
// visibility is the service's business. networktest.RepositorySuite checks
// the contract.
type Repository interface {
	// CreateNetwork stores n (its id set by the caller).
	CreateNetwork(ctx context.Context, n Network) error
	// GetNetwork reads one network.
	GetNetwork(ctx context.Context, id string) (Network, error)
	// ListNetworks lists every network.
	ListNetworks(ctx context.Context) ([]Network, error)
	// UpdateNetwork replaces the stored network n.ID with n.
	UpdateNetwork(ctx context.Context, n Network) error
	// DeleteNetwork removes the network with its subnets, when no port
	// other than its DHCP ports (deleted along) is on it; otherwise
	// ErrConflict.
	DeleteNetwork(ctx context.Context, id string) error

	// CreateSubnet stores s; a subnet whose CIDR overlaps another of the
	// same network is ErrBadRequest (Neutron answers 400), checked in the
	// same transaction as the insert.
	CreateSubnet(ctx context.Context, s Subnet) error
	// GetSubnet reads one subnet.
	GetSubnet(ctx context.Context, id string) (Subnet, error)
	// ListSubnets lists the subnets of networkID, or all with "".
	ListSubnets(ctx context.Context, networkID string) ([]Subnet, error)
	// UpdateSubnet replaces the stored subnet s.ID with s (its CIDR and
	// network are the caller's to keep).
	UpdateSubnet(ctx context.Context, s Subnet) error
	// DeleteSubnet removes the subnet and the addresses DHCP ports hold in
	// it; an address of any other port in it is ErrConflict.
	DeleteSubnet(ctx context.Context, id string) error

	// CreatePort stores p with an address for each of ips, atomically: an
	// address is never given to two ports, concurrent creates included
	// (a requested address in use is ErrConflict; "" takes a free one and
	// a subnet with none left is ErrConflict). p.MAC "" gets a fresh
	// fa:16:3e:xx:xx:xx; MACs are unique per network (ErrConflict). It
	// returns the port as stored, FixedIPs in the order of ips.
	CreatePort(ctx context.Context, p Port, ips []IPRequest) (Port, error)
	// GetPort reads one port with its addresses.
	GetPort(ctx context.Context, id string) (Port, error)
	// ListPorts lists the ports f matches, with their addresses.
	ListPorts(ctx context.Context, f PortFilter) ([]Port, error)
	// UpdatePort replaces the stored port p.ID with p; when ips is not nil
	// the port's addresses become ips (those kept stay, others are freed,
	// new ones are allocated as in CreatePort).
	UpdatePort(ctx context.Context, p Port, ips []IPRequest) (Port, error)
	// DeletePort removes the port and frees its addresses.
	DeletePort(ctx context.Context, id string) error

	// CreateSecurityGroup stores g with its rules; a second default group
	// of a project is ErrConflict.
	CreateSecurityGroup(ctx context.Context, g SecurityGroup) error
	// GetSecurityGroup returns the group with its rules.
	GetSecurityGroup(ctx context.Context, id string) (SecurityGroup, error)
	// ListSecurityGroups lists every group with its rules.
	ListSecurityGroups(ctx context.Context) ([]SecurityGroup, error)
	// UpdateSecurityGroup stores g's name, description, stateful and
	// standard attributes (its rules are changed one by one).
	UpdateSecurityGroup(ctx context.Context, g SecurityGroup) error
	// DeleteSecurityGroup removes the group and its rules; a group a port
	// uses is ErrConflict.
	DeleteSecurityGroup(ctx context.Context, id string) error
	// CreateSecurityGroupRule stores r in its group (which must exist:
	// ErrNotFound otherwise).
	CreateSecurityGroupRule(ctx context.Context, r SecurityGroupRule) error
	// GetSecurityGroupRule reads one rule.
	GetSecurityGroupRule(ctx context.Context, id string) (SecurityGroupRule, error)
	// ListSecurityGroupRules lists every rule.
	ListSecurityGroupRules(ctx context.Context) ([]SecurityGroupRule, error)
	// DeleteSecurityGroupRule removes one rule.
	DeleteSecurityGroupRule(ctx context.Context, id string) error

	// Quotas returns the limits set for a project (resources without one
	// are absent).
	Quotas(ctx context.Context, projectID string) (map[string]int, error)
	// SetQuotas sets the given limits of a project, keeping the others.
	SetQuotas(ctx context.Context, projectID string, limits map[string]int) error
	// QuotaProjects lists the projects with limits of their own, sorted.
	QuotaProjects(ctx context.Context) ([]string, error)
	// DeleteQuotas returns a project to the default limits.
	DeleteQuotas(ctx context.Context, projectID string) error

	// Bootstrapped reports whether MarkBootstrapped(step) ran before.
	Bootstrapped(ctx context.Context, step string) (bool, error)
	// MarkBootstrapped records that a one-time start-up step (the default
	// network) was done; marking twice is no error.
	MarkBootstrapped(ctx context.Context, step string) error
}
