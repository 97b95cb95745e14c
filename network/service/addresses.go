package service

import (
	"fmt"
	"net/netip"

	"imagestack/network"
)

// invalid is Neutron's 400 InvalidInput.
func invalid(format string, args ...any) error {
	return network.Errorf(network.ErrBadRequest, "InvalidInput", "Invalid input for operation: %s", fmt.Sprintf(format, args...))
}

// parseCIDR reads an IPv4 subnet given by its network address, with room
// for a gateway, a DHCP server and hosts (a /29 at most).
func parseCIDR(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return p, invalid("'%s' is not a valid IP subnet.", s)
	}
	if p.Masked() != p {
		return p, invalid("'%s' isn't a recognized IP subnet cidr, '%s' is recommended.", s, p.Masked())
	}
	if p.Bits() > 29 {
		return p, invalid("Subnet %s is too small: at most a /29 is served.", s)
	}
	return p, nil
}

// last is the highest address of p.
func last(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// hostIn checks that s is a host address of p (not its network or
// broadcast address).
func hostIn(p netip.Prefix, s, field string) (string, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return "", invalid("'%s' is not a valid IP address.", s)
	}
	if !p.Contains(a) || a == p.Addr() || a == last(p) {
		if field == "gateway_ip" {
			return "", network.Errorf(network.ErrBadRequest, "GatewayNotAllowed", "Gateway ip %s conflicts with the subnet %s.", s, p)
		}
		return "", invalid("%s %s is not a host address of subnet %s.", field, s, p)
	}
	return a.String(), nil
}

// defaultPools are the subnet's host addresses without the gateway.
func defaultPools(p netip.Prefix, gateway string) []network.Pool {
	first, end := p.Addr().Next(), last(p).Prev()
	gw, err := netip.ParseAddr(gateway)
	switch {
	case err != nil || gw.Compare(first) < 0 || gw.Compare(end) > 0:
		return []network.Pool{{Start: first.String(), End: end.String()}}
	case gw == first:
		return []network.Pool{{Start: first.Next().String(), End: end.String()}}
	case gw == end:
		return []network.Pool{{Start: first.String(), End: end.Prev().String()}}
	}
	return []network.Pool{{Start: first.String(), End: gw.Prev().String()}, {Start: gw.Next().String(), End: end.String()}}
}

// checkPools validates allocation pools: host addresses of p, start <=
// end, not overlapping each other nor holding the gateway.
func checkPools(p netip.Prefix, gateway string, pools []network.Pool) ([]network.Pool, error) {
	out := []network.Pool{}
	for i, pool := range pools {
		start, err1 := hostIn(p, pool.Start, "allocation_pools start")
		end, err2 := hostIn(p, pool.End, "allocation_pools end")
		if err1 != nil || err2 != nil {
			return nil, network.Errorf(network.ErrBadRequest, "OutOfBoundsAllocationPool",
				"The allocation pool %s-%s spans beyond the subnet cidr %s.", pool.Start, pool.End, p)
		}
		s, e := netip.MustParseAddr(start), netip.MustParseAddr(end)
		if s.Compare(e) > 0 {
			return nil, network.Errorf(network.ErrBadRequest, "InvalidAllocationPool", "The allocation pool %s-%s is not valid.", start, end)
		}
		if gw, err := netip.ParseAddr(gateway); err == nil && s.Compare(gw) <= 0 && gw.Compare(e) <= 0 {
			return nil, network.Errorf(network.ErrConflict, "GatewayConflictWithAllocationPools",
				"Gateway ip %s conflicts with allocation pool %s-%s.", gateway, start, end)
		}
		for _, o := range pools[:i] {
			if s.Compare(netip.MustParseAddr(o.End)) <= 0 && netip.MustParseAddr(o.Start).Compare(e) <= 0 {
				return nil, network.Errorf(network.ErrBadRequest, "OverlappingAllocationPools",
					"Found overlapping allocation pools: %s-%s and %s-%s for subnet %s.", start, end, o.Start, o.End, p)
			}
		}
		out = append(out, network.Pool{Start: start, End: end})
	}
	return out, nil
}

// checkNameservers validates DNS server addresses (no duplicates).
func checkNameservers(dns []string) ([]string, error) {
	seen := map[string]bool{}
	out := []string{}
	for _, d := range dns {
		a, err := netip.ParseAddr(d)
		if err != nil {
			return nil, invalid("'%s' is not a valid nameserver. '%s' is not a valid IP address.", d, d)
		}
		if seen[a.String()] {
			return nil, invalid("Duplicate nameserver '%s'", d)
		}
		seen[a.String()] = true
		out = append(out, a.String())
	}
	return out, nil
}

// checkRoutes validates host routes.
func checkRoutes(routes []network.HostRoute) ([]network.HostRoute, error) {
	out := []network.HostRoute{}
	for _, r := range routes {
		d, err1 := netip.ParsePrefix(r.Destination)
		h, err2 := netip.ParseAddr(r.NextHop)
		if err1 != nil || err2 != nil {
			return nil, invalid("Invalid data format for hostroute: '%s' via '%s'", r.Destination, r.NextHop)
		}
		out = append(out, network.HostRoute{Destination: d.Masked().String(), NextHop: h.String()})
	}
	return out, nil
}

// poolSize is the number of addresses in the subnet's pools.
func poolSize(sub network.Subnet) int {
	n := 0
	for _, p := range sub.AllocationPools {
		s, err1 := netip.ParseAddr(p.Start)
		e, err2 := netip.ParseAddr(p.End)
		if err1 == nil && err2 == nil && s.Is4() && e.Is4() {
			a, b := s.As4(), e.As4()
			n += int(uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3])) -
				int(uint32(a[0])<<24|uint32(a[1])<<16|uint32(a[2])<<8|uint32(a[3])) + 1
		}
	}
	return n
}
