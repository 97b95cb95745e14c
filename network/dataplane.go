package network

import "context"

// The host side of networks, done the way Neutron's Linux bridge and DHCP
// agents do it: per network a bridge with no address in the root
// namespace, a namespace (qdhcp-<network id>) joined to the bridge by a
// veth pair, and a dnsmasq inside the namespace handing out static leases
// by MAC. Servers' tap devices are plugged into the bridge by the
// hypervisor.

// HostSpec is what the host side of a network needs.
type HostSpec struct {
	NetworkID string
	MTU       int // 0: 1500
	// Subnets are the network's subnets with DHCP enabled.
	Subnets []DHCPSubnet
}

// DHCPSubnet is a subnet the network's DHCP server serves.
type DHCPSubnet struct {
	ID      string
	CIDR    string // e.g. 10.0.0.0/24 (IPv4; IPv6 subnets are served by SLAAC-less stateful DHCPv6 or skipped, see the implementation)
	Gateway string // announced as the router; "" announces none
	DNS     []string
	// ServerIP is the DHCP port's address in this subnet, given to the
	// namespace's end of the veth pair.
	ServerIP string
}

// DHCPHost is one static lease.
type DHCPHost struct {
	MAC, IP  string
	Hostname string // "" none
}

// Dataplane builds and removes the host side of networks. Every method is
// idempotent and safe to call concurrently for different networks;
// networktest.DataplaneSuite checks the contract.
type Dataplane interface {
	// Bridge and Namespace name a network's bridge (at most 15
	// characters) and namespace; they depend only on the network id.
	Bridge(networkID string) string
	Namespace(networkID string) string
	// Ensure creates whatever of the network's host side is missing or
	// broken (after a host reboot: all of it; dnsmasq dead: restart it)
	// and sets its static leases to hosts.
	Ensure(ctx context.Context, spec HostSpec, hosts []DHCPHost) error
	// SetHosts replaces the static leases of a network that Ensure set up;
	// dnsmasq rereads them without a restart.
	SetHosts(ctx context.Context, networkID string, hosts []DHCPHost) error
	// Delete stops the network's dnsmasq and removes its namespace, veth
	// pair and bridge. An unknown network is no error.
	Delete(ctx context.Context, networkID string) error
}
