package service

import (
	"context"
	"errors"
	"slices"

	"imagestack/compute"
)

// errNoValidHost is Nova's NoValidHost as the server's fault shows it.
var errNoValidHost = compute.ErrNoValidHost

// groupOrder narrows and orders hosts (best first) by the policy of the
// server's group g, given where its other members already are: affinity
// keeps the hosts with members (all, when none is placed yet),
// anti-affinity those with fewer than max_server_per_host (default 1);
// the soft policies only order, most members first (soft-affinity) or
// fewest (soft-anti-affinity), and never fail. No group: hosts as given.
func groupOrder(hosts []string, g *compute.ServerGroup, server string) ([]string, error) {
	if len(hosts) == 0 {
		return nil, errNoValidHost
	}
	if g == nil {
		return hosts, nil
	}
	count := map[string]int{}
	placed := 0
	for _, m := range g.Members {
		if m.ServerID != server && m.Host != "" {
			count[m.Host]++
			placed++
		}
	}
	out := slices.Clone(hosts)
	switch g.Policy {
	case compute.PolicyAffinity:
		if placed > 0 {
			out = slices.DeleteFunc(out, func(h string) bool { return count[h] == 0 })
		}
		slices.SortStableFunc(out, func(a, b string) int { return count[b] - count[a] })
	case compute.PolicyAntiAffinity:
		limit := max(1, g.MaxServerPerHost)
		out = slices.DeleteFunc(out, func(h string) bool { return count[h] >= limit })
	case compute.PolicySoftAffinity:
		slices.SortStableFunc(out, func(a, b string) int { return count[b] - count[a] })
	default:
		slices.SortStableFunc(out, func(a, b string) int { return count[a] - count[b] })
	}
	if len(out) == 0 {
		return nil, errNoValidHost
	}
	return out, nil
}

// place picks the host for server among hosts (best first) by its group's
// policy: the first of groupOrder.
func place(hosts []string, g *compute.ServerGroup, server string) (string, error) {
	out, err := groupOrder(hosts, g, server)
	if err != nil {
		return "", err
	}
	return out[0], nil
}

// schedule places a server: it picks a host for what the server asks
// (scheduler.go), claims the server's resources there and records the
// host on the server and in its group; errNoValidHost when no host fits.
func (s *Service) schedule(ctx context.Context, c Caller, id string) error {
	sv, err := s.Servers.GetServer(ctx, id)
	if err != nil {
		return err
	}
	req, err := s.requestFor(ctx, c, sv)
	if err != nil {
		return err
	}
	node, err := s.placeOne(ctx, req)
	if err != nil {
		return err
	}
	if _, err := s.progress(ctx, id, func(sv *compute.Server) { sv.Host, sv.Node = node.Host, node.HypervisorHostname }); err != nil {
		s.release(ctx, id)
		return err
	}
	return nil
}

// placeOne claims a host for r. A process places one server at a time,
// as Nova's scheduler does: each decision reads the claims of the one
// before, so the servers of a batch spread (or pack) as weighed instead
// of all racing for the same best host; only other replicas' decisions
// can race with it, and the claims' compare-and-set settles those. A
// group member's host is recorded in its group before the next decision.
func (s *Service) placeOne(ctx context.Context, r placementRequest) (compute.ComputeNode, error) {
	s.placing.Lock()
	defer s.placing.Unlock()
	g, err := s.Groups.GroupOfServer(ctx, r.alloc.ServerID)
	switch {
	case err == nil:
		r.group = &g
	case !errors.Is(err, compute.ErrNotFound):
		return compute.ComputeNode{}, err
	}
	node, err := s.claim(ctx, r)
	if err == nil && r.group != nil {
		err = s.Groups.SetMemberHost(ctx, r.alloc.ServerID, node.Host)
	}
	return node, err
}

// release frees what a server took of its host (deleted, offloaded).
func (s *Service) release(ctx context.Context, id string) {
	if s.Nodes == nil {
		return
	}
	if err := s.Nodes.ReleaseAllocation(ctx, id, ""); err != nil {
		s.log.Error("could not free a server's resources on its host", "server", id, "err", err)
	}
}

// leaveGroup takes a deleted server out of its group.
func (s *Service) leaveGroup(ctx context.Context, id string) {
	if err := s.Groups.RemoveGroupMember(ctx, id); err != nil {
		s.log.Error("could not take a deleted server out of its group", "server", id, "err", err)
	}
}
