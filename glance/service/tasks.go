package service

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"imagestack/glance"
	"imagestack/policy"
)

// editImportProperties applies edit to the image's current properties and
// saves them; the image may be in any status (a lost race is logged).
func (s *Service) editImportProperties(ctx context.Context, id string, edit func(map[string]string)) {
	_, err := s.update(context.WithoutCancel(ctx), id, func(im *glance.Image) error { edit(im.Properties); return nil })
	if err != nil && !errors.Is(err, glance.ErrNotFound) {
		s.log.WarnContext(ctx, "could not record import progress on the image", "image", id, "err", err)
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

// finishTask records the outcome on the task and releases the image's
// import lock (os_glance_import_task), as Glance does when a task ends.
func (s *Service) finishTask(ctx context.Context, task *glance.Task, err error) {
	s.editImportProperties(ctx, task.ImageID, func(p map[string]string) {
		if p["os_glance_import_task"] == task.ID {
			delete(p, "os_glance_import_task")
		}
	})
	s.endTask(ctx, task, err)
}

// endTask records the outcome on the task: success (its image in the
// result) or failure (err's client-facing wording as the message). From
// now on the task lives for the task time to live.
func (s *Service) endTask(ctx context.Context, task *glance.Task, err error) {
	task.UpdatedAt = s.stamp()
	expires := task.UpdatedAt.Add(s.cfg.TaskTimeToLive)
	task.ExpiresAt = &expires
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
		s.log.ErrorContext(ctx, "could not record the import task outcome", "task", task.ID, "err", uerr)
	}
}

// tasksAccess is tasks_api_access, checked before anything else of the
// tasks API (admin only under Glance's defaults).
func (s *Service) tasksAccess(c Caller) error {
	if s.taskRepo == nil || !s.authz.Enforce("tasks_api_access", policy.Target{"project_id": c.Project()}, c.Creds) {
		return glance.Errorf(glance.ErrForbidden, "You are not authorized to use the tasks API.")
	}
	return nil
}

// Tasks lists the page of tasks q selects (tasks_api_access): an admin's
// holds every project's tasks, anyone else's their own project's only.
// Expired tasks are gone; an unknown marker is 400, as in Glance.
func (s *Service) Tasks(ctx context.Context, c Caller, q glance.TaskQuery) ([]*glance.Task, error) {
	if err := s.tasksAccess(c); err != nil {
		return nil, err
	}
	q.Owner, q.Now = "", s.now()
	if !c.IsAdmin {
		if c.Project() == "" {
			return []*glance.Task{}, nil
		}
		q.Owner = c.Project()
	}
	ts, err := s.taskRepo.PageTasks(ctx, q)
	if errors.Is(err, glance.ErrNotFound) && q.Marker != "" {
		return nil, glance.Errorf(glance.ErrBadRequest, "Task with the given id %s was not found", q.Marker)
	}
	return ts, err
}

// Task shows one task (tasks_api_access); another project's task, or one
// whose time to live has passed, is not found.
func (s *Service) Task(ctx context.Context, c Caller, id string) (*glance.Task, error) {
	if err := s.tasksAccess(c); err != nil {
		return nil, err
	}
	t, err := s.taskRepo.GetTask(ctx, id)
	if errors.Is(err, glance.ErrNotFound) || (err == nil && ((!c.IsAdmin && t.Owner != c.Project()) || t.Expired(s.now()))) {
		return nil, glance.Errorf(glance.ErrNotFound, "Could not find task %s", id)
	}
	return t, err
}

// ImageTasks lists the import tasks of an image the caller may see,
// expired ones left out.
func (s *Service) ImageTasks(ctx context.Context, c Caller, id string) ([]*glance.Task, error) {
	if _, err := s.load(ctx, c, id); err != nil {
		return nil, err
	}
	if s.taskRepo == nil {
		return []*glance.Task{}, nil
	}
	ts, err := s.taskRepo.ListTasks(ctx, "", id)
	if err != nil {
		return nil, err
	}
	now := s.now()
	return slices.DeleteFunc(ts, func(t *glance.Task) bool { return t.Expired(now) }), nil
}

// CleanExpiredTasks deletes the tasks whose time to live has passed.
func (s *Service) CleanExpiredTasks(ctx context.Context) (int64, error) {
	if s.taskRepo == nil {
		return 0, nil
	}
	return s.taskRepo.DeleteExpiredTasks(ctx, s.now())
}

// RunTaskCleanup deletes expired tasks now and then every tenth of the
// task time to live (between a second and an hour apart) until ctx ends.
func (s *Service) RunTaskCleanup(ctx context.Context) {
	tick := time.NewTicker(min(max(s.cfg.TaskTimeToLive/10, time.Second), time.Hour))
	defer tick.Stop()
	for {
		if n, err := s.CleanExpiredTasks(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("could not delete expired tasks", "err", err)
		} else if n > 0 {
			s.log.Info("deleted expired tasks", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
