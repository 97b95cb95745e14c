package service

import (
	"context"
	"slices"
)

// ZoneName is the one availability zone, named as Nova's default.
const ZoneName = "nova"

// Zone is an availability zone as os-availability-zone shows it: available
// while one of its services is enabled.
type Zone struct {
	Name      string
	Available bool
	// Hosts are, in the detailed (admin) view of an available zone, its
	// hosts' enabled services.
	Hosts map[string][]ComputeService
}

// AvailabilityZones lists the zones as Nova does: those with an enabled
// service first (the internal zone of the conductor and scheduler only in
// detail, where each lists its hosts' enabled services), then those whose
// services are all disabled. Detail is for admins by Nova's default
// policy.
func (s *Service) AvailabilityZones(ctx context.Context, c Caller, detail bool) ([]Zone, error) {
	rule := "os_compute_api:os-availability-zone:list"
	if detail {
		rule = "os_compute_api:os-availability-zone:detail"
	}
	if err := s.authorize(c, rule, nil); err != nil {
		return nil, err
	}
	services, err := s.hostServices(ctx)
	if err != nil {
		return nil, err
	}
	var available, unavailable []Zone
	for _, name := range []string{ZoneInternal, ZoneName} {
		z := Zone{Name: name}
		for _, sv := range services {
			if sv.Zone != name || !sv.Enabled {
				continue
			}
			z.Available = true
			if detail {
				if z.Hosts == nil {
					z.Hosts = map[string][]ComputeService{}
				}
				z.Hosts[sv.Host] = append(z.Hosts[sv.Host], sv)
			}
		}
		exists := slices.ContainsFunc(services, func(sv ComputeService) bool { return sv.Zone == name })
		switch {
		case z.Available && (detail || name != ZoneInternal):
			available = append(available, z)
		case !z.Available && exists && name != ZoneInternal:
			unavailable = append(unavailable, z)
		}
	}
	return append(available, unavailable...), nil
}
