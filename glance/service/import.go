package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"

	"imagestack/common/iox"
	"imagestack/glance"
	"imagestack/glance/webfetch"
	"imagestack/policy"
	"imagestack/storage"
)

// ImportDeps enable the interoperable image import API.
type ImportDeps struct {
	Staging storage.Store // glance-direct data between stage and import
	Tasks   glance.TaskRepository
	Fetcher *webfetch.Fetcher // web-download
}

// importState is the import half of the service.
type importState struct {
	staging storage.Store
	fetcher *webfetch.Fetcher
	running sync.WaitGroup
}

// EnableImport turns on staging, import and tasks.
func (s *Service) EnableImport(d ImportDeps) {
	s.staging, s.taskRepo, s.fetcher = d.Staging, d.Tasks, d.Fetcher
}

// ImportMethods lists the methods this service accepts (copy-image only
// with several stores).
func (s *Service) ImportMethods() []string {
	if s.staging == nil {
		return nil
	}
	if s.stores.multi {
		return []string{glance.ImportGlanceDirect, glance.ImportWebDownload, glance.ImportCopyImage}
	}
	return []string{glance.ImportGlanceDirect, glance.ImportWebDownload}
}

// WaitImports blocks until running imports have finished.
func (s *Service) WaitImports() { s.running.Wait() }

// Stage stores data for a later glance-direct import: queued -> uploading.
func (s *Service) Stage(ctx context.Context, c Caller, id string, body io.Reader) error {
	if s.staging == nil {
		return glance.Errorf(glance.ErrNotFound, "The image import API is not enabled.")
	}
	im, err := s.load(ctx, c, id)
	if err != nil {
		return err
	}
	if err := s.authorize(c, "upload_image", im.target(c), "stage data for this image"); err != nil {
		return err
	}
	if im.Status != glance.StatusQueued {
		return glance.Errorf(glance.ErrConflict, "Image status transition from %s to uploading is not allowed", im.Status)
	}
	release, err := s.uploadSlot()
	if err != nil {
		return err
	}
	defer release()
	_, err = s.transition(ctx, id, glance.StatusQueued, func(im *glance.Image) error {
		im.Status = glance.StatusUploading
		return nil
	})
	if errors.Is(err, glance.ErrConflict) {
		return glance.Errorf(glance.ErrConflict, "Image %s is already receiving data", id)
	}
	if err != nil {
		return err
	}
	_ = s.staging.Delete(ctx, id) // leftovers of an earlier failed attempt
	body, err = iox.FirstByte(body)
	var n int64
	if err == nil {
		// Checked as it arrives, so unsafe data is refused at once rather
		// than at import; the import checks it again.
		n, err = s.staging.Put(ctx, id, newInspectingReader(&capReader{r: body, max: s.cfg.SizeCap}, s.dataCheck(im.Image)))
	}
	if err == nil {
		// Glance shows the staged size while the image waits for import.
		_, err = s.transition(ctx, id, glance.StatusUploading, func(im *glance.Image) error { im.Size = &n; return nil })
	}
	if err != nil {
		ctx := context.WithoutCancel(ctx)
		_ = s.staging.Delete(ctx, id)
		_, terr := s.transition(ctx, id, glance.StatusUploading, func(im *glance.Image) error {
			im.Status, im.Size = glance.StatusQueued, nil
			return nil
		})
		if terr != nil && !errors.Is(terr, glance.ErrNotFound) {
			s.log.Error("could not return image to queued after a failed stage", "image", id, "err", terr)
		}
		return uploadError(err, s.cfg.SizeCap)
	}
	return nil
}

// ImportRequest is a parsed POST /v2/images/{id}/import request.
type ImportRequest struct {
	Method, URI string
	// Stores is nil when the body has no "stores".
	Stores    []string
	AllStores bool
	// AllStoresMustSucceed is nil when absent (true).
	AllStoresMustSucceed *bool
	// HeaderStore is the X-Image-Meta-Store header.
	HeaderStore string
}

func (r ImportRequest) mustSucceed() bool {
	return r.AllStoresMustSucceed == nil || *r.AllStoresMustSucceed
}

// Import starts an import and returns its task: glance-direct takes staged
// data (image uploading), web-download fetches a URL (image queued),
// copy-image copies an active image's data to more stores. A failed import
// leaves the image queued, importable again, with no data; a failed copy
// leaves the image as it was. The task is nil when there was nothing to do
// (copy-image to all stores of an image already in all of them).
func (s *Service) Import(ctx context.Context, c Caller, id string, req ImportRequest, requestID string) (*glance.Task, error) {
	if s.staging == nil {
		return nil, glance.Errorf(glance.ErrNotFound, "The image import API is not enabled.")
	}
	im, err := s.load(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if req.Method == glance.ImportCopyImage && s.stores.multi {
		return s.importCopy(ctx, c, im, req, requestID)
	}
	if err := s.authorize(c, "upload_image", im.target(c), "import data into this image"); err != nil {
		return nil, err
	}
	targets, err := s.importTargets(req)
	if err != nil {
		return nil, err
	}
	from := glance.StatusQueued
	switch req.Method {
	case glance.ImportGlanceDirect:
		if im.Status != glance.StatusUploading {
			return nil, glance.Errorf(glance.ErrConflict, "Image needs to be staged before 'glance-direct' method can be used")
		}
		from = glance.StatusUploading
	case glance.ImportWebDownload:
		if im.Status != glance.StatusQueued {
			return nil, glance.Errorf(glance.ErrConflict, "Image needs to be in 'queued' state to use 'web-download' method")
		}
		if err := precheckURI(req.URI); err != nil {
			return nil, err
		}
	case glance.ImportCopyImage:
		return nil, glance.Errorf(glance.ErrBadRequest, "Import method copy-image needs several stores; only one is configured.")
	default:
		return nil, glance.Errorf(glance.ErrBadRequest, "Import method %q is not supported: use %s.", req.Method, strings.Join(s.ImportMethods(), " or "))
	}
	if im.DiskFormat == nil || im.ContainerFormat == nil {
		return nil, glance.Errorf(glance.ErrBadRequest, "Properties disk_format, container_format must be set prior to importing data.")
	}
	now := s.stamp()
	task := &glance.Task{ID: uuid.NewString(), Type: "api_image_import", Status: glance.TaskPending, Owner: c.Project(),
		UserID: c.Creds.UserID, ImageID: id, RequestID: requestID, CreatedAt: now, UpdatedAt: now,
		Input:  importInput(id, req, targets),
		Result: map[string]any{}}
	if err := s.taskRepo.CreateTask(ctx, task); err != nil {
		return nil, err
	}
	importing, err := s.transition(ctx, id, from, func(cur *glance.Image) error {
		if !sameFormats(cur, im.Image) {
			return glance.Errorf(glance.ErrConflict, "Image %s changed meanwhile; retry.", id)
		}
		cur.Status, cur.BlobKey = glance.StatusImporting, blobKey(id)
		cur.Properties["os_glance_import_task"] = task.ID
		cur.Properties["os_glance_importing_to_stores"] = s.storeList(targets)
		cur.Properties["os_glance_failed_import"] = ""
		return nil
	})
	if err != nil {
		s.finishTask(context.WithoutCancel(ctx), task, fmt.Errorf("image changed state: %w", err))
		if errors.Is(err, glance.ErrConflict) {
			return nil, glance.Errorf(glance.ErrConflict, "Image %s changed state meanwhile", id)
		}
		return nil, err
	}
	s.running.Add(1)
	go func() {
		defer s.running.Done()
		defer s.waitUploadSlot()()
		s.runImport(context.WithoutCancel(ctx), task, importing, req, targets)
	}()
	return task, nil
}

// precheckURI refuses obviously bad web-download URIs before any work.
func precheckURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return glance.Errorf(glance.ErrBadRequest, "URI for web-download does not pass filtering: %s", webfetch.Redact(raw))
	}
	return nil
}

// importInput is what a task shows as its input.
func importInput(id string, req ImportRequest, targets []string) map[string]any {
	method := map[string]any{"name": req.Method}
	if req.URI != "" {
		// Credentials in the URI are for the fetch only: everyone who may
		// read the task would see them.
		method["uri"] = webfetch.Redact(req.URI)
	}
	return map[string]any{"image_id": id, "import_req": map[string]any{"method": method}, "backend": targets}
}

// storeList is the value of os_glance_importing_to_stores for targets:
// empty with a single store, whose name clients never see.
func (s *Service) storeList(targets []string) string {
	if !s.stores.multi {
		return ""
	}
	return strings.Join(targets, ",")
}

// runImport moves the data into the first target store, then copies it to
// the others, and records the outcome on the task. With
// all_stores_must_succeed (the default) the image becomes active only once
// every store has it, and any failure undoes the whole import; otherwise it
// becomes active with the first store and failed copies are only recorded.
func (s *Service) runImport(ctx context.Context, task *glance.Task, im *glance.Image, req ImportRequest, targets []string) {
	task.Status, task.UpdatedAt = glance.TaskProcessing, s.stamp()
	_ = s.taskRepo.UpdateTask(ctx, task)
	var src io.ReadCloser
	var err error
	switch req.Method {
	case glance.ImportGlanceDirect:
		src, err = s.staging.Get(ctx, im.ID, 0, -1)
	case glance.ImportWebDownload:
		src, err = s.fetcher.Open(ctx, req.URI, s.cfg.SizeCap)
		if errors.Is(err, webfetch.ErrTooLarge) {
			err = errTooLarge
		}
	}
	var ready *glance.Image
	if err == nil {
		ready, err = s.writeData(ctx, im, src, targets[0])
		src.Close()
	} else {
		s.abortUpload(ctx, im)
	}
	if req.Method == glance.ImportGlanceDirect {
		_ = s.staging.Delete(ctx, im.ID)
	}
	if err != nil {
		s.markFailedImport(ctx, im.ID, targets[0])
		s.finishTask(ctx, task, err)
		return
	}
	s.endStoreImport(ctx, im.ID, targets[0], true)
	rest := targets[1:]
	if !req.mustSucceed() {
		active, err := s.activate(ctx, im, ready)
		if err == nil {
			var pending []string
			for _, store := range rest {
				if err := s.repo.AddLocation(ctx, im.ID, store, glance.LocationPending); err != nil {
					s.log.Error("copying image data to a store failed", "image", im.ID, "store", store, "err", err)
					s.endStoreImport(ctx, im.ID, store, false)
					continue
				}
				pending = append(pending, store)
			}
			s.copyPending(ctx, active, pending)
		}
		s.finishTask(ctx, task, err)
		return
	}
	for _, store := range rest {
		err := s.repo.AddLocation(ctx, im.ID, store, glance.LocationPending)
		if err == nil {
			err = s.copyToStore(ctx, ready, []string{targets[0]}, store)
		}
		if err != nil {
			s.abortUpload(ctx, ready)
			s.markFailedImport(ctx, im.ID, store)
			s.finishTask(ctx, task, fmt.Errorf("copying the data to store %s: %w", store, err))
			return
		}
		ready.Locations = append(ready.Locations, glance.Location{Store: store, Status: glance.LocationActive})
		s.endStoreImport(ctx, im.ID, store, true)
	}
	_, err = s.activate(ctx, im, ready)
	s.finishTask(ctx, task, err)
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
			s.log.Error("copying image data to a store failed", "image", im.ID, "store", store, "err", err)
			failed = append(failed, store)
		}
		s.endStoreImport(ctx, im.ID, store, err == nil)
	}
	return failed
}

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
	if busy := im.Properties["os_glance_import_task"]; busy != "" {
		// One import at a time, as in Glance: two tasks would record their
		// progress over each other. A lock left by a finished task is stale.
		if t, err := s.taskRepo.GetTask(ctx, busy); err == nil && (t.Status == glance.TaskPending || t.Status == glance.TaskProcessing) {
			return nil, glance.Errorf(glance.ErrConflict, "New operation on image '%s' is not permitted as prior operation is still in progress", im.ID)
		}
	}
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
	if len(todo) == 0 {
		return nil, nil
	}
	for i, t := range todo {
		if err := s.repo.AddLocation(ctx, im.ID, t, glance.LocationPending); err != nil {
			for _, added := range todo[:i] {
				_ = s.repo.RemoveLocation(context.WithoutCancel(ctx), im.ID, added)
			}
			if errors.Is(err, glance.ErrConflict) {
				return nil, glance.Errorf(glance.ErrConflict, "New operation on image '%s' is not permitted as prior operation is still in progress", im.ID)
			}
			return nil, err
		}
	}
	now := s.stamp()
	task := &glance.Task{ID: uuid.NewString(), Type: "api_image_import", Status: glance.TaskPending, Owner: c.Project(),
		UserID: c.Creds.UserID, ImageID: im.ID, RequestID: requestID, CreatedAt: now, UpdatedAt: now,
		Input: importInput(im.ID, req, todo), Result: map[string]any{}}
	if err := s.taskRepo.CreateTask(ctx, task); err != nil {
		for _, t := range todo {
			_ = s.repo.RemoveLocation(context.WithoutCancel(ctx), im.ID, t)
		}
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
		defer s.waitUploadSlot()()
		ctx := context.WithoutCancel(ctx)
		task.Status, task.UpdatedAt = glance.TaskProcessing, s.stamp()
		_ = s.taskRepo.UpdateTask(ctx, task)
		failed := s.copyPending(ctx, src, todo)
		var err error
		if len(failed) > 0 && req.mustSucceed() {
			err = fmt.Errorf("copying the data to stores %s failed", strings.Join(failed, ", "))
		}
		s.finishTask(ctx, task, err)
	}()
	return task, nil
}

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

// AllowedNetworksFromStrings parses an allow-list for web-download.
func AllowedNetworksFromStrings(nets []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(nets))
	for _, n := range nets {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			return nil, fmt.Errorf("web-download allowed network %q: %w", n, err)
		}
		out = append(out, p)
	}
	return out, nil
}
