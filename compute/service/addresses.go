package service

import (
	"context"

	"imagestack/compute"
)

// Addresses returns a server's NICs for GET /servers/{id}/ips; network,
// when not "", keeps those on the network of that name (none: 404, as
// Nova's "Unknown network").
func (s *Service) Addresses(ctx context.Context, c Caller, id, network string) ([]compute.NIC, error) {
	sv, err := s.Get(ctx, c, id)
	if err != nil {
		return nil, err
	}
	rule := "os_compute_api:ips:index"
	if network != "" {
		rule = "os_compute_api:ips:show"
	}
	if !s.authz.Enforce(rule, serverTarget(sv), c.Creds) {
		return nil, compute.Errorf(compute.ErrForbidden, "Policy doesn't allow %s to be performed.", rule)
	}
	if network == "" {
		return sv.NICs, nil
	}
	var on []compute.NIC
	for _, n := range sv.NICs {
		if n.NetworkName == network {
			on = append(on, n)
		}
	}
	if len(on) == 0 {
		return nil, compute.Errorf(compute.ErrNotFound, "Unknown network")
	}
	return on, nil
}
