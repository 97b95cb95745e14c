package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"imagestack/compute"
	"imagestack/policy"
)

// nonInheritable are base-image properties a snapshot does not copy (Nova's
// list, plus what describes the snapshot itself).
var nonInheritable = map[string]bool{
	"cache_in_nova": true, "bittorrent": true, "img_signature": true, "img_signature_hash_method": true,
	"img_signature_key_type": true, "img_signature_certificate_uuid": true, "image_type": true,
	"instance_uuid": true, "user_id": true, "base_image_ref": true, "os_hash_algo": true, "os_hash_value": true,
}

// CreateImage snapshots a server into a new private image owned by the
// server's project and returns the image id at once; the data follows in the
// background while the server's task_state goes image_snapshot ->
// image_pending_upload -> image_uploading -> null.
func (s *Service) CreateImage(ctx context.Context, c Caller, id, name string, metadata map[string]string) (string, error) {
	sv, err := s.Get(ctx, c, id)
	if err != nil {
		return "", err
	}
	if !s.authz.Enforce("os_compute_api:servers:create_image", serverTarget(sv), c.Creds) {
		return "", compute.Errorf(compute.ErrForbidden, "Policy doesn't allow os_compute_api:servers:create_image to be performed.")
	}
	if err := checkName("name", name); err != nil {
		return "", err
	}
	if err := checkMetadata("metadata", metadata); err != nil {
		return "", err
	}
	if s.Hypervisor == nil {
		return "", compute.Errorf(compute.ErrUnavailable, "No hypervisor is available on this host.")
	}
	if _, err := s.updateIf(ctx, id, func(sv *compute.Server) error {
		if sv.TaskState != compute.TaskNone || (sv.VMState != compute.VMActive && sv.VMState != compute.VMStopped) {
			return compute.Errorf(compute.ErrConflict, "Cannot 'createImage' instance %s while it is in vm_state %s", id, sv.VMState)
		}
		sv.TaskState = compute.TaskImageSnapshot
		return nil
	}); err != nil {
		return "", err
	}
	s.record(ctx, c, id, compute.ActionCreateImage)
	imageID, err := s.createSnapshotImage(ctx, c, sv, name, "snapshot", metadata)
	if err != nil {
		s.progress(ctx, id, func(sv *compute.Server) { sv.TaskState = compute.TaskNone })
		return "", err
	}
	s.background(ctx, id, func(ctx context.Context) {
		if err := s.snapshot(ctx, c, id, imageID, compute.TaskImagePending, compute.TaskImageUploading); err != nil {
			s.log.Error("snapshot failed; image removed", "server", id, "image", imageID, "err", err)
			s.deleteImage(ctx, c.Creds, id, imageID)
		}
		if _, err := s.progress(ctx, id, func(sv *compute.Server) { sv.TaskState = compute.TaskNone }); err != nil && !errors.Is(err, errGone) {
			s.log.Error("could not clear the snapshot task", "server", id, "err", err)
		}
	})
	return imageID, nil
}

// createSnapshotImage registers the image a snapshot of sv goes into
// (Nova's compute_utils.create_image): imageType is "snapshot" or
// "backup"; the base image's inheritable properties, then extra, then what
// describes the snapshot are its properties.
func (s *Service) createSnapshotImage(ctx context.Context, c Caller, sv *compute.Server, name, imageType string, extra map[string]string) (string, error) {
	props := map[string]string{}
	req := compute.NewImage{Name: name, DiskFormat: "qcow2", ContainerFormat: "bare"}
	if base, err := s.Images.Get(ctx, c.Creds, sv.ImageID); err == nil {
		for k, v := range base.Properties {
			if !nonInheritable[k] {
				props[k] = v
			}
		}
		req.MinRAM, req.MinDisk = base.MinRAM, base.MinDisk
	}
	for k, v := range extra {
		props[k] = v
	}
	props["image_type"], props["instance_uuid"], props["user_id"], props["base_image_ref"] = imageType, sv.ID, c.Creds.UserID, sv.ImageID
	req.Properties = props
	return s.Images.Create(ctx, c.Creds, req)
}

// deleteImage removes an image made of a server (a failed snapshot, a
// rotated backup, an unshelved server's image), logging what fails.
func (s *Service) deleteImage(ctx context.Context, user policy.Credentials, serverID, imageID string) {
	if err := s.Images.Delete(ctx, user, imageID); err != nil {
		s.log.Error("could not delete an image made of a server", "server", serverID, "image", imageID, "err", err)
	}
}

// snapshot copies the server's disk to a temporary file and uploads it,
// marking the server's task pending, then uploading.
func (s *Service) snapshot(ctx context.Context, c Caller, serverID, imageID, pending, uploading string) error {
	if _, err := s.progress(ctx, serverID, func(sv *compute.Server) { sv.TaskState = pending }); err != nil {
		return err
	}
	if err := os.MkdirAll(s.SnapshotDir, 0o750); err != nil {
		return err
	}
	tmp := filepath.Join(s.SnapshotDir, imageID+".qcow2")
	defer os.Remove(tmp)
	if err := s.awaitBase(ctx, serverID); err != nil {
		return err
	}
	if err := s.Hypervisor.Snapshot(ctx, serverID, tmp); err != nil {
		return err
	}
	if _, err := s.progress(ctx, serverID, func(sv *compute.Server) { sv.TaskState = uploading }); err != nil {
		return err
	}
	f, err := os.Open(tmp)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := s.Images.Upload(ctx, c.Creds, imageID, io.Reader(f)); err != nil {
		return fmt.Errorf("upload snapshot: %w", err)
	}
	return nil
}
