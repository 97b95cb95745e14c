package compute

import (
	"context"

	"imagestack/policy"
)

// NetworkRequest is one entry of a create request's "networks" (Nova's
// requested networks): a network to get a new port on, or a port that
// exists already.
type NetworkRequest struct {
	NetworkID string // a network id (the API resolves nothing else)
	PortID    string // an existing, unbound port of the caller's project
	FixedIP   string // the address wanted on NetworkID; "" any free one
	// SecurityGroups are the groups a new port gets (Nova's
	// security_groups): names or ids of the user's project's groups, ids
	// once resolved; nil: the project's default group. Ports given by id
	// keep their own.
	SecurityGroups []string
}

// NetworkChoice is what a create request asks for as a whole (Nova 2.37's
// "auto" and "none"; before 2.37 an absent "networks" means auto).
type NetworkChoice int

// Network choices.
const (
	// NetworksAuto: the one network the project may use (its own and shared
	// ones), no NIC when there is none, a 409 when there are several.
	NetworksAuto   NetworkChoice = iota
	NetworksNone                 // no NIC at all
	NetworksListed               // exactly the requests given, in order
)

// FixedIP is one address of a NIC, with what a guest needs to configure it.
type FixedIP struct {
	Address  string // e.g. 10.0.0.5
	Version  int    // 4 or 6
	SubnetID string
	CIDR     string // the subnet's, e.g. 10.0.0.0/24
	Gateway  string // "" when the subnet has none
	DNS      []string
}

// NIC is one network interface of a server as compute keeps it with the
// server (Nova's network info cache): what the API shows in "addresses"
// and what the hypervisor and the config drive need.
type NIC struct {
	PortID      string
	NetworkID   string
	NetworkName string
	MAC         string
	IPs         []FixedIP
	// SecurityGroups are the names of the port's security groups.
	SecurityGroups []string
	Bridge         string // host bridge of the network
	Device         string // tap device name on the host
	MTU            int
	// Preexisting: the port was given in the request; deleting the server
	// unbinds it instead of deleting it.
	Preexisting bool
}

// VIF is the hypervisor's view of the NIC.
func (n NIC) VIF() VIF { return VIF{MAC: n.MAC, Bridge: n.Bridge, Device: n.Device, MTU: n.MTU} }

// Networks is the network service as compute sees it; cmd wires it to the
// embedded Neutron-compatible service. The host side of every port it
// returns (the bridge, the DHCP server's static lease) is in place before
// Allocate returns.
type Networks interface {
	// Resolve validates a create request's networks for the user and
	// returns the requests to allocate for each server: NetworksAuto picks
	// the project's one network (none: no requests; several: an error
	// wrapping ErrConflict, Nova's "Multiple possible networks found"),
	// NetworksNone none. An unknown or unusable network, an unknown port or
	// a fixed IP outside the network is an error wrapping ErrBadRequest; a
	// port in use wraps ErrConflict. count is the number of servers: a
	// port or fixed IP with count > 1 is ErrBadRequest. Each request's
	// SecurityGroups are returned as ids; a group the user's project does
	// not have wraps ErrBadRequest, a name several of its groups share
	// ErrConflict. With NetworksAuto, requests is empty or one entry with
	// only SecurityGroups set, which the chosen network's request gets.
	Resolve(ctx context.Context, user policy.Credentials, choice NetworkChoice, requests []NetworkRequest, count int) ([]NetworkRequest, error)
	// Allocate creates (or binds) a port per request for the server, in
	// order, with its fixed IPs, owned by the server's project, device_id
	// the server's id and hostname as its DNS name. On error nothing is
	// left allocated. No free address is an error wrapping ErrConflict.
	Allocate(ctx context.Context, user policy.Credentials, serverID, hostname string, requests []NetworkRequest) ([]NIC, error)
	// Deallocate releases what Allocate gave the server: ports it created
	// are deleted, preexisting ones unbound. Repeating it is no error.
	Deallocate(ctx context.Context, serverID string) error
}
