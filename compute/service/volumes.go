package service

import (
	"context"

	"imagestack/compute"
)

// VolumeAttachment is one volume attached to a server (Nova's
// os-volume_attachments entry).
type VolumeAttachment struct {
	ID       string // the attachment's (and volume's) id
	ServerID string
	VolumeID string
	Device   string // e.g. /dev/vdb
}

// VolumeAttachments lists a server's volume attachments for GET
// /servers/{id}/os-volume_attachments. This service has no volumes, so the
// list of a server the caller may see is always empty.
func (s *Service) VolumeAttachments(ctx context.Context, c Caller, id string) ([]VolumeAttachment, error) {
	sv, err := s.Get(ctx, c, id)
	if err != nil {
		return nil, err
	}
	const rule = "os_compute_api:os-volumes-attachments:index"
	if !s.authz.Enforce(rule, serverTarget(sv), c.Creds) {
		return nil, compute.Errorf(compute.ErrForbidden, "Policy doesn't allow %s to be performed.", rule)
	}
	return []VolumeAttachment{}, nil
}

// Topology is a server's NUMA topology (microversion 2.78). Servers here
// have none: no flavor asks for NUMA placement or CPU pinning, so the
// answer is Nova's for such a server, no nodes.
type Topology struct {
	Nodes      []TopologyNode
	PageSizeKB *int
}

// TopologyNode is one NUMA node of a server (none are made here).
type TopologyNode struct {
	MemoryMB int
	VCPUSet  []int
}

// ServerTopology returns a server's topology under Nova's rule.
func (s *Service) ServerTopology(ctx context.Context, c Caller, id string) (Topology, error) {
	sv, err := s.Get(ctx, c, id)
	if err != nil {
		return Topology{}, err
	}
	const rule = "os_compute_api:servers:topology:index"
	if !s.authz.Enforce(rule, serverTarget(sv), c.Creds) {
		return Topology{}, compute.Errorf(compute.ErrForbidden, "Policy doesn't allow %s to be performed.", rule)
	}
	return Topology{Nodes: []TopologyNode{}}, nil
}
