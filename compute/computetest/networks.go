package computetest

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"imagestack/compute"
	"imagestack/policy"
)

// Networks is a compute.Networks with networks in memory: each has a /24
// whose addresses .10 upwards it hands out, lowest free first.
type Networks struct {
	mu       sync.Mutex
	networks []fakeNetwork              // in creation order
	ports    map[string][]compute.NIC   // server id -> its NICs
	used     map[string]map[string]bool // network id -> addresses in use
	groups   map[string]string          // security group id -> name
}

type fakeNetwork struct{ id, name, prefix string }

var _ compute.Networks = (*Networks)(nil)

// NewNetworks returns networks without any, and one security group,
// "default" (its id too).
func NewNetworks() *Networks {
	return &Networks{ports: map[string][]compute.NIC{}, used: map[string]map[string]bool{},
		groups: map[string]string{"default": "default"}}
}

// AddSecurityGroup creates a security group.
func (n *Networks) AddSecurityGroup(id, name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.groups[id] = name
}

// groupIDs resolves security group names or ids; nil stays nil.
func (n *Networks) groupIDs(refs []string) ([]string, error) {
	if refs == nil {
		return nil, nil
	}
	ids := []string{}
	for _, ref := range refs {
		id := ""
		for gid, name := range n.groups {
			if gid == ref || name == ref {
				id = gid
			}
		}
		if id == "" {
			return nil, compute.Errorf(compute.ErrBadRequest, "Security group %s not found.", ref)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Add creates a network with addresses prefix.10 to prefix.254 (prefix
// like "10.0.0").
func (n *Networks) Add(id, name, prefix string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.networks = append(n.networks, fakeNetwork{id, name, prefix})
	n.used[id] = map[string]bool{}
}

// Allocated returns the NICs a server holds.
func (n *Networks) Allocated(serverID string) []compute.NIC {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.ports[serverID])
}

func (n *Networks) find(id string) (fakeNetwork, bool) {
	for _, net := range n.networks {
		if net.id == id {
			return net, true
		}
	}
	return fakeNetwork{}, false
}

// Resolve implements compute.Networks (ports are not supported).
func (n *Networks) Resolve(_ context.Context, _ policy.Credentials, choice compute.NetworkChoice, reqs []compute.NetworkRequest, count int) ([]compute.NetworkRequest, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch choice {
	case compute.NetworksNone:
		return nil, nil
	case compute.NetworksAuto:
		switch len(n.networks) {
		case 0:
			return nil, nil
		case 1:
			r := compute.NetworkRequest{NetworkID: n.networks[0].id}
			var err error
			if len(reqs) == 1 {
				r.SecurityGroups, err = n.groupIDs(reqs[0].SecurityGroups)
			}
			return []compute.NetworkRequest{r}, err
		}
		return nil, compute.Errorf(compute.ErrConflict, "Multiple possible networks found, use a Network ID to be more specific.")
	}
	out := slices.Clone(reqs)
	for i, r := range out {
		if _, ok := n.find(r.NetworkID); !ok || r.PortID != "" {
			return nil, compute.Errorf(compute.ErrBadRequest, "Network %s could not be found.", r.NetworkID)
		}
		if r.FixedIP != "" && count > 1 {
			return nil, compute.Errorf(compute.ErrBadRequest, "multiple servers cannot share fixed IP %s", r.FixedIP)
		}
		var err error
		if out[i].SecurityGroups, err = n.groupIDs(r.SecurityGroups); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Allocate implements compute.Networks.
func (n *Networks) Allocate(_ context.Context, _ policy.Credentials, serverID, _ string, reqs []compute.NetworkRequest) ([]compute.NIC, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var nics []compute.NIC
	for i, r := range reqs {
		net, _ := n.find(r.NetworkID)
		addr := n.freeAddress(net)
		if addr == "" {
			n.release(nics)
			return nil, compute.Errorf(compute.ErrConflict, "No more IP addresses available on network %s.", net.id)
		}
		n.used[net.id][addr] = true
		port := fmt.Sprintf("port-%s-%d", serverID, i)
		groups := []string{"default"}
		if r.SecurityGroups != nil {
			groups = []string{}
			for _, id := range r.SecurityGroups {
				groups = append(groups, n.groups[id])
			}
		}
		nics = append(nics, compute.NIC{PortID: port, NetworkID: net.id, NetworkName: net.name, SecurityGroups: groups,
			MAC: fmt.Sprintf("fa:16:3e:00:%02x:%02x", len(n.ports)%256, i), Bridge: "brq" + net.id[:min(11, len(net.id))],
			Device: "tap" + port[:min(11, len(port))], MTU: 1500,
			IPs: []compute.FixedIP{{Address: addr, Version: 4, CIDR: net.prefix + ".0/24", Gateway: net.prefix + ".1"}}})
	}
	n.ports[serverID] = nics
	return slices.Clone(nics), nil
}

func (n *Networks) freeAddress(net fakeNetwork) string {
	for i := 10; i < 255; i++ {
		if a := fmt.Sprintf("%s.%d", net.prefix, i); !n.used[net.id][a] {
			return a
		}
	}
	return ""
}

func (n *Networks) release(nics []compute.NIC) {
	for _, nic := range nics {
		for _, ip := range nic.IPs {
			delete(n.used[nic.NetworkID], ip.Address)
		}
	}
}

// Deallocate implements compute.Networks.
func (n *Networks) Deallocate(_ context.Context, serverID string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.release(n.ports[serverID])
	delete(n.ports, serverID)
	return nil
}
