package service

import (
	"context"
	"errors"
	"os"

	"imagestack/compute"
)

// errNoValidHost is Nova's NoValidHost as the server's fault shows it.
var errNoValidHost = errors.New("No valid host was found. There are not enough hosts available.")

// hosts are the compute hosts a server may go to: this one (issue 17
// brings more).
func (s *Service) hosts() []string {
	name, _ := os.Hostname()
	return []string{name}
}

// place picks the host for server among hosts by its group's policy, given
// where the group's other members already are: affinity needs a host with
// members (any, when none is placed yet), anti-affinity one with fewer
// than max_server_per_host (default 1); the soft policies only prefer, the
// host with the most (soft-affinity) or fewest (soft-anti-affinity)
// members, and never fail. No group: the first host.
func place(hosts []string, g *compute.ServerGroup, server string) (string, error) {
	if len(hosts) == 0 {
		return "", errNoValidHost
	}
	if g == nil {
		return hosts[0], nil
	}
	count := map[string]int{}
	placed := 0
	for _, m := range g.Members {
		if m.ServerID != server && m.Host != "" {
			count[m.Host]++
			placed++
		}
	}
	best := func(better func(a, b int) bool) string {
		h := hosts[0]
		for _, c := range hosts[1:] {
			if better(count[c], count[h]) {
				h = c
			}
		}
		return h
	}
	switch g.Policy {
	case compute.PolicyAffinity:
		if h := best(func(a, b int) bool { return a > b }); placed == 0 || count[h] > 0 {
			return h, nil
		}
	case compute.PolicyAntiAffinity:
		limit := max(1, g.MaxServerPerHost)
		for _, h := range hosts {
			if count[h] < limit {
				return h, nil
			}
		}
	case compute.PolicySoftAffinity:
		return best(func(a, b int) bool { return a > b }), nil
	default:
		return best(func(a, b int) bool { return a < b }), nil
	}
	return "", errNoValidHost
}

// schedule places a new server: with its group's policy when it has one,
// recording the host chosen; errNoValidHost when no host fits.
func (s *Service) schedule(ctx context.Context, id string) error {
	s.placing.Lock()
	defer s.placing.Unlock()
	g, err := s.Groups.GroupOfServer(ctx, id)
	if errors.Is(err, compute.ErrNotFound) {
		_, err = place(s.hosts(), nil, id)
		return err
	}
	if err != nil {
		return err
	}
	host, err := place(s.hosts(), &g, id)
	if err != nil {
		return err
	}
	return s.Groups.SetMemberHost(ctx, id, host)
}

// leaveGroup takes a deleted server out of its group.
func (s *Service) leaveGroup(ctx context.Context, id string) {
	if err := s.Groups.RemoveGroupMember(ctx, id); err != nil {
		s.log.Error("could not take a deleted server out of its group", "server", id, "err", err)
	}
}
