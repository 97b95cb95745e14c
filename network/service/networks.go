package service

import (
	"context"
	"errors"

	"imagestack/network"
	"imagestack/policy"
)

// NetworkInput is a network create or update; nil fields are not given.
type NetworkInput struct {
	Name, Description, ProjectID       *string
	Shared, AdminStateUp, PortSecurity *bool
	External                           *bool // router:external: only false is served
	MTU                                *int
}

// NetworkDetail is a network with what Neutron shows beside it.
type NetworkDetail struct {
	network.Network
	SubnetIDs []string
}

// CreateNetwork creates a network (admins, by default policy).
func (s *Service) CreateNetwork(ctx context.Context, c policy.Credentials, in NetworkInput) (NetworkDetail, error) {
	n := network.Network{ID: newID(), ProjectID: projectOf(c, deref(in.ProjectID)), AdminStateUp: true,
		PortSecurityEnabled: true, MTU: network.DefaultMTU, Status: network.StatusActive, Standard: s.stamp("")}
	t := target(n.ProjectID, n)
	if err := s.authorize(c, "create_network", t); err != nil {
		return NetworkDetail{}, err
	}
	if in.Shared != nil && *in.Shared {
		if err := s.authorize(c, "create_network:shared", t); err != nil {
			return NetworkDetail{}, err
		}
	}
	if err := applyNetwork(&n, in); err != nil {
		return NetworkDetail{}, err
	}
	if err := s.checkQuota(ctx, n.ProjectID, network.QuotaNetwork, 1); err != nil {
		return NetworkDetail{}, err
	}
	if err := s.repo.CreateNetwork(ctx, n); err != nil {
		return NetworkDetail{}, err
	}
	s.syncHost(ctx, n.ID)
	return NetworkDetail{Network: n, SubnetIDs: []string{}}, nil
}

// applyNetwork sets the given fields of in on n.
func applyNetwork(n *network.Network, in NetworkInput) error {
	if in.External != nil && *in.External {
		return network.Errorf(network.ErrBadRequest, "InvalidInput",
			"Invalid input for operation: External networks are not supported by this service.")
	}
	if in.MTU != nil && (*in.MTU < 68 || *in.MTU > network.DefaultMTU) {
		return network.Errorf(network.ErrBadRequest, "InvalidInput",
			"Invalid input for operation: Requested MTU is too big, maximum is %d.", network.DefaultMTU)
	}
	if in.Name != nil && len(*in.Name) > 255 || in.Description != nil && len(*in.Description) > 255 {
		return network.Errorf(network.ErrBadRequest, "HTTPBadRequest", "Invalid input: names and descriptions are at most 255 characters.")
	}
	set(&n.Name, in.Name)
	set(&n.Description, in.Description)
	set(&n.Shared, in.Shared)
	set(&n.AdminStateUp, in.AdminStateUp)
	set(&n.PortSecurityEnabled, in.PortSecurity)
	set(&n.MTU, in.MTU)
	return nil
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// GetNetwork shows a network the caller may see (others are not found).
func (s *Service) GetNetwork(ctx context.Context, c policy.Credentials, id string) (NetworkDetail, error) {
	n, err := s.visibleNetwork(ctx, c, id)
	if err != nil {
		return NetworkDetail{}, err
	}
	return s.detail(ctx, n)
}

// visibleNetwork reads a network the caller may see.
func (s *Service) visibleNetwork(ctx context.Context, c policy.Credentials, id string) (network.Network, error) {
	n, err := s.repo.GetNetwork(ctx, id)
	if errors.Is(err, network.ErrNotFound) || err == nil && !s.may(c, "get_network", target(n.ProjectID, n)) {
		return network.Network{}, network.NotFound("Network", id)
	}
	return n, err
}

func (s *Service) detail(ctx context.Context, n network.Network) (NetworkDetail, error) {
	subs, err := s.repo.ListSubnets(ctx, n.ID)
	if err != nil {
		return NetworkDetail{}, err
	}
	d := NetworkDetail{Network: n, SubnetIDs: []string{}}
	for _, sub := range subs {
		d.SubnetIDs = append(d.SubnetIDs, sub.ID)
	}
	return d, nil
}

// ListNetworks lists the networks the caller may see.
func (s *Service) ListNetworks(ctx context.Context, c policy.Credentials) ([]NetworkDetail, error) {
	nets, err := s.repo.ListNetworks(ctx)
	if err != nil {
		return nil, err
	}
	subs, err := s.repo.ListSubnets(ctx, "")
	if err != nil {
		return nil, err
	}
	byNet := map[string][]string{}
	for _, sub := range subs {
		byNet[sub.NetworkID] = append(byNet[sub.NetworkID], sub.ID)
	}
	out := []NetworkDetail{}
	for _, n := range nets {
		if s.may(c, "get_network", target(n.ProjectID, n)) {
			out = append(out, NetworkDetail{Network: n, SubnetIDs: append([]string{}, byNet[n.ID]...)})
		}
	}
	return out, nil
}

// UpdateNetwork changes a network.
func (s *Service) UpdateNetwork(ctx context.Context, c policy.Credentials, id string, in NetworkInput) (NetworkDetail, error) {
	n, err := s.visibleNetwork(ctx, c, id)
	if err != nil {
		return NetworkDetail{}, err
	}
	if err := s.authorize(c, "update_network", target(n.ProjectID, n)); err != nil {
		return NetworkDetail{}, err
	}
	if in.Shared != nil && *in.Shared != n.Shared {
		if err := s.authorize(c, "update_network:shared", target(n.ProjectID, n)); err != nil {
			return NetworkDetail{}, err
		}
	}
	if in.ProjectID != nil && *in.ProjectID != n.ProjectID {
		return NetworkDetail{}, network.Errorf(network.ErrBadRequest, "HTTPBadRequest", "Cannot update read-only attribute project_id")
	}
	if err := applyNetwork(&n, in); err != nil {
		return NetworkDetail{}, err
	}
	s.touch(&n.Standard)
	if err := s.repo.UpdateNetwork(ctx, n); err != nil {
		return NetworkDetail{}, err
	}
	if in.MTU != nil {
		s.syncHost(ctx, n.ID)
	}
	return s.detail(ctx, n)
}

// DeleteNetwork deletes a network without ports (its DHCP port aside) and
// removes its host side.
func (s *Service) DeleteNetwork(ctx context.Context, c policy.Credentials, id string) error {
	n, err := s.visibleNetwork(ctx, c, id)
	if err != nil {
		return err
	}
	if err := s.authorize(c, "delete_network", target(n.ProjectID, n)); err != nil {
		return err
	}
	if err := s.repo.DeleteNetwork(ctx, id); err != nil {
		return err
	}
	mu := s.hostLock(id)
	defer mu.Unlock()
	if err := s.dp.Delete(ctx, id); err != nil {
		s.log.Error("network host side not removed", "network", id, "err", err)
	}
	return nil
}
