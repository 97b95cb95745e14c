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

	"imagestack/common/metrics"
	"imagestack/glance"
	"imagestack/glance/webfetch"
	"imagestack/storage"
)

// importState is the import half of the service.
type importState struct {
	staging storage.Store
	fetcher *webfetch.Fetcher
	plugins ImportPlugins
	running sync.WaitGroup
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
	if err := s.quotas.enforce(ctx, im.OwnerID(), glance.LimitImageSizeTotal, 0); err != nil {
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
	from, err := s.importFrom(im.Image, req)
	if err != nil {
		return nil, err
	}
	if im.DiskFormat == nil || im.ContainerFormat == nil {
		return nil, glance.Errorf(glance.ErrBadRequest, "Properties disk_format, container_format must be set prior to importing data.")
	}
	task := s.newImportTask(c, id, requestID, importInput(id, req, targets))
	releaseTask, err := s.createLeasedTask(ctx, task)
	if err != nil {
		return nil, err
	}
	importing, releaseUpload, err := s.startImporting(ctx, im.Image, from, task, targets)
	if err != nil {
		releaseTask()
		return nil, err
	}
	inject := s.plugins.injectFor(c)
	s.running.Add(1)
	go func() {
		defer s.running.Done()
		defer releaseTask()
		defer releaseUpload()
		defer s.waitUploadSlot()()
		defer metrics.ImageTaskRunning()()
		s.runImport(context.WithoutCancel(ctx), task, importing, req, targets, inject)
	}()
	return task, nil
}

// importFrom checks that the method suits the image's status, which it
// returns: the status the import starts from.
func (s *Service) importFrom(im *glance.Image, req ImportRequest) (string, error) {
	switch req.Method {
	case glance.ImportGlanceDirect:
		if im.Status != glance.StatusUploading {
			return "", glance.Errorf(glance.ErrConflict, "Image needs to be staged before 'glance-direct' method can be used")
		}
		return glance.StatusUploading, nil
	case glance.ImportWebDownload:
		if im.Status != glance.StatusQueued {
			return "", glance.Errorf(glance.ErrConflict, "Image needs to be in 'queued' state to use 'web-download' method")
		}
		return glance.StatusQueued, precheckURI(req.URI)
	case glance.ImportCopyImage:
		return "", glance.Errorf(glance.ErrBadRequest, "Import method copy-image needs several stores; only one is configured.")
	}
	return "", glance.Errorf(glance.ErrBadRequest, "Import method %q is not supported: use %s.", req.Method, strings.Join(s.ImportMethods(), " or "))
}

// newImportTask is a pending import task of image id.
func (s *Service) newImportTask(c Caller, id, requestID string, input map[string]any) *glance.Task {
	now := s.stamp()
	return &glance.Task{ID: uuid.NewString(), Type: glance.TaskTypeImageImport, Status: glance.TaskPending, Owner: c.Project(),
		UserID: c.Creds.UserID, ImageID: id, RequestID: requestID, CreatedAt: now, UpdatedAt: now,
		Input: input, Result: map[string]any{}}
}

// startImporting takes the upload lease on the image and moves it from
// status from to importing, taking the import lock for task; the task
// fails when the image changed meanwhile. release, never nil, drops the
// lease once the image has left importing.
func (s *Service) startImporting(ctx context.Context, im *glance.Image, from string, task *glance.Task, targets []string) (
	importing *glance.Image, release func(), err error) {
	key := blobKey(im.ID)
	release, err = s.hold(ctx, glance.LeaseUpload, im.ID, key)
	if err == nil {
		importing, err = s.transition(ctx, im.ID, from, func(cur *glance.Image) error {
			if !sameFormats(cur, im) {
				return glance.Errorf(glance.ErrConflict, "Image %s changed meanwhile; retry.", im.ID)
			}
			cur.Status, cur.BlobKey = glance.StatusImporting, key
			cur.Properties["os_glance_import_task"] = task.ID
			cur.Properties["os_glance_importing_to_stores"] = s.storeList(targets)
			cur.Properties["os_glance_failed_import"] = ""
			return nil
		})
	}
	if err != nil {
		release()
		s.finishTask(context.WithoutCancel(ctx), task, fmt.Errorf("image changed state: %w", err))
		if errors.Is(err, glance.ErrConflict) {
			return nil, func() {}, glance.Errorf(glance.ErrConflict, "Image %s changed state meanwhile", im.ID)
		}
		return nil, func() {}, err
	}
	return importing, release, nil
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
// The import plugins run on the data on its way to the first store; what
// they change on the image is made when it becomes active.
func (s *Service) runImport(ctx context.Context, task *glance.Task, im *glance.Image, req ImportRequest, targets []string, inject map[string]string) {
	task.Status, task.UpdatedAt = glance.TaskProcessing, s.stamp()
	_ = s.taskRepo.UpdateTask(ctx, task)
	m, err := s.importMeter(ctx, im, req)
	var ready *glance.Image
	var edit func(*glance.Image)
	if err == nil {
		ready, edit, err = s.importFirst(ctx, im, req, targets[0], inject, m)
	} else {
		s.abortUpload(ctx, im)
	}
	if req.Method == glance.ImportGlanceDirect {
		_ = s.staging.Delete(ctx, im.ID)
	}
	if err != nil {
		m.done(false)
		s.markFailedImport(ctx, im.ID, targets[0])
		s.finishTask(ctx, task, err)
		return
	}
	s.endStoreImport(ctx, im.ID, targets[0], true)
	if req.mustSucceed() {
		err = s.copyThenActivate(ctx, im, ready, targets, edit)
	} else {
		err = s.activateThenCopy(ctx, im, ready, targets[1:], edit)
	}
	m.done(err == nil)
	s.finishTask(ctx, task, err)
}

// importMeter checks the limits a web-download must be within before its
// data flows, as Glance's import flow does (it uses staging space and its
// image counts as uploading), and starts metering the import's data against
// image_size_total, as an upload's is: no import takes the project past it.
func (s *Service) importMeter(ctx context.Context, im *glance.Image, req ImportRequest) (*meter, error) {
	if req.Method == glance.ImportWebDownload {
		for _, r := range []string{glance.LimitImageStageTotal, glance.LimitImageCountUploading} {
			if err := s.quotas.enforce(ctx, im.OwnerID(), r, 0); err != nil {
				return nil, err
			}
		}
	}
	return s.quotas.startMeter(ctx, im.OwnerID(), glance.LimitImageSizeTotal)
}

// importFirst writes the import's data, through the plugins and m (nil: no
// byte limit), into store: the image ready to activate and the plugins'
// changes to make then.
func (s *Service) importFirst(ctx context.Context, im *glance.Image, req ImportRequest, store string, inject map[string]string, m *meter) (*glance.Image, func(*glance.Image), error) {
	src, err := s.openImportSource(ctx, im, req)
	var res *pluginResult
	if err == nil && len(s.plugins.Enabled) > 0 {
		res, err = s.runPlugins(ctx, im, src, inject)
	} else if err == nil {
		res = &pluginResult{data: src, im: im}
	}
	if err != nil {
		s.abortUpload(ctx, im)
		return nil, nil, err
	}
	defer res.data.Close()
	ready, err := s.writeData(ctx, res.im, m.reader(res.data), store)
	return ready, res.edit, m.quotaError(err)
}

// openImportSource opens the data an import reads: the staged data, or the
// web-download URL.
func (s *Service) openImportSource(ctx context.Context, im *glance.Image, req ImportRequest) (io.ReadCloser, error) {
	if req.Method == glance.ImportGlanceDirect {
		return s.staging.Get(ctx, im.ID, 0, -1)
	}
	src, err := s.fetcher.Open(ctx, req.URI, s.cfg.SizeCap)
	if errors.Is(err, webfetch.ErrTooLarge) {
		err = errTooLarge
	}
	return src, err
}

// copyThenActivate copies the data from the first target to the others,
// then activates the image; any failed copy undoes the whole import.
func (s *Service) copyThenActivate(ctx context.Context, im, ready *glance.Image, targets []string, edit func(*glance.Image)) error {
	for _, store := range targets[1:] {
		err := s.repo.AddLocation(ctx, im.ID, store, glance.LocationPending)
		if err == nil {
			err = s.copyToStore(ctx, ready, []string{targets[0]}, store)
		}
		if err != nil {
			s.abortUpload(ctx, ready)
			s.markFailedImport(ctx, im.ID, store)
			return fmt.Errorf("copying the data to store %s: %w", store, err)
		}
		ready.Locations = append(ready.Locations, glance.Location{Store: store, Status: glance.LocationActive})
		s.endStoreImport(ctx, im.ID, store, true)
	}
	_, err := s.activateWith(ctx, im, ready, edit)
	return err
}

// activateThenCopy activates the image with its first store, then copies
// the data to the rest, only recording failed copies.
func (s *Service) activateThenCopy(ctx context.Context, im, ready *glance.Image, rest []string, edit func(*glance.Image)) error {
	active, err := s.activateWith(ctx, im, ready, edit)
	if err != nil {
		return err
	}
	var pending []string
	for _, store := range rest {
		release, err := s.reserveLocations(ctx, active, []string{store})
		if err != nil {
			s.log.ErrorContext(ctx, "copying image data to a store failed", "image", im.ID, "store", store, "err", err)
			s.endStoreImport(ctx, im.ID, store, false)
			continue
		}
		defer release()
		pending = append(pending, store)
	}
	s.copyPending(ctx, active, pending)
	return nil
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
