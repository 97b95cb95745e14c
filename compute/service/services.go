package service

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"imagestack/compute"
)

// ZoneInternal is Nova's zone of the services that run no servers.
const ZoneInternal = "internal"

// ComputeService is one service of the deployment as os-services lists
// it: each compute host's nova-compute (in its host's zone) and the
// conductor and scheduler the API processes stand in for (zone
// ZoneInternal).
type ComputeService struct {
	compute.HostService
	Zone    string
	Enabled bool
	// Up: a nova-compute's host heartbeats within service_down_time (the
	// other services are up while a process answers); never forced down.
	Up      bool
	Updated time.Time // a nova-compute's last heartbeat
	alive   bool      // Up but for forced_down
}

// apiBinaries are the services an API process registers, as Nova's
// services do at start-up; nova-compute is registered by each compute host
// (RegisterNode).
var apiBinaries = []string{compute.BinaryConductor, compute.BinaryScheduler}

// hostServices returns the deployment's services. The first call of a
// process registers its host's conductor and scheduler (as each Nova
// service registers itself when it starts), so a deleted service comes
// back at the next start. Without a repository the services are this
// host's, enabled.
func (s *Service) hostServices(ctx context.Context) ([]ComputeService, error) {
	host := s.host()
	var list []compute.HostService
	if s.HostServices == nil {
		now := s.now().UTC() // one heartbeat for the services of this process
		for i, b := range []string{compute.BinaryCompute, compute.BinaryConductor, compute.BinaryScheduler} {
			list = append(list, compute.HostService{ID: i + 1, Host: host, Binary: b, UpdatedAt: now})
		}
	} else {
		if err := s.registerServices(ctx, host); err != nil {
			return nil, err
		}
		var err error
		if list, err = s.HostServices.ListHostServices(ctx); err != nil {
			return nil, err
		}
	}
	nodes, zones, err := s.nodesByHost(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ComputeService, len(list))
	now := s.now().UTC() // this process's services are alive as it answers
	for i, hs := range list {
		cs := ComputeService{HostService: hs, Zone: ZoneInternal, Enabled: !hs.Disabled, alive: true, Updated: now}
		if hs.Binary == compute.BinaryCompute {
			n, ok := nodes[hs.Host]
			cs.Zone, cs.alive, cs.Updated = s.zoneOf(zones, hs.Host, n.Zone), ok && s.alive(n), hs.UpdatedAt
			if ok {
				cs.Updated = n.UpdatedAt
			} else if s.Nodes == nil {
				cs.alive = s.Hypervisor != nil
			}
		}
		cs.Up = cs.alive && !hs.ForcedDown
		out[i] = cs
	}
	return out, nil
}

// nodesByHost reads the compute nodes by host and the hosts' zones.
func (s *Service) nodesByHost(ctx context.Context) (map[string]compute.ComputeNode, map[string]string, error) {
	nodes := map[string]compute.ComputeNode{}
	if s.Nodes != nil {
		list, err := s.Nodes.ListNodes(ctx)
		if err != nil {
			return nil, nil, err
		}
		for _, n := range list {
			nodes[n.Host] = n
		}
	}
	zones, err := s.hostZones(ctx)
	return nodes, zones, err
}

func (s *Service) registerServices(ctx context.Context, host string) error {
	if s.registered.Load() {
		return nil
	}
	now := s.now().UTC() // the services of a process start together
	for _, b := range apiBinaries {
		if _, err := s.HostServices.EnsureHostService(ctx, host, b, now); err != nil {
			return err
		}
	}
	s.registered.Store(true)
	return nil
}

// Services lists the deployment's services (admins by Nova's default
// policy) matching host and binary ("" any).
func (s *Service) Services(ctx context.Context, c Caller, host, binary string) ([]ComputeService, error) {
	if err := s.authorize(c, "os_compute_api:os-services:list", nil); err != nil {
		return nil, err
	}
	all, err := s.hostServices(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(sv ComputeService) bool {
		return (host != "" && sv.Host != host) || (binary != "" && sv.Binary != binary)
	}), nil
}

// ComputeEnabled reports whether this host's nova-compute service takes
// new servers: it exists (was not deleted since it registered), is not
// disabled and not forced down. The scheduler places no server on a host
// where it does not; errors reading the state count as not.
func (s *Service) ComputeEnabled(ctx context.Context) bool {
	all, err := s.hostServices(ctx)
	if err != nil {
		s.log.Warn("could not read the compute service's state", "err", err)
		return false
	}
	for _, sv := range all {
		if sv.Binary == compute.BinaryCompute && sv.Host == s.host() && sv.Enabled && !sv.ForcedDown {
			return true
		}
	}
	return false
}

// ServiceChange is what an os-services update asks: nil fields are kept.
type ServiceChange struct {
	Disabled       *bool
	DisabledReason *string // with Disabled true; cleared when enabling
	ForcedDown     *bool
}

// findService returns the service match picks, or ErrNotFound with msg.
func (s *Service) findService(ctx context.Context, match func(ComputeService) bool, msg string) (ComputeService, error) {
	all, err := s.hostServices(ctx)
	if err != nil {
		return ComputeService{}, err
	}
	for _, sv := range all {
		if match(sv) {
			return sv, nil
		}
	}
	return ComputeService{}, compute.Errorf(compute.ErrNotFound, "%s", msg)
}

// UpdateServiceByHost changes the service of host and binary (the
// os-services actions before microversion 2.53). Only nova-compute
// services may be changed (400).
func (s *Service) UpdateServiceByHost(ctx context.Context, c Caller, host, binary string, ch ServiceChange) (ComputeService, error) {
	if err := s.authorize(c, "os_compute_api:os-services:update", nil); err != nil {
		return ComputeService{}, err
	}
	if binary != compute.BinaryCompute {
		return ComputeService{}, compute.Errorf(compute.ErrBadRequest, "Updating a %s service is not supported. Only nova-compute services can be updated.", compute.Clip(binary))
	}
	sv, err := s.findService(ctx, func(sv ComputeService) bool { return sv.Host == host && sv.Binary == binary },
		"Compute host "+compute.Clip(host)+" with binary "+compute.Clip(binary)+" could not be found.")
	if err != nil {
		return sv, err
	}
	return s.applyServiceChange(ctx, sv, ch)
}

// UpdateService changes the service of that UUID (microversion 2.53's
// PUT /os-services/{id}): 404 unknown, 400 not nova-compute or nothing
// asked.
func (s *Service) UpdateService(ctx context.Context, c Caller, id string, ch ServiceChange) (ComputeService, error) {
	if err := s.authorize(c, "os_compute_api:os-services:update", nil); err != nil {
		return ComputeService{}, err
	}
	sv, err := s.findService(ctx, func(sv ComputeService) bool { return sv.UUID == id }, "Service "+compute.Clip(id)+" could not be found.")
	if err != nil {
		return sv, err
	}
	if sv.Binary != compute.BinaryCompute {
		return sv, compute.Errorf(compute.ErrBadRequest, "Updating a %s service is not supported. Only nova-compute services can be updated.", sv.Binary)
	}
	if ch.Disabled == nil && ch.ForcedDown == nil {
		return sv, compute.Errorf(compute.ErrBadRequest, "No updates were requested. Fields 'status' or 'forced_down' should be specified.")
	}
	return s.applyServiceChange(ctx, sv, ch)
}

func (s *Service) applyServiceChange(ctx context.Context, sv ComputeService, ch ServiceChange) (ComputeService, error) {
	if ch.Disabled != nil {
		sv.Disabled, sv.DisabledReason = *ch.Disabled, nil
		if sv.Disabled {
			sv.DisabledReason = ch.DisabledReason
		}
	}
	if ch.ForcedDown != nil {
		sv.ForcedDown = *ch.ForcedDown
	}
	sv.UpdatedAt = s.now().UTC()
	if s.HostServices != nil {
		if err := s.HostServices.UpdateHostService(ctx, sv.HostService); err != nil {
			if errors.Is(err, compute.ErrNotFound) {
				return sv, compute.Errorf(compute.ErrNotFound, "Service %s could not be found.", sv.UUID)
			}
			return sv, err
		}
	}
	sv.Enabled, sv.Up = !sv.Disabled, sv.alive && !sv.ForcedDown
	return sv, nil
}

// DeleteService removes a service by id: its UUID from microversion 2.53
// (byUUID), its integer id before. A compute service hosting servers is
// 409.
func (s *Service) DeleteService(ctx context.Context, c Caller, id string, byUUID bool) error {
	if err := s.authorize(c, "os_compute_api:os-services:delete", nil); err != nil {
		return err
	}
	sv, err := s.findService(ctx, func(sv ComputeService) bool {
		return byUUID && sv.UUID == id || !byUUID && strconv.Itoa(sv.ID) == id
	}, "Service "+compute.Clip(id)+" not found.")
	if err != nil {
		return err
	}
	if sv.Binary == compute.BinaryCompute {
		if err := s.checkHostEmpty(ctx, sv.Host); err != nil {
			return err
		}
	}
	if s.HostServices == nil {
		return compute.Errorf(compute.ErrNotFound, "Service %s not found.", compute.Clip(id))
	}
	if err := s.HostServices.DeleteHostService(ctx, sv.UUID); err != nil {
		if errors.Is(err, compute.ErrNotFound) {
			return compute.Errorf(compute.ErrNotFound, "Service %s not found.", compute.Clip(id))
		}
		return err
	}
	if sv.Binary == compute.BinaryCompute && s.Nodes != nil {
		return s.Nodes.DeleteNode(ctx, sv.Host) // as Nova deletes the service's compute nodes
	}
	return nil
}

// checkHostEmpty refuses (409) to delete the compute service of a host
// that servers are on, or may still be placed on (not scheduled yet).
func (s *Service) checkHostEmpty(ctx context.Context, host string) error {
	live, err := s.Servers.ListServers(ctx, compute.ServerFilter{})
	if err != nil {
		return err
	}
	if slices.ContainsFunc(live, func(sv *compute.Server) bool {
		return sv.Host == host || (sv.Host == "" && sv.VMState == compute.VMBuilding)
	}) {
		return compute.Errorf(compute.ErrConflict, "Unable to delete compute service that is hosting instances. Migrate or delete the instances first.")
	}
	return nil
}
