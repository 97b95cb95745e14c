package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"imagestack/common/apierr"
	"imagestack/compute"
)

// Nova's aggregate policies (admins by default).
const aggregateRule = "os_compute_api:os-aggregates:"

// AggregateUpdate is what PUT /os-aggregates/{id} changes: the name and/or
// the availability zone (SetZone with Zone; an empty zone is refused).
type AggregateUpdate struct {
	Name    *string
	SetZone bool
	Zone    string
}

// aggregateRepo is the repository, or errNoAggregates when none is wired.
func (s *Service) aggregateRepo() (compute.AggregateRepository, error) {
	if s.Aggregates == nil {
		return nil, compute.Errorf(compute.ErrUnavailable, "Host aggregates are not kept by this deployment.")
	}
	return s.Aggregates, nil
}

// aggregateNotFound is Nova's AggregateNotFound (404).
func aggregateNotFound(id int) error {
	return compute.Errorf(compute.ErrNotFound, "Aggregate %d could not be found.", id)
}

// ListAggregates lists the host aggregates (Nova's index).
func (s *Service) ListAggregates(ctx context.Context, c Caller) ([]compute.Aggregate, error) {
	if err := s.authorize(c, aggregateRule+"index", nil); err != nil {
		return nil, err
	}
	if s.Aggregates == nil {
		return []compute.Aggregate{}, nil
	}
	return s.Aggregates.ListAggregates(ctx)
}

// GetAggregate shows an aggregate.
func (s *Service) GetAggregate(ctx context.Context, c Caller, id int) (compute.Aggregate, error) {
	if err := s.authorize(c, aggregateRule+"show", nil); err != nil {
		return compute.Aggregate{}, err
	}
	repo, err := s.aggregateRepo()
	if err != nil {
		return compute.Aggregate{}, err
	}
	a, err := repo.GetAggregate(ctx, id)
	if errors.Is(err, compute.ErrNotFound) {
		return a, aggregateNotFound(id)
	}
	return a, err
}

// CreateAggregate creates an aggregate, in zone when zone is not "".
func (s *Service) CreateAggregate(ctx context.Context, c Caller, name, zone string) (compute.Aggregate, error) {
	if err := s.authorize(c, aggregateRule+"create", nil); err != nil {
		return compute.Aggregate{}, err
	}
	repo, err := s.aggregateRepo()
	if err != nil {
		return compute.Aggregate{}, err
	}
	// Nova's schema refuses spaces at either end of both (from 2.1).
	if err := checkName("name", name); err != nil {
		return compute.Aggregate{}, err
	}
	a := compute.Aggregate{Name: name, Metadata: map[string]string{}, CreatedAt: s.now().UTC()}
	if zone != "" {
		if err := checkZoneName(zone); err != nil {
			return compute.Aggregate{}, err
		}
		a.Metadata[compute.ZoneKey] = zone
	}
	out, err := repo.CreateAggregate(ctx, a)
	if errors.Is(err, compute.ErrConflict) {
		return out, compute.Errorf(compute.ErrConflict, "Aggregate %s already exists.", name)
	}
	return out, err
}

// UpdateAggregate renames an aggregate (spaces at either end of the name
// dropped, as Nova) and/or moves it (its hosts) to another zone, with
// Nova's rules (see checkZoneChange).
func (s *Service) UpdateAggregate(ctx context.Context, c Caller, id int, u AggregateUpdate) (compute.Aggregate, error) {
	if err := s.authorize(c, aggregateRule+"update", nil); err != nil {
		return compute.Aggregate{}, err
	}
	if u.Name != nil {
		if *u.Name = strings.TrimSpace(*u.Name); checkName("name", *u.Name) != nil {
			return compute.Aggregate{}, checkName("name", *u.Name)
		}
	}
	var md map[string]*string
	if u.SetZone {
		if u.Zone != "" {
			if err := checkZoneName(u.Zone); err != nil {
				return compute.Aggregate{}, err
			}
		}
		md = map[string]*string{compute.ZoneKey: &u.Zone}
	}
	return s.changeAggregate(ctx, id, func(a *compute.Aggregate, all []compute.Aggregate) error {
		if err := s.checkZoneChange(ctx, a, all, md, a.Hosts); err != nil {
			return compute.Errorf(compute.ErrBadRequest, "Cannot update aggregate %d. Reason: %s.", id, err)
		}
		if u.Name != nil {
			a.Name = *u.Name
		}
		applyMetadata(a, md)
		return nil
	}, func() error {
		return compute.Errorf(compute.ErrConflict, "Aggregate %s already exists.", *u.Name)
	})
}

// SetAggregateMetadata changes the aggregate's metadata: each key set to
// its value, a nil value removing the key (Nova's set_metadata).
func (s *Service) SetAggregateMetadata(ctx context.Context, c Caller, id int, md map[string]*string) (compute.Aggregate, error) {
	if err := s.authorize(c, aggregateRule+"set_metadata", nil); err != nil {
		return compute.Aggregate{}, err
	}
	return s.changeAggregate(ctx, id, func(a *compute.Aggregate, all []compute.Aggregate) error {
		if err := s.checkZoneChange(ctx, a, all, md, a.Hosts); err != nil {
			return compute.Errorf(compute.ErrBadRequest, "Cannot update metadata of aggregate %d. Reason: %s.", id, err)
		}
		applyMetadata(a, md)
		return nil
	}, nil)
}

// AddAggregateHost adds a compute host to an aggregate: 404 for a host
// without a compute service, 409 when it is there already or is in
// another zone through another aggregate.
func (s *Service) AddAggregateHost(ctx context.Context, c Caller, id int, host string) (compute.Aggregate, error) {
	if err := s.authorize(c, aggregateRule+"add_host", nil); err != nil {
		return compute.Aggregate{}, err
	}
	hosts, err := s.computeHosts(ctx)
	if err != nil {
		return compute.Aggregate{}, err
	}
	if !slices.Contains(hosts, host) {
		return compute.Aggregate{}, compute.Errorf(compute.ErrNotFound, "Compute host %s could not be found.", host)
	}
	return s.changeAggregate(ctx, id, func(a *compute.Aggregate, all []compute.Aggregate) error {
		if slices.Contains(a.Hosts, host) {
			return compute.Errorf(compute.ErrConflict, "Aggregate %d already has host %s.", id, host)
		}
		if zone := a.Zone(); zone != "" {
			if err := zoneConflicts(a.ID, zone, all, []string{host}); err != nil {
				return compute.Errorf(compute.ErrConflict, "Cannot add host to aggregate %d. Reason: %s.", id, err)
			}
		}
		a.Hosts = append(a.Hosts, host)
		return nil
	}, nil)
}

// RemoveAggregateHost removes a host from an aggregate (404 when it is
// not in it).
func (s *Service) RemoveAggregateHost(ctx context.Context, c Caller, id int, host string) (compute.Aggregate, error) {
	if err := s.authorize(c, aggregateRule+"remove_host", nil); err != nil {
		return compute.Aggregate{}, err
	}
	notIn := compute.Errorf(compute.ErrNotFound, "Cannot remove host %s in aggregate %d", host, id)
	a, err := s.changeAggregate(ctx, id, func(a *compute.Aggregate, _ []compute.Aggregate) error {
		i := slices.Index(a.Hosts, host)
		if i < 0 {
			return notIn
		}
		a.Hosts = slices.Delete(a.Hosts, i, i+1)
		return nil
	}, nil)
	if apiNotFound(err) {
		return a, notIn
	}
	return a, err
}

// apiNotFound reports a 404 of any kind.
func apiNotFound(err error) bool { return errors.Is(err, compute.ErrNotFound) }

// DeleteAggregate deletes an aggregate without hosts (400 otherwise).
func (s *Service) DeleteAggregate(ctx context.Context, c Caller, id int) error {
	if err := s.authorize(c, aggregateRule+"delete", nil); err != nil {
		return err
	}
	repo, err := s.aggregateRepo()
	if err != nil {
		return err
	}
	err = repo.DeleteAggregate(ctx, id, func(a compute.Aggregate) error {
		if len(a.Hosts) > 0 {
			return compute.Errorf(compute.ErrBadRequest, "Cannot remove aggregate %d. Reason: Host aggregate is not empty.", id)
		}
		return nil
	})
	if errors.Is(err, compute.ErrNotFound) && !isAPIError(err) {
		return aggregateNotFound(id)
	}
	return err
}

// changeAggregate runs change on aggregate id in the repository, turning
// its not-found and (with nameTaken) name conflicts into Nova's errors.
func (s *Service) changeAggregate(ctx context.Context, id int, change func(a *compute.Aggregate, all []compute.Aggregate) error, nameTaken func() error) (compute.Aggregate, error) {
	repo, err := s.aggregateRepo()
	if err != nil {
		return compute.Aggregate{}, err
	}
	a, err := repo.UpdateAggregate(ctx, id, change)
	switch {
	case isAPIError(err):
		return a, err
	case errors.Is(err, compute.ErrNotFound):
		return a, aggregateNotFound(id)
	case errors.Is(err, compute.ErrConflict) && nameTaken != nil:
		return a, nameTaken()
	}
	return a, err
}

// applyMetadata sets md on a (nil values remove their keys).
func applyMetadata(a *compute.Aggregate, md map[string]*string) {
	for k, v := range md {
		if v == nil {
			delete(a.Metadata, k)
		} else {
			a.Metadata[k] = *v
		}
	}
}

// checkZoneChange applies Nova's rules to md setting a's zone (nothing
// when md does not name it): the zone cannot be empty, hosts cannot be in
// another aggregate of another zone, and the zone of hosts running
// servers cannot change. It returns the reason of a refusal.
func (s *Service) checkZoneChange(ctx context.Context, a *compute.Aggregate, all []compute.Aggregate, md map[string]*string, hosts []string) error {
	v, ok := md[compute.ZoneKey]
	if !ok {
		return nil
	}
	if v == nil || *v == "" {
		return fmt.Errorf("Aggregate %s does not support empty named availability zone", a.Name)
	}
	if err := zoneConflicts(a.ID, *v, all, hosts); err != nil {
		return err
	}
	if *v == a.Zone() || len(hosts) == 0 {
		return nil
	}
	busy, err := s.hostsWithServers(ctx, hosts)
	if err != nil {
		return err
	}
	if busy {
		return errors.New("One or more hosts contain instances in this zone")
	}
	return nil
}

// zoneConflicts refuses zone for hosts when another aggregate than id
// puts one of them in another zone (Nova's message, zones as a list).
func zoneConflicts(id int, zone string, all []compute.Aggregate, hosts []string) error {
	var other []string
	for _, b := range all {
		if b.ID == id || b.Zone() == "" || b.Zone() == zone {
			continue
		}
		if slices.ContainsFunc(hosts, func(h string) bool { return slices.Contains(b.Hosts, h) }) {
			other = append(other, "'"+b.Zone()+"'")
		}
	}
	if len(other) > 0 {
		return fmt.Errorf("One or more hosts already in availability zone(s) [%s]", strings.Join(other, ", "))
	}
	return nil
}

// hostsWithServers reports whether a live server runs on one of hosts
// (a server on no host yet runs on this one).
func (s *Service) hostsWithServers(ctx context.Context, hosts []string) (bool, error) {
	servers, err := s.Servers.ListServers(ctx, compute.ServerFilter{})
	if err != nil {
		return false, err
	}
	here := s.host()
	hereListed := slices.Contains(hosts, here)
	for _, sv := range servers {
		if slices.Contains(hosts, sv.Host) || hereListed && (sv.Host == "" || sv.Host == here) {
			return true, nil
		}
	}
	return false, nil
}

// checkZoneName applies Nova's az_name: no colon, printable, no space
// at either end.
func checkZoneName(zone string) error {
	if strings.Contains(zone, ":") || checkName("availability_zone", zone) != nil {
		return compute.Errorf(compute.ErrBadRequest, "Invalid input for field/attribute availability_zone. Value: %s. An invalid 'availability_zone' value was provided: it must be printable characters without ':' and not start or end with whitespace.", compute.Clip(zone))
	}
	return nil
}

// isAPIError reports an error already carrying its client-facing message
// (one a change refused with), which is returned as it is.
func isAPIError(err error) bool {
	var e *apierr.Error
	return errors.As(err, &e)
}
