package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"imagestack/common/cluster"
	"imagestack/glance"
)

// epoch is the expiry of a lease handed back: long past.
var epoch = time.Unix(0, 0).UTC()

// errInterrupted is the message of a task whose owner stopped.
var errInterrupted = errors.New("the import was interrupted by a restart or failure of the image service process running it")

// RecoverInterrupted runs at start-up, before serving: data stored before
// locations were recorded is placed in the default store; work in flight
// without a lease (left by an earlier version) is adopted; then the work of
// an earlier run of this member's name, dead for certain, and every work
// whose lease expired is recovered as a crash requires: images saving or
// importing return to queued without their partial (and staged) data,
// stages cut short return to queued, interrupted copies are removed and
// interrupted import tasks fail. Work leased by a live member is never
// touched. It returns how many pieces of work it recovered.
func (s *Service) RecoverInterrupted(ctx context.Context) (int, error) {
	if n, err := s.repo.AdoptUnplacedData(ctx, s.stores.defaultStore); err != nil {
		return 0, err
	} else if n > 0 {
		s.log.Info("image data without a recorded store placed in the default store", "images", n, "store", s.stores.defaultStore)
	}
	return s.recoverStale(ctx, true)
}

// recoverStale adopts orphans, then claims and recovers each lease that
// expired (and, at start-up, each of an earlier run of this member's
// name). A member that lost the race for a lease leaves it to the winner.
func (s *Service) recoverStale(ctx context.Context, startup bool) (int, error) {
	if n, err := s.leases.AdoptOrphans(ctx); err != nil {
		return 0, err
	} else if n > 0 {
		s.log.Info("work in flight without a lease adopted for recovery", "count", n)
	}
	name := ""
	if startup {
		name = s.me.Name
	}
	stale, err := s.leases.StaleLeases(ctx, s.now(), name)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, l := range stale {
		// Tasks are left to members with the import API on.
		if l.Owner == s.me.ID || !knownKind(l.Kind) || (l.Kind == glance.LeaseTask && s.taskRepo == nil) {
			continue
		}
		force := l.Owner != "" && cluster.NameOf(l.Owner) == s.me.Name
		won, err := s.leases.ClaimLease(ctx, l, s.me.ID, s.now(), s.now().Add(s.leaseTTL), force)
		if err != nil {
			return n, err
		}
		if won && s.recoverClaimed(ctx, l) {
			n++
		}
	}
	return n, nil
}

func knownKind(kind string) bool {
	switch kind {
	case glance.LeaseUpload, glance.LeaseStage, glance.LeaseCopy, glance.LeaseTask:
		return true
	}
	return false
}

// recoverClaimed recovers the work of l, whose lease this member has just
// claimed, drops the lease and reports whether there was work to undo.
// When recovery fails, the lease is handed back, ownerless and expired,
// for the next pass of any member.
func (s *Service) recoverClaimed(ctx context.Context, l glance.Lease) bool {
	s.addHeld(l.Kind, 1)
	release := s.releaser(ctx, l.Kind, l.ID)
	done, err := s.recoverWork(ctx, l)
	if err != nil {
		s.log.Warn("could not recover work whose owner stopped; handed back for a later try", "kind", l.Kind, "id", l.ID, "err", err)
		mine := l
		mine.Owner = s.me.ID
		if _, herr := s.leases.ClaimLease(ctx, mine, "", s.now(), epoch, true); herr != nil {
			s.log.Warn("could not hand back a lease", "kind", l.Kind, "id", l.ID, "err", herr)
		}
		s.addHeld(l.Kind, -1)
		return false
	}
	release()
	if done {
		s.log.Info("lease recovered", "kind", l.Kind, "id", l.ID, "owner", l.Owner)
		s.onRecovered(l.Kind)
	}
	return done
}

// recoverWork undoes what l's owner left, by kind, and reports whether
// there was anything left to undo (an orphan adopted from a stale look at
// the database may have ended meanwhile).
func (s *Service) recoverWork(ctx context.Context, l glance.Lease) (bool, error) {
	switch l.Kind {
	case glance.LeaseUpload:
		return s.recoverUpload(ctx, l)
	case glance.LeaseStage:
		return s.recoverStage(ctx, l)
	case glance.LeaseCopy:
		return s.recoverCopy(ctx, l)
	}
	return s.recoverTask(ctx, l)
}

// leasedImage is the image l names, nil when it is gone.
func (s *Service) leasedImage(ctx context.Context, id string) (*glance.Image, error) {
	im, err := s.repo.Get(ctx, id)
	if errors.Is(err, glance.ErrNotFound) {
		return nil, nil
	}
	return im, err
}

// recoverUpload returns an image left saving or importing by this
// attempt (its blob key) to queued, without its partial and staged data;
// a location being placed is dropped with its data left alone.
func (s *Service) recoverUpload(ctx context.Context, l glance.Lease) (bool, error) {
	im, err := s.leasedImage(ctx, l.ID)
	if err != nil || im == nil || (im.Status != glance.StatusSaving && im.Status != glance.StatusImporting) || im.BlobKey != l.Detail {
		return false, err
	}
	if _, placing := im.Properties[placingProperty]; placing {
		return true, s.unplace(ctx, im)
	}
	if s.staging != nil {
		_ = s.staging.Delete(ctx, im.ID)
	}
	if err := s.undoUpload(ctx, im, true); err != nil {
		return false, err
	}
	s.log.Warn("upload interrupted by a restart or failure of its owner; image returned to queued", "image", im.ID, "owner", l.Owner)
	return true, nil
}

// recoverStage returns an image whose stage was cut short (uploading with
// no size yet) to queued, without its partial staged data.
func (s *Service) recoverStage(ctx context.Context, l glance.Lease) (bool, error) {
	im, err := s.leasedImage(ctx, l.ID)
	if err != nil || im == nil || im.Status != glance.StatusUploading || im.Size != nil {
		return false, err
	}
	if s.staging != nil {
		if err := s.staging.Delete(ctx, im.ID); err != nil && !isNotFound(err) {
			return false, err
		}
	}
	_, err = s.transition(ctx, im.ID, glance.StatusUploading, func(cur *glance.Image) error {
		if cur.Size != nil {
			return fmt.Errorf("image %s finished staging: %w", im.ID, glance.ErrConflict)
		}
		cur.Status = glance.StatusQueued
		return nil
	})
	if errors.Is(err, glance.ErrConflict) || errors.Is(err, glance.ErrNotFound) {
		return false, nil
	}
	s.log.Warn("stage interrupted by a restart or failure of its owner; image returned to queued", "image", im.ID, "owner", l.Owner)
	return err == nil, err
}

// recoverCopy removes a copy to another store that was cut short: its
// partial data and its pending location; the store counts as a failed
// import.
func (s *Service) recoverCopy(ctx context.Context, l glance.Lease) (bool, error) {
	id, store, _ := strings.Cut(l.ID, "/")
	im, err := s.leasedImage(ctx, id)
	if err != nil || im == nil || im.BlobKey != l.Detail || !hasPending(im, store) ||
		(im.Status != glance.StatusActive && im.Status != glance.StatusDeactivated) {
		return false, err
	}
	if err := s.deleteBlob(ctx, store, im.BlobKey); err != nil {
		return false, err
	}
	if err := s.repo.RemoveLocation(ctx, id, store); err != nil && !errors.Is(err, glance.ErrNotFound) {
		return false, err
	}
	s.endStoreImport(ctx, id, store, false)
	s.log.Warn("copy of image data interrupted by a restart or failure of its owner; partial copy removed", "image", id, "store", store, "owner", l.Owner)
	return true, nil
}

// hasPending reports whether im has a pending location in store.
func hasPending(im *glance.Image, store string) bool {
	for _, loc := range im.Locations {
		if loc.Store == store && loc.Status == glance.LocationPending {
			return true
		}
	}
	return false
}

// recoverTask fails an import task left pending or processing, releasing
// its image's import lock; the image of a legacy import task is deleted,
// as when such an import fails.
func (s *Service) recoverTask(ctx context.Context, l glance.Lease) (bool, error) {
	t, err := s.taskRepo.GetTask(ctx, l.ID)
	if errors.Is(err, glance.ErrNotFound) {
		return false, nil
	}
	if err != nil || (t.Status != glance.TaskPending && t.Status != glance.TaskProcessing) {
		return false, err
	}
	if t.Type == glance.TaskTypeImport {
		s.failLegacyImport(ctx, t, errInterrupted)
	} else {
		// Stores the task had not reached yet count as failed.
		s.editImportProperties(ctx, t.ImageID, func(p map[string]string) {
			for _, st := range strings.Split(p["os_glance_importing_to_stores"], ",") {
				if st != "" {
					p["os_glance_failed_import"] = addToList(p["os_glance_failed_import"], st)
				}
			}
			if _, ok := p["os_glance_importing_to_stores"]; ok {
				p["os_glance_importing_to_stores"] = ""
			}
		})
		s.finishTask(ctx, t, errInterrupted)
	}
	s.log.Warn("import task interrupted by a restart or failure of its owner marked failed", "task", t.ID, "image", t.ImageID, "owner", l.Owner)
	return true, nil
}
