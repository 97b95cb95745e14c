package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"strings"
	"sync"

	"github.com/google/uuid"

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

// ImportMethods lists the methods this service accepts.
func (s *Service) ImportMethods() []string {
	if s.staging == nil {
		return nil
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
	next := im.Clone()
	next.Status, next.UpdatedAt = glance.StatusUploading, s.stamp()
	if err := s.repo.Transition(ctx, glance.StatusQueued, next); err != nil {
		if errors.Is(err, glance.ErrConflict) {
			return glance.Errorf(glance.ErrConflict, "Image %s is already receiving data", id)
		}
		return err
	}
	_ = s.staging.Delete(ctx, id) // leftovers of an earlier failed attempt
	n, err := s.staging.Put(ctx, id, &capReader{r: body, max: s.cfg.SizeCap})
	if err == nil {
		// Glance shows the staged size while the image waits for import.
		staged := next.Clone()
		staged.Size = &n
		err = s.repo.Save(ctx, staged)
	}
	if err != nil {
		_ = s.staging.Delete(context.WithoutCancel(ctx), id)
		back := next.Clone()
		back.Status, back.UpdatedAt = glance.StatusQueued, s.stamp()
		if terr := s.repo.Transition(context.WithoutCancel(ctx), glance.StatusUploading, back); terr != nil && !errors.Is(terr, glance.ErrNotFound) {
			s.log.Error("could not return image to queued after a failed stage", "image", id, "err", terr)
		}
		return uploadError(err, s.cfg.SizeCap)
	}
	return nil
}

// ImportRequest is a parsed POST /v2/images/{id}/import body.
type ImportRequest struct {
	Method, URI string
	Stores      []string
	AllStores   bool
}

// Import starts an import and returns its task: glance-direct takes staged
// data (image uploading), web-download fetches a URL (image queued). A
// failed import leaves the image queued, importable again, with no data.
func (s *Service) Import(ctx context.Context, c Caller, id string, req ImportRequest, requestID string) (*glance.Task, error) {
	if s.staging == nil {
		return nil, glance.Errorf(glance.ErrNotFound, "The image import API is not enabled.")
	}
	im, err := s.load(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(c, "upload_image", im.target(c), "import data into this image"); err != nil {
		return nil, err
	}
	if len(req.Stores) > 0 || req.AllStores {
		return nil, glance.Errorf(glance.ErrBadRequest, "Only one store is configured: do not name stores.")
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
		Input:  map[string]any{"image_id": id, "import_req": map[string]any{"method": map[string]any{"name": req.Method, "uri": req.URI}}},
		Result: map[string]any{}}
	if err := s.taskRepo.CreateTask(ctx, task); err != nil {
		return nil, err
	}
	importing := im.Clone()
	importing.Status, importing.BlobKey, importing.UpdatedAt = glance.StatusImporting, blobKey(id), now
	importing.Properties["os_glance_import_task"] = task.ID
	importing.Properties["os_glance_importing_to_stores"] = ""
	importing.Properties["os_glance_failed_import"] = ""
	if err := s.repo.Transition(ctx, from, importing); err != nil {
		s.finishTask(context.WithoutCancel(ctx), task, fmt.Errorf("image changed state: %w", err))
		if errors.Is(err, glance.ErrConflict) {
			return nil, glance.Errorf(glance.ErrConflict, "Image %s changed state meanwhile", id)
		}
		return nil, err
	}
	s.running.Add(1)
	go func() {
		defer s.running.Done()
		s.runImport(context.WithoutCancel(ctx), c, task, importing, req)
	}()
	return task, nil
}

// precheckURI refuses obviously bad web-download URIs before any work.
func precheckURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return glance.Errorf(glance.ErrBadRequest, "URI for web-download does not pass filtering: %s", raw)
	}
	return nil
}

// runImport moves the data in and records the outcome on the task.
func (s *Service) runImport(ctx context.Context, c Caller, task *glance.Task, im *glance.Image, req ImportRequest) {
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
	if err == nil {
		_, err = s.storeData(ctx, im, src)
		src.Close()
	} else {
		s.abortUpload(ctx, im)
	}
	if req.Method == glance.ImportGlanceDirect {
		_ = s.staging.Delete(ctx, im.ID)
	}
	if err != nil {
		s.markFailedImport(ctx, im.ID)
	}
	s.finishTask(ctx, task, err)
}

// markFailedImport records a failed import on the (queued) image.
func (s *Service) markFailedImport(ctx context.Context, id string) {
	cur, err := s.repo.Get(ctx, id)
	if err != nil {
		return
	}
	cur.Properties["os_glance_failed_import"] = "local"
	delete(cur.Properties, "os_glance_importing_to_stores")
	_ = s.repo.Save(ctx, cur)
}

func (s *Service) finishTask(ctx context.Context, task *glance.Task, err error) {
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
