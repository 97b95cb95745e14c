package service

import (
	"context"
	"errors"

	"imagestack/compute"
)

// BackupRequest is a parsed createBackup action.
type BackupRequest struct {
	Name       string
	BackupType string // a user-defined kind, e.g. "daily"
	// Rotation is how many backups of BackupType of the server are kept:
	// once the new one is uploaded, the older ones beyond that go, newest
	// kept first; 0 removes them all, the new one too (as in Nova).
	Rotation int
	Metadata map[string]string // extra image properties
}

// CreateBackup snapshots a server into a backup image (properties
// image_type=backup, backup_type, instance_uuid), then rotates the server's
// backups of that type; it returns the new image's id at once, while the
// server's task_state goes image_backup -> image_pending_upload ->
// image_uploading -> null. As Nova, a lock does not refuse a backup.
func (s *Service) CreateBackup(ctx context.Context, c Caller, id string, req BackupRequest) (string, error) {
	sv, err := s.Get(ctx, c, id)
	if err != nil {
		return "", err
	}
	if !s.authz.Enforce("os_compute_api:os-create-backup", serverTarget(sv), c.Creds) {
		return "", compute.Errorf(compute.ErrForbidden, "Policy doesn't allow os_compute_api:os-create-backup to be performed.")
	}
	if err := checkName("name", req.Name); err != nil {
		return "", err
	}
	if err := checkMetadata("metadata", req.Metadata); err != nil {
		return "", err
	}
	if req.Rotation < 0 {
		return "", invalid("rotation", "%d is less than the minimum of 0", req.Rotation)
	}
	if s.Hypervisor == nil {
		return "", compute.Errorf(compute.ErrUnavailable, "No hypervisor is available on this host.")
	}
	if _, err := s.updateIf(ctx, id, func(sv *compute.Server) error {
		if err := checkState(sv, "createBackup", compute.VMActive, compute.VMStopped, compute.VMPaused); err != nil {
			return err
		}
		sv.TaskState = compute.TaskImageBackup
		return nil
	}); err != nil {
		return "", err
	}
	s.record(ctx, c, id, compute.ActionBackup)
	props := map[string]string{}
	for k, v := range req.Metadata {
		props[k] = v
	}
	props["backup_type"] = req.BackupType
	imageID, err := s.createSnapshotImage(ctx, c, sv, req.Name, "backup", props)
	if err != nil {
		s.progress(ctx, id, func(sv *compute.Server) { sv.TaskState = compute.TaskNone })
		return "", err
	}
	s.background(ctx, id, func(ctx context.Context) { s.backup(ctx, c, id, imageID, req) })
	return imageID, nil
}

// backup uploads the server's disk into imageID, then rotates; a failed
// upload removes the image and rotates nothing.
func (s *Service) backup(ctx context.Context, c Caller, id, imageID string, req BackupRequest) {
	err := s.snapshot(ctx, c, id, imageID, compute.TaskImagePending, compute.TaskImageUploading)
	if err != nil {
		s.log.Error("backup failed; image removed", "server", id, "image", imageID, "err", err)
		s.deleteImage(ctx, c.Creds, id, imageID)
	}
	if _, err := s.progress(ctx, id, func(sv *compute.Server) { sv.TaskState = compute.TaskNone }); err != nil && !errors.Is(err, errGone) {
		s.log.Error("could not clear the backup task", "server", id, "err", err)
	}
	if err == nil {
		s.rotateBackups(ctx, c, id, req.BackupType, req.Rotation)
	}
}

// rotateBackups deletes the server's backups of backupType beyond the
// newest rotation ones (Nova's _rotate_backups), as the caller.
func (s *Service) rotateBackups(ctx context.Context, c Caller, id, backupType string, rotation int) {
	backups, err := s.Images.List(ctx, c.Creds, map[string]string{"image_type": "backup", "backup_type": backupType, "instance_uuid": id})
	if err != nil {
		s.log.Error("could not list a server's backups to rotate them", "server", id, "err", err)
		return
	}
	for i := len(backups) - 1; i >= rotation; i-- {
		s.deleteImage(ctx, c.Creds, id, backups[i].ID)
	}
}
