// Package network is the domain of the Neutron-compatible network service:
// networks, subnets, ports with their fixed IPs, security groups and their
// rules, quotas; the repository and dataplane interfaces it runs on; and
// Neutron's default policy.
//
// Security group rules are stored and shown, not enforced: no packet filter
// is programmed from them.
package network

import "time"

// Statuses of networks and ports, as Neutron names them.
const (
	StatusActive = "ACTIVE"
	StatusDown   = "DOWN"
)

// Device owners the service sets itself.
const (
	OwnerDHCP    = "network:dhcp"
	OwnerCompute = "compute:nova"
)

// DefaultMTU is the MTU of a network without an overlay.
const DefaultMTU = 1500

// Standard holds Neutron's standard attributes every resource has.
type Standard struct {
	Description    string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	RevisionNumber int
}

// Network is a layer-2 network.
type Network struct {
	ID        string
	Name      string
	ProjectID string
	// Shared networks are usable (ports, servers) by every project.
	Shared              bool
	AdminStateUp        bool
	PortSecurityEnabled bool
	MTU                 int
	Status              string
	Standard
}

// Pool is a range of addresses a subnet hands out, both ends included.
type Pool struct{ Start, End string }

// HostRoute is a route DHCP announces.
type HostRoute struct{ Destination, NextHop string }

// Subnet is an address range of a network.
type Subnet struct {
	ID              string
	NetworkID       string
	ProjectID       string
	Name            string
	IPVersion       int
	CIDR            string
	GatewayIP       string // "" none
	AllocationPools []Pool
	EnableDHCP      bool
	DNSNameservers  []string
	HostRoutes      []HostRoute
	Standard
}

// FixedIP is one address of a port.
type FixedIP struct {
	SubnetID  string
	IPAddress string
}

// Port is a network attachment point: a server's NIC or a DHCP server.
type Port struct {
	ID                  string
	NetworkID           string
	ProjectID           string
	Name                string
	MAC                 string
	AdminStateUp        bool
	Status              string
	DeviceID            string
	DeviceOwner         string
	HostID              string // binding:host_id
	DNSName             string
	FixedIPs            []FixedIP
	SecurityGroups      []string
	PortSecurityEnabled bool
	// AutoDelete marks a port compute's Allocate made for a server:
	// Deallocate deletes it, where a port the user gave is only unbound.
	AutoDelete bool
	Standard
}

// SecurityGroup is a named set of rules. Rules are stored and shown, not
// enforced.
type SecurityGroup struct {
	ID        string
	ProjectID string
	Name      string
	Stateful  bool
	// Default marks the project's "default" group, made when first needed.
	Default bool
	Rules   []SecurityGroupRule
	Standard
}

// SecurityGroupRule is one rule of a group (stored, not enforced).
type SecurityGroupRule struct {
	ID              string
	SecurityGroupID string
	ProjectID       string
	Direction       string // ingress, egress
	EtherType       string // IPv4, IPv6
	Protocol        string // "" any
	PortRangeMin    *int
	PortRangeMax    *int
	RemoteIPPrefix  string
	RemoteGroupID   string
	Standard
}

// Quota resources, as Neutron names them.
const (
	QuotaNetwork           = "network"
	QuotaSubnet            = "subnet"
	QuotaPort              = "port"
	QuotaSecurityGroup     = "security_group"
	QuotaSecurityGroupRule = "security_group_rule"
)

// DefaultQuotas are Neutron's default limits for the resources served
// (-1: unlimited).
var DefaultQuotas = map[string]int{QuotaNetwork: 100, QuotaSubnet: 100, QuotaPort: 500,
	QuotaSecurityGroup: 10, QuotaSecurityGroupRule: 100}
