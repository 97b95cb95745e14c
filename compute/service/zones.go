package service

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"imagestack/compute"
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
	for _, name := range zoneNames(services) {
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

// zoneNames are the zones of services: the internal zone first, then the
// others by name.
func zoneNames(services []ComputeService) []string {
	var names []string
	for _, sv := range services {
		if sv.Zone != ZoneInternal && !slices.Contains(names, sv.Zone) {
			names = append(names, sv.Zone)
		}
	}
	slices.Sort(names)
	return append([]string{ZoneInternal}, names...)
}

// defaultZone is the zone of hosts no aggregate puts in one (Nova's
// default_availability_zone).
func (s *Service) defaultZone() string {
	if s.DefaultZone != "" {
		return s.DefaultZone
	}
	return ZoneName
}

// AggregateZones tells the availability zone of each compute host from
// host aggregates. It is the scheduler's HostZones (built from the
// repository alone, so cmd can wire it before the service exists).
type AggregateZones struct{ Aggregates compute.AggregateRepository }

// HostZones maps each host an aggregate puts in a zone to that zone (its
// zones joined by "," should aggregates disagree, as Nova shows them);
// hosts left out are in the default zone.
func (z AggregateZones) HostZones(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	if z.Aggregates == nil {
		return out, nil
	}
	aggs, err := z.Aggregates.ListAggregates(ctx)
	if err != nil {
		return nil, err
	}
	zones := map[string][]string{}
	for _, a := range aggs {
		for _, h := range a.Hosts {
			if name := a.Zone(); name != "" && !slices.Contains(zones[h], name) {
				zones[h] = append(zones[h], name)
			}
		}
	}
	for h, names := range zones {
		slices.Sort(names)
		out[h] = strings.Join(names, ",")
	}
	return out, nil
}

// hostZones maps hosts to the zones HostZones puts them in (none
// without HostZones).
func (s *Service) hostZones(ctx context.Context) (map[string]string, error) {
	if s.HostZones == nil {
		return map[string]string{}, nil
	}
	return s.HostZones.HostZones(ctx)
}

// zoneOf is the one rule for a compute host's zone, as os-services,
// os-availability-zone and the scheduler show it: the zone its
// aggregates put it in (zones, from hostZones), else the zone its node
// registered with (none unless a deployment's fixture says), else the
// default zone.
func (s *Service) zoneOf(zones map[string]string, host, nodeZone string) string {
	return cmp.Or(zones[host], nodeZone, s.defaultZone())
}

// zoneExists reports whether servers may ask for zone: the default zone,
// or one a compute host is in.
func (s *Service) zoneExists(ctx context.Context, zone string) (bool, error) {
	if zone == s.defaultZone() {
		return true, nil
	}
	hosts, err := s.HostsInZone(ctx, zone)
	return len(hosts) > 0, err
}

// HostZone returns the availability zone of a compute host (zoneOf): the
// zone of its aggregates that have one, else the default zone.
func (s *Service) HostZone(ctx context.Context, host string) (string, error) {
	nodes, zones, err := s.nodesByHost(ctx)
	if err != nil {
		return "", err
	}
	return s.zoneOf(zones, host, nodes[host].Zone), nil
}

// HostsInZone returns the compute hosts (those with a compute service) in
// zone, by name.
func (s *Service) HostsInZone(ctx context.Context, zone string) ([]string, error) {
	services, err := s.hostServices(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, sv := range services {
		if sv.Binary == compute.BinaryCompute && sv.Zone == zone && !slices.Contains(out, sv.Host) {
			out = append(out, sv.Host)
		}
	}
	slices.Sort(out)
	return out, nil
}

// computeHosts returns the hosts with a compute service.
func (s *Service) computeHosts(ctx context.Context) ([]string, error) {
	services, err := s.hostServices(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, sv := range services {
		if sv.Binary == compute.BinaryCompute && !slices.Contains(out, sv.Host) {
			out = append(out, sv.Host)
		}
	}
	return out, nil
}
