package service

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"imagestack/common/metrics"
	"imagestack/glance"
)

// importCopy starts a copy-image import: the active image's data goes to
// more stores (copy_image policy, admin by default). Each target gets a
// pending location at once, which is what refuses a second copy to the same
// store while one runs.
func (s *Service) importCopy(ctx context.Context, c Caller, im *loaded, req ImportRequest, requestID string) (*glance.Task, error) {
	if err := s.authorize(c, "copy_image", im.target(c), "copy this image to other stores"); err != nil {
		return nil, err
	}
	if im.Status != glance.StatusActive {
		return nil, glance.Errorf(glance.ErrConflict, "Only images with status active can be targeted for copying")
	}
	targets, err := s.importTargets(req)
	if err != nil {
		return nil, err
	}
	if err := s.checkNoImportRunning(ctx, im.Image); err != nil {
		return nil, err
	}
	todo, err := copyTargets(im.Image, req, targets)
	if len(todo) == 0 || err != nil {
		return nil, err
	}
	releaseCopies, err := s.reserveLocations(ctx, im.Image, todo)
	if err != nil {
		return nil, err
	}
	task := s.newImportTask(c, im.ID, requestID, importInput(im.ID, req, todo))
	releaseTask, err := s.createLeasedTask(ctx, task)
	if err != nil {
		for _, t := range todo {
			_ = s.repo.RemoveLocation(context.WithoutCancel(ctx), im.ID, t)
		}
		releaseCopies()
		return nil, err
	}
	s.editImportProperties(ctx, im.ID, func(p map[string]string) {
		p["os_glance_import_task"] = task.ID
		p["os_glance_importing_to_stores"] = strings.Join(todo, ",")
		p["os_glance_failed_import"] = ""
	})
	src := im.Clone()
	s.running.Add(1)
	go func() {
		defer s.running.Done()
		defer releaseTask()
		defer releaseCopies()
		defer s.waitUploadSlot()()
		defer metrics.ImageTaskRunning()()
		s.runCopy(context.WithoutCancel(ctx), task, src, todo, req.mustSucceed())
	}()
	return task, nil
}

// checkNoImportRunning allows one import at a time, as Glance does: two
// tasks would record their progress over each other. A lock left by a
// finished task is stale.
func (s *Service) checkNoImportRunning(ctx context.Context, im *glance.Image) error {
	busy := im.Properties["os_glance_import_task"]
	if busy == "" {
		return nil
	}
	if t, err := s.taskRepo.GetTask(ctx, busy); err == nil && (t.Status == glance.TaskPending || t.Status == glance.TaskProcessing) {
		return glance.Errorf(glance.ErrConflict, "New operation on image '%s' is not permitted as prior operation is still in progress", im.ID)
	}
	return nil
}

// copyTargets are the targets the image is not in yet: with all_stores,
// stores that have it are skipped; a store named explicitly that has it
// is an error.
func copyTargets(im *glance.Image, req ImportRequest, targets []string) ([]string, error) {
	var todo []string
	for _, t := range targets {
		if im.HasLocation(t) {
			if req.AllStores {
				continue
			}
			return nil, glance.Errorf(glance.ErrBadRequest, "Image is already present at store '%s'", t)
		}
		todo = append(todo, t)
	}
	return todo, nil
}

// reserveLocations takes the copy lease on each store, then adds a
// pending location in each, all or none: a store already receiving a copy
// is a conflict. release, never nil, drops the leases once the copies
// ended (their locations active or removed).
func (s *Service) reserveLocations(ctx context.Context, im *glance.Image, stores []string) (release func(), err error) {
	ids := make([]string, len(stores))
	for i, t := range stores {
		ids[i] = glance.CopyLeaseID(im.ID, t)
	}
	release, err = s.holdAll(ctx, glance.LeaseCopy, ids, im.BlobKey)
	for i, t := range stores {
		if err != nil {
			break
		}
		if err = s.repo.AddLocation(ctx, im.ID, t, glance.LocationPending); err != nil {
			for _, added := range stores[:i] {
				_ = s.repo.RemoveLocation(context.WithoutCancel(ctx), im.ID, added)
			}
			release()
		}
	}
	if errors.Is(err, glance.ErrConflict) {
		return func() {}, glance.Errorf(glance.ErrConflict, "New operation on image '%s' is not permitted as prior operation is still in progress", im.ID)
	}
	if err != nil {
		return func() {}, err
	}
	return release, nil
}

// runCopy copies the data to the stores and records the outcome on the
// task: failed when a copy failed and mustSucceed.
func (s *Service) runCopy(ctx context.Context, task *glance.Task, src *glance.Image, stores []string, mustSucceed bool) {
	task.Status, task.UpdatedAt = glance.TaskProcessing, s.stamp()
	_ = s.taskRepo.UpdateTask(ctx, task)
	if err := s.copyQuotas(ctx, src); err != nil {
		s.dropCopyTargets(ctx, src.ID, stores)
		s.finishTask(ctx, task, err)
		return
	}
	failed := s.copyPending(ctx, src, stores)
	var err error
	if len(failed) > 0 && mustSucceed {
		err = fmt.Errorf("copying the data to stores %s failed", strings.Join(failed, ", "))
	}
	s.finishTask(ctx, task, err)
}

// copyQuotas holds a copy to the limits Glance's import flow holds
// copy-image to: image_stage_total with the image's size on top (Glance
// stages the copy; the image being copied already counts there), and
// image_count_uploading (where it counts too).
func (s *Service) copyQuotas(ctx context.Context, im *glance.Image) error {
	if err := s.quotas.enforce(ctx, im.OwnerID(), glance.LimitImageStageTotal, deref(im.Size)/mib); err != nil {
		return err
	}
	return s.quotas.enforce(ctx, im.OwnerID(), glance.LimitImageCountUploading, 0)
}

// dropCopyTargets undoes the reservation of stores a refused copy will not
// make: their pending locations go, and they leave
// os_glance_importing_to_stores without being recorded as failed imports,
// as when Glance refuses a copy over quota.
func (s *Service) dropCopyTargets(ctx context.Context, id string, stores []string) {
	for _, store := range stores {
		_ = s.repo.RemoveLocation(context.WithoutCancel(ctx), id, store)
		s.endStoreImport(ctx, id, store, true)
	}
}

// copyPending copies an active image's data to each store, where a pending
// location already waits for it, recording each outcome on the image; it
// reports the failures.
func (s *Service) copyPending(ctx context.Context, im *glance.Image, stores []string) []string {
	var failed []string
	from := im.ActiveStores()
	for _, store := range stores {
		err := s.copyToStore(ctx, im, from, store)
		if err != nil {
			s.log.ErrorContext(ctx, "copying image data to a store failed", "image", im.ID, "store", store, "err", err)
			failed = append(failed, store)
		}
		s.endStoreImport(ctx, im.ID, store, err == nil)
	}
	return failed
}
