package service

import (
	"context"
	"errors"
	"net/netip"
	"slices"

	"imagestack/compute"
	"imagestack/network"
	"imagestack/policy"
)

// Compute is the service as compute sees it (compute.Networks), with
// Nova's rules for requested networks.
type Compute struct{ s *Service }

var _ compute.Networks = Compute{}

// ForCompute returns the compute.Networks of the service.
func (s *Service) ForCompute() Compute { return Compute{s} }

// toCompute turns a network error into compute's kind of it, with the
// message kept.
func toCompute(err error) error {
	kinds := []struct{ from, to error }{{network.ErrBadRequest, compute.ErrBadRequest}, {network.ErrNotFound, compute.ErrBadRequest},
		{network.ErrConflict, compute.ErrConflict}, {network.ErrForbidden, compute.ErrForbidden},
		{network.ErrUnavailable, compute.ErrUnavailable}}
	for _, k := range kinds {
		if errors.Is(err, k.from) {
			return compute.Errorf(k.to, "%s", network.Message(err))
		}
	}
	return err
}

// usable reports whether the user may put servers on n: its own project's
// networks, shared ones, and for admins any they may see.
func (c Compute) usable(user policy.Credentials, n network.Network) bool {
	return n.Shared || n.ProjectID == user.ProjectID
}

// Resolve implements compute.Networks.
func (c Compute) Resolve(ctx context.Context, user policy.Credentials, choice compute.NetworkChoice, requests []compute.NetworkRequest, count int) ([]compute.NetworkRequest, error) {
	switch choice {
	case compute.NetworksNone:
		return nil, nil
	case compute.NetworksAuto:
		out, err := c.auto(ctx, user)
		if err == nil && len(out) == 1 && len(requests) == 1 && requests[0].SecurityGroups != nil {
			out[0].SecurityGroups, err = c.groupIDs(ctx, user, requests[0].SecurityGroups)
		}
		return out, err
	}
	out := make([]compute.NetworkRequest, 0, len(requests))
	for _, r := range requests {
		var err error
		if r.PortID != "" {
			r, err = c.resolvePort(ctx, user, r, count)
			r.SecurityGroups = nil
		} else if r, err = c.resolveNetwork(ctx, user, r, count); err == nil && r.SecurityGroups != nil {
			r.SecurityGroups, err = c.groupIDs(ctx, user, r.SecurityGroups)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// groupIDs resolves names or ids of the user's project's security groups,
// as Nova reads a create request's security_groups (the default group is
// made when the project has none yet).
func (c Compute) groupIDs(ctx context.Context, user policy.Credentials, refs []string) ([]string, error) {
	groups, err := c.s.repo.ListSecurityGroups(ctx)
	if err != nil {
		return nil, toCompute(err)
	}
	ids := []string{}
	for _, ref := range refs {
		var match []string
		for _, g := range groups {
			if g.ProjectID == user.ProjectID && g.ID == ref {
				match = []string{g.ID}
				break
			}
			if g.ProjectID == user.ProjectID && g.Name == ref {
				match = append(match, g.ID)
			}
		}
		if len(match) == 0 && ref == "default" {
			g, err := c.s.defaultGroup(ctx, user.ProjectID)
			if err != nil {
				return nil, toCompute(err)
			}
			match = []string{g.ID}
		}
		switch {
		case len(match) == 0:
			return nil, compute.Errorf(compute.ErrBadRequest, "Security group %s not found.", compute.Clip(ref))
		case len(match) > 1:
			return nil, compute.Errorf(compute.ErrConflict, "Multiple security groups found matching '%s'. Use an ID to be more specific.", compute.Clip(ref))
		case !slices.Contains(ids, match[0]):
			ids = append(ids, match[0])
		}
	}
	return ids, nil
}

// auto is Nova's automatic choice: the one network the project may use.
func (c Compute) auto(ctx context.Context, user policy.Credentials) ([]compute.NetworkRequest, error) {
	nets, err := c.s.repo.ListNetworks(ctx)
	if err != nil {
		return nil, toCompute(err)
	}
	var found []network.Network
	for _, n := range nets {
		if c.usable(user, n) {
			found = append(found, n)
		}
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return []compute.NetworkRequest{{NetworkID: found[0].ID}}, nil
	}
	return nil, compute.Errorf(compute.ErrConflict, "Multiple possible networks found, use a Network ID to be more specific.")
}

func (c Compute) resolvePort(ctx context.Context, user policy.Credentials, r compute.NetworkRequest, count int) (compute.NetworkRequest, error) {
	if count > 1 {
		return r, compute.Errorf(compute.ErrBadRequest, "Unable to launch multiple instances with a single configured port ID. Please launch your instance one by one with different ports.")
	}
	p, err := c.s.repo.GetPort(ctx, r.PortID)
	if errors.Is(err, network.ErrNotFound) || err == nil && p.ProjectID != user.ProjectID && !c.s.isAdmin(user) {
		return r, compute.Errorf(compute.ErrBadRequest, "Port id %s could not be found.", r.PortID)
	} else if err != nil {
		return r, toCompute(err)
	}
	if p.DeviceID != "" {
		return r, compute.Errorf(compute.ErrConflict, "Port %s is still in use.", r.PortID)
	}
	if len(p.FixedIPs) == 0 {
		return r, compute.Errorf(compute.ErrBadRequest, "Port %s requires a FixedIP in order to be used.", r.PortID)
	}
	r.NetworkID, r.FixedIP = p.NetworkID, ""
	return r, nil
}

func (c Compute) resolveNetwork(ctx context.Context, user policy.Credentials, r compute.NetworkRequest, count int) (compute.NetworkRequest, error) {
	n, err := c.s.repo.GetNetwork(ctx, r.NetworkID)
	if errors.Is(err, network.ErrNotFound) || err == nil && !c.usable(user, n) && !c.s.isAdmin(user) {
		return r, compute.Errorf(compute.ErrBadRequest, "Network %s could not be found.", r.NetworkID)
	} else if err != nil {
		return r, toCompute(err)
	}
	if r.FixedIP == "" {
		return r, nil
	}
	if count > 1 {
		return r, compute.Errorf(compute.ErrBadRequest, "multiple_instances: a fixed IP cannot be requested for more than one server.")
	}
	return r, c.checkFixedIP(ctx, n, r.FixedIP)
}

// checkFixedIP checks that ip is an address of one of the network's
// subnets that no port holds.
func (c Compute) checkFixedIP(ctx context.Context, n network.Network, ip string) error {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return compute.Errorf(compute.ErrBadRequest, "Invalid fixed IP address (%s)", compute.Clip(ip))
	}
	subs, err := c.s.repo.ListSubnets(ctx, n.ID)
	if err != nil {
		return toCompute(err)
	}
	if _, err := resolveIP(n.ID, subs, FixedIPInput{IPAddress: a.String()}); err != nil {
		return compute.Errorf(compute.ErrBadRequest, "Fixed IP %s is not a valid ip address for network %s.", ip, n.ID)
	}
	ports, err := c.s.repo.ListPorts(ctx, network.PortFilter{NetworkID: n.ID})
	if err != nil {
		return toCompute(err)
	}
	for _, p := range ports {
		for _, f := range p.FixedIPs {
			if f.IPAddress == a.String() {
				return compute.Errorf(compute.ErrBadRequest, "Fixed IP address %s is already in use on instance %s.", ip, p.DeviceID)
			}
		}
	}
	return nil
}
