package service

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/google/uuid"

	"imagestack/common/metrics"
	"imagestack/glance"
	"imagestack/glance/webfetch"
)

// The legacy import task (POST /v2/tasks with type "import"): Glance's first
// way to bring an image in from a URL, deprecated but still accepted. The
// task creates an image from image_properties, downloads import_from into it
// through the web-download fetcher (the same address policy, size cap and
// format checks as every upload) and activates it. When anything fails the
// image is deleted, as Glance's flow reverts it, and the task fails with
// the reason.

// NewTask is a task a client asks for, checked against the task schema.
type NewTask struct {
	// Type is one of glance.TaskTypes.
	Type string
	// Input is the task's input document (numbers as json.Number); nil
	// when the client sent null.
	Input map[string]any
}

// maxTaskInput bounds a task's input as stored: what a TEXT column holds
// on MariaDB.
const maxTaskInput = 65535

// TasksAccess checks tasks_api_access, which every call of the tasks API
// checks first (admin only under Glance's defaults).
func (s *Service) TasksAccess(c Caller) error { return s.tasksAccess(c) }

// CreateTask starts a legacy import task and returns it, pending. Only the
// "import" type may be created; its import_from must be an http(s) URL the
// web-download policy allows (400 otherwise, in Glance's words). The other
// input fields are checked when the task runs: a missing one fails the
// task, as in Glance.
func (s *Service) CreateTask(ctx context.Context, c Caller, nt NewTask, requestID string) (*glance.Task, error) {
	if err := s.tasksAccess(c); err != nil {
		return nil, err
	}
	if s.fetcher == nil {
		return nil, glance.Errorf(glance.ErrNotFound, "The image import API is not enabled.")
	}
	if nt.Type != glance.TaskTypeImport {
		return nil, glance.Errorf(glance.ErrBadRequest, "Task type %s cannot be created through the tasks API; "+
			"use the image import API (POST /v2/images/{image_id}/import).", nt.Type)
	}
	uri, err := s.legacyImportURI(nt.Input["import_from"])
	if err != nil {
		return nil, err
	}
	if in, _ := json.Marshal(nt.Input); len(in) > maxTaskInput {
		return nil, glance.Errorf(glance.ErrBadRequest, "Task input is too large: %d bytes of JSON, at most %d.", len(in), maxTaskInput)
	}
	now := s.stamp()
	task := &glance.Task{ID: uuid.NewString(), Type: nt.Type, Status: glance.TaskPending, Owner: c.Project(),
		UserID: c.Creds.UserID, RequestID: requestID, CreatedAt: now, UpdatedAt: now, Input: redactedInput(nt.Input, uri)}
	release, err := s.createLeasedTask(ctx, task)
	if err != nil {
		return nil, err
	}
	shown := *task
	s.running.Add(1)
	go func() {
		defer s.running.Done()
		defer release()
		defer s.waitUploadSlot()()
		defer metrics.ImageTaskRunning()()
		s.runLegacyImport(context.WithoutCancel(ctx), c, task, nt.Input, uri)
	}()
	return &shown, nil
}

// createLeasedTask takes the lease on a new task, then records it; release,
// never nil, drops the lease once the task has ended.
func (s *Service) createLeasedTask(ctx context.Context, task *glance.Task) (release func(), err error) {
	if release, err = s.hold(ctx, glance.LeaseTask, task.ID, ""); err != nil {
		return release, err
	}
	if err := s.taskRepo.CreateTask(ctx, task); err != nil {
		release()
		return func() {}, err
	}
	return release, nil
}

// legacyImportURI is Glance's validate_legacy_import_from_uri: http(s) only,
// never a local file, and a URL that passes the web-download policy.
func (s *Service) legacyImportURI(v any) (string, error) {
	uri, _ := v.(string)
	switch {
	case v == nil:
		return "", glance.Errorf(glance.ErrBadRequest, "Invalid location: None")
	case uri == "":
		return "", glance.Errorf(glance.ErrBadRequest, "Invalid location: %v", v)
	case strings.HasPrefix(uri, "file:///"), strings.HasPrefix(uri, "filesystem:///"):
		return "", glance.Errorf(glance.ErrBadRequest, "File based imports are not allowed. Please use a non-local source of image data.")
	case !strings.HasPrefix(uri, "http://") && !strings.HasPrefix(uri, "https://"):
		return "", glance.Errorf(glance.ErrBadRequest, "The given uri is not valid. Please specify a valid uri from the following list of supported uri ['http']")
	}
	if err := s.fetcher.Precheck(uri); err != nil {
		return "", glance.Errorf(glance.ErrBadRequest, "URI for legacy import task does not pass filtering: %s", webfetch.Redact(uri))
	}
	return uri, nil
}

// redactedInput is the input a task shows: import_from without the
// credentials it may carry, which are for the download only.
func redactedInput(in map[string]any, uri string) map[string]any {
	out := make(map[string]any, len(in))
	for k, v := range in {
		out[k] = v
	}
	out["import_from"] = webfetch.Redact(uri)
	return out
}

// runLegacyImport runs the import and records its outcome on the task.
func (s *Service) runLegacyImport(ctx context.Context, c Caller, task *glance.Task, input map[string]any, uri string) {
	task.Status, task.UpdatedAt = glance.TaskProcessing, s.stamp()
	if err := s.taskRepo.UpdateTask(ctx, task); err != nil {
		s.log.ErrorContext(ctx, "could not record that an import task started", "task", task.ID, "err", err)
	}
	if err := s.legacyImport(ctx, c, task, input, uri); err != nil {
		s.failLegacyImport(ctx, task, err)
		return
	}
	s.endTask(ctx, task, nil)
}

// legacyImport creates the image, records it on the task (so that a
// restart finds it), and fills it from uri: queued -> saving -> active.
func (s *Service) legacyImport(ctx context.Context, c Caller, task *glance.Task, input map[string]any, uri string) error {
	n, err := legacyImageProperties(input)
	if err != nil {
		return err
	}
	im, err := s.Create(ctx, c, n)
	if err != nil {
		return err
	}
	task.ImageID = im.ID
	if err := s.taskRepo.UpdateTask(ctx, task); err != nil {
		return err
	}
	saving, release, err := s.startSaving(ctx, im.ID)
	defer release()
	if err != nil {
		return err
	}
	m, err := s.quotas.startMeter(ctx, saving.OwnerID(), glance.LimitImageSizeTotal)
	if err != nil {
		s.abortUpload(ctx, saving)
		return err
	}
	err = s.legacyFill(ctx, saving, uri, m)
	m.done(err == nil)
	return err
}

// legacyFill downloads uri into the saving image through m (nil: no byte
// limit, as for uploads) and activates it.
func (s *Service) legacyFill(ctx context.Context, saving *glance.Image, uri string, m *meter) error {
	src, err := s.openImportSource(ctx, saving, ImportRequest{Method: glance.ImportWebDownload, URI: uri})
	if err != nil {
		s.abortUpload(ctx, saving)
		return err
	}
	ready, err := s.writeData(ctx, saving, m.reader(src), s.stores.defaultStore)
	src.Close()
	if err != nil {
		return m.quotaError(err)
	}
	_, err = s.activate(ctx, saving, ready)
	return err
}

// legacyImageProperties checks the input fields Glance's legacy import
// requires and reads image_properties by the image schema.
func legacyImageProperties(input map[string]any) (glance.NewImage, error) {
	for _, k := range []string{"import_from", "import_from_format", "image_properties"} {
		if _, ok := input[k]; !ok {
			return glance.NewImage{}, glance.Errorf(glance.ErrBadRequest, "Input does not contain '%s' field", k)
		}
	}
	props, ok := input["image_properties"].(map[string]any)
	if !ok {
		return glance.NewImage{}, glance.Errorf(glance.ErrBadRequest, "Input field 'image_properties' must be an object.")
	}
	return glance.NewImageFromJSON(props)
}

// failLegacyImport deletes the image a failed legacy import created, with
// any data it holds, and records the failure on the task.
func (s *Service) failLegacyImport(ctx context.Context, task *glance.Task, cause error) {
	if task.ImageID != "" {
		if err := s.deleteImported(ctx, task.ImageID); err != nil && !errors.Is(err, glance.ErrNotFound) {
			s.log.ErrorContext(ctx, "could not delete the image of a failed import task", "task", task.ID, "image", task.ImageID, "err", err)
		}
	}
	s.endTask(ctx, task, cause)
}

// deleteImported deletes an image and the data of its locations.
func (s *Service) deleteImported(ctx context.Context, id string) error {
	im, err := s.repo.Get(ctx, id)
	if err != nil {
		return err
	}
	if err := s.repo.Delete(ctx, id); err != nil {
		return err
	}
	for _, l := range im.Locations {
		s.removeBlob(ctx, l.Store, im.BlobKey)
	}
	return nil
}
