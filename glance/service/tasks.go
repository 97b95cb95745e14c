package service

import (
	"context"
	"errors"
	"slices"
	"strings"

	"imagestack/glance"
	"imagestack/policy"
)

// editImportProperties applies edit to the image's current properties and
// saves them; the image may be in any status (a lost race is logged).
func (s *Service) editImportProperties(ctx context.Context, id string, edit func(map[string]string)) {
	_, err := s.update(context.WithoutCancel(ctx), id, func(im *glance.Image) error { edit(im.Properties); return nil })
	if err != nil && !errors.Is(err, glance.ErrNotFound) {
		s.log.Warn("could not record import progress on the image", "image", id, "err", err)
	}
}

// endStoreImport records that an import to store finished: the store leaves
// os_glance_importing_to_stores and, on failure, joins os_glance_failed_import.
func (s *Service) endStoreImport(ctx context.Context, id, store string, ok bool) {
	if !s.stores.multi {
		return
	}
	s.editImportProperties(ctx, id, func(p map[string]string) {
		p["os_glance_importing_to_stores"] = removeFromList(p["os_glance_importing_to_stores"], store)
		if !ok {
			p["os_glance_failed_import"] = addToList(p["os_glance_failed_import"], store)
		}
	})
}

func removeFromList(list, item string) string {
	var out []string
	for _, x := range strings.Split(list, ",") {
		if x != "" && x != item {
			out = append(out, x)
		}
	}
	return strings.Join(out, ",")
}

func addToList(list, item string) string {
	if list == "" {
		return item
	}
	if slices.Contains(strings.Split(list, ","), item) {
		return list
	}
	return list + "," + item
}

// markFailedImport records a failed import on the (queued) image.
func (s *Service) markFailedImport(ctx context.Context, id, store string) {
	s.editImportProperties(ctx, id, func(p map[string]string) {
		p["os_glance_failed_import"] = store
		delete(p, "os_glance_importing_to_stores")
	})
}

// failInterruptedTasks marks import tasks that a crash left pending or
// processing as failed (their images were recovered already), releasing
// their images' import locks.
func (s *Service) failInterruptedTasks(ctx context.Context) {
	if s.taskRepo == nil {
		return
	}
	tasks, err := s.taskRepo.ListTasks(ctx, "", "")
	if err != nil {
		s.log.Error("could not list import tasks to recover", "err", err)
		return
	}
	for _, t := range tasks {
		if t.Status == glance.TaskPending || t.Status == glance.TaskProcessing {
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
			s.finishTask(ctx, t, errors.New("the import was interrupted by a restart of the image service"))
			s.log.Warn("import task interrupted by a restart marked failed", "task", t.ID, "image", t.ImageID)
		}
	}
}

// finishTask records the outcome on the task and releases the image's
// import lock (os_glance_import_task), as Glance does when a task ends.
func (s *Service) finishTask(ctx context.Context, task *glance.Task, err error) {
	s.editImportProperties(ctx, task.ImageID, func(p map[string]string) {
		if p["os_glance_import_task"] == task.ID {
			delete(p, "os_glance_import_task")
		}
	})
	task.UpdatedAt = s.stamp()
	if err != nil {
		task.Status, task.Message = glance.TaskFailure, err.Error()
		var ge *glance.Error
		if errors.As(uploadError(err, s.cfg.SizeCap), &ge) {
			task.Message = ge.Msg // the client-facing wording, when there is one
		}
	} else {
		task.Status, task.Result = glance.TaskSuccess, map[string]any{"image_id": task.ImageID}
	}
	if uerr := s.taskRepo.UpdateTask(ctx, task); uerr != nil {
		s.log.Error("could not record the import task outcome", "task", task.ID, "err", uerr)
	}
}

// Tasks lists tasks (tasks_api_access, admin by default).
func (s *Service) Tasks(ctx context.Context, c Caller) ([]*glance.Task, error) {
	if s.taskRepo == nil || !s.authz.Enforce("tasks_api_access", policy.Target{"project_id": c.Project()}, c.Creds) {
		return nil, glance.Errorf(glance.ErrForbidden, "You are not authorized to use the tasks API.")
	}
	owner := c.Project()
	if c.IsAdmin {
		owner = ""
	}
	return s.taskRepo.ListTasks(ctx, owner, "")
}

// Task shows one task (tasks_api_access).
func (s *Service) Task(ctx context.Context, c Caller, id string) (*glance.Task, error) {
	if s.taskRepo == nil || !s.authz.Enforce("tasks_api_access", policy.Target{"project_id": c.Project()}, c.Creds) {
		return nil, glance.Errorf(glance.ErrForbidden, "You are not authorized to use the tasks API.")
	}
	t, err := s.taskRepo.GetTask(ctx, id)
	if errors.Is(err, glance.ErrNotFound) || (err == nil && !c.IsAdmin && t.Owner != c.Project()) {
		return nil, glance.Errorf(glance.ErrNotFound, "Task with the given id %s was not found", id)
	}
	return t, err
}

// ImageTasks lists the import tasks of an image the caller may see.
func (s *Service) ImageTasks(ctx context.Context, c Caller, id string) ([]*glance.Task, error) {
	if _, err := s.load(ctx, c, id); err != nil {
		return nil, err
	}
	if s.taskRepo == nil {
		return []*glance.Task{}, nil
	}
	return s.taskRepo.ListTasks(ctx, "", id)
}
