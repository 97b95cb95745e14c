package service

import (
	"cmp"
	"context"

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
	// HostStates are the compute hosts' states as host_status shows them,
	// read only with the HostStatus right: UP, MAINTENANCE (nova-compute
	// disabled) or DOWN (forced down, or no heartbeat); a host missing
	// (its service deleted) is DOWN too.
	HostStates map[string]string
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
		r.HostStates = s.hostStatuses(ctx)
	}
	return r
}

// hostStatuses are the compute hosts' states for host_status (nil: the
// services could not be read, every host UNKNOWN).
func (s *Service) hostStatuses(ctx context.Context) map[string]string {
	all, err := s.hostServices(ctx)
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for _, sv := range all {
		switch {
		case sv.Binary != compute.BinaryCompute:
		case !sv.Up:
			out[sv.Host] = "DOWN"
		case !sv.Enabled:
			out[sv.Host] = "MAINTENANCE"
		default:
			out[sv.Host] = "UP"
		}
	}
	return out
}

// StatusOf is the host_status of a server on host with rights r: ""
// without a host, DOWN for a host whose service is gone.
func (r ViewRights) StatusOf(host string) string {
	switch {
	case host == "":
		return ""
	case r.HostStates == nil:
		return "UNKNOWN"
	case r.HostStates[host] == "":
		return "DOWN"
	}
	return r.HostStates[host]
}

// Placement is where a server runs: its host and node ("" when it has
// none: not scheduled yet, no host found, or offloaded) and the VM's name
// on the hypervisor.
type Placement struct {
	Host, Node, InstanceName string
}

// domainNamer is a hypervisor that tells the name it gives a server's VM.
type domainNamer interface{ DomainName(serverID string) string }

// PlacementOf tells where sv runs: the host the scheduler placed it on.
func (s *Service) PlacementOf(sv *compute.Server) Placement {
	p := Placement{InstanceName: sv.ID}
	if n, ok := s.Hypervisor.(domainNamer); ok {
		p.InstanceName = n.DomainName(sv.ID)
	}
	if sv.TaskState == compute.TaskScheduling || sv.VMState == compute.VMDeleted {
		return p
	}
	p.Host, p.Node = sv.Host, cmp.Or(sv.Node, sv.Host)
	return p
}
