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
