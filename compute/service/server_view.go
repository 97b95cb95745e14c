package service

import (
	"context"
	"os"

	"imagestack/compute"
	"imagestack/policy"
)

// ViewRights are what a caller may see of a server beyond its owner's
// view, by Nova's rules (admins by default): the OS-EXT-SRV-ATTR
// attributes, host_status, and the extra specs of its embedded flavor.
type ViewRights struct {
	ExtendedAttributes bool
	HostStatus         bool
	FlavorExtraSpecs   bool
	// HostState is this host's state as host_status shows it, read only
	// with the HostStatus right: UP, MAINTENANCE (nova-compute disabled)
	// or DOWN (forced down, or no hypervisor).
	HostState string
}

// ViewRights decides c's rights on sv (nil: on servers of c's project, as
// Nova decides them once for a list).
func (s *Service) ViewRights(ctx context.Context, c Caller, sv *compute.Server) ViewRights {
	target := policy.Target{"project_id": c.Creds.ProjectID}
	if sv != nil {
		target = serverTarget(sv)
	}
	can := func(rule string) bool { return s.authz.Enforce(rule, target, c.Creds) }
	r := ViewRights{
		ExtendedAttributes: can("os_compute_api:os-extended-server-attributes"),
		HostStatus:         can("os_compute_api:servers:show:host_status"),
		FlavorExtraSpecs:   can("os_compute_api:servers:show:flavor-extra-specs"),
	}
	if r.HostStatus {
		r.HostState = s.hostState(ctx)
	}
	return r
}

// hostState is this host's state for host_status.
func (s *Service) hostState(ctx context.Context) string {
	all, err := s.hostServices(ctx)
	if err != nil {
		return "UNKNOWN"
	}
	for _, sv := range all {
		switch {
		case sv.Binary != compute.BinaryCompute:
		case !sv.Up:
			return "DOWN"
		case !sv.Enabled:
			return "MAINTENANCE"
		default:
			return "UP"
		}
	}
	return "DOWN" // the service was deleted
}

// Placement is where a server runs: its host ("" when it has none: not
// scheduled yet, or offloaded) and the VM's name on the hypervisor.
type Placement struct {
	Host, InstanceName string
}

// domainNamer is a hypervisor that tells the name it gives a server's VM.
type domainNamer interface{ DomainName(serverID string) string }

// PlacementOf tells where sv runs: the host it records, or this host for
// a server with a VM placed before hosts were recorded.
func (s *Service) PlacementOf(sv *compute.Server) Placement {
	p := Placement{InstanceName: sv.ID}
	if n, ok := s.Hypervisor.(domainNamer); ok {
		p.InstanceName = n.DomainName(sv.ID)
	}
	if sv.TaskState == compute.TaskScheduling || sv.VMState == compute.VMDeleted {
		return p
	}
	if p.Host = sv.Host; p.Host == "" { // placed before hosts were recorded
		p.Host, _ = os.Hostname()
	}
	return p
}
