package service_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"imagestack/glance"
	"imagestack/glance/glancetest"
	"imagestack/glance/service"
)

// fixedLimits serves the same limits to every project.
type fixedLimits map[string]int64

func (f fixedLimits) ProjectLimits(_ context.Context, _ string, resources []string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, r := range resources {
		if l, ok := f[r]; ok {
			out[r] = l
		}
	}
	return out, nil
}

func limitedService(t *testing.T, limits fixedLimits, opts ...glancetest.Option) (*glancetest.Setup, *service.Service) {
	s := glancetest.NewSetup(t, opts...)
	return s, s.Rebuild(t, func(d *service.Deps, _ *service.Config) { d.Limits = limits })
}

func newRawImage(t *testing.T, svc *service.Service, c service.Caller) (*glance.Image, error) {
	t.Helper()
	name, disk, container := "q", "raw", "bare"
	return svc.Create(context.Background(), c, glance.NewImage{Name: &name, DiskFormat: &disk, ContainerFormat: &container})
}

// TestUploadStopsAtSizeLimit: an upload that would take the project past
// image_size_total stops with 413 at the limit (whole MiB, usage rounded
// down as Glance) and leaves the image queued with no data.
func TestUploadStopsAtSizeLimit(t *testing.T) {
	s, svc := limitedService(t, fixedLimits{glance.LimitImageSizeTotal: 1, glance.LimitImageCountTotal: 2})
	ctx, c := context.Background(), svc.NewCaller(ownerA)
	im, err := newRawImage(t, svc, c)
	if err != nil {
		t.Fatal(err)
	}
	src := &countingReader{r: bytes.NewReader(make([]byte, 3<<20))}
	_, err = svc.Upload(ctx, c, im.ID, src, "")
	if !errors.Is(err, glance.ErrTooLarge) || !strings.Contains(glance.Message(err), "Resource image_size_total is over limit of 1") {
		t.Fatalf("upload past the limit: %v", err)
	}
	if src.n > 2<<20 {
		t.Errorf("read %d bytes: the upload went on past the limit", src.n)
	}
	if got, _ := svc.Get(ctx, c, im.ID); got.Status != glance.StatusQueued || got.Size != nil {
		t.Fatalf("after 413: %s %v", got.Status, got.Size)
	}
	if blobs, _ := os.ReadDir(filepath.Join(s.StoreDir, "blobs")); len(blobs) != 0 || s.FS.TempFiles() != 0 {
		t.Fatalf("store holds %d blobs and %d temporary files", len(blobs), s.FS.TempFiles())
	}
	if _, err := svc.Upload(ctx, c, im.ID, bytes.NewReader(make([]byte, 2<<20-1)), ""); err != nil {
		t.Fatalf("upload of 2 MiB - 1 (1 MiB rounded down): %v", err)
	}
	if _, err := newRawImage(t, svc, c); err != nil {
		t.Fatal(err)
	}
	if _, err := newRawImage(t, svc, c); !errors.Is(err, glance.ErrTooLarge) {
		t.Fatalf("third image past image_count_total 2: %v", err)
	}
	u, err := svc.Usage(ctx, c)
	if err != nil || u[glance.LimitImageSizeTotal] != (service.QuotaUsage{Limit: 1, Usage: 1}) || u[glance.LimitImageStageTotal].Limit != -1 {
		t.Fatalf("usage: %v %v", u, err)
	}
}

// TestConcurrentUploadsShareTheLimit: uploads of one project running at once
// never store more than the limit between them.
func TestConcurrentUploadsShareTheLimit(t *testing.T) {
	_, svc := limitedService(t, fixedLimits{glance.LimitImageSizeTotal: 4})
	ctx, c := context.Background(), svc.NewCaller(ownerA)
	var wg sync.WaitGroup
	var mu sync.Mutex
	stored := int64(0)
	for range 4 {
		im, err := newRawImage(t, svc, c)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := svc.Upload(ctx, c, im.ID, bytes.NewReader(make([]byte, 2<<20)), "")
			if err == nil {
				mu.Lock()
				stored += *got.Size
				mu.Unlock()
			} else if !errors.Is(err, glance.ErrTooLarge) {
				t.Errorf("upload: %v", err)
			}
		}()
	}
	wg.Wait()
	if stored >= 5<<20 {
		t.Fatalf("%d bytes stored past a 4 MiB limit", stored)
	}
}

// TestImportStopsAtSizeLimit: a glance-direct import of staged data that
// would take the project past image_size_total fails its task with the 413
// message (as Glance's import flow refuses it), and the image is left
// queued with no data in the store.
func TestImportStopsAtSizeLimit(t *testing.T) {
	s := glancetest.NewSetup(t, glancetest.WithImport())
	svc := s.Rebuild(t, func(d *service.Deps, _ *service.Config) {
		d.Limits = fixedLimits{glance.LimitImageSizeTotal: 1}
	})
	e := &env{setup: s, svc: svc, repo: s.Repo, fs: s.FS, dir: s.StoreDir, ctx: context.Background()}
	im, task := e.importDirect(t, ownerA, `{"disk_format":"raw","container_format":"bare"}`, make([]byte, 3<<20))
	if task.Status != glance.TaskFailure || !strings.Contains(task.Message, "Resource image_size_total is over limit of 1") {
		t.Fatalf("import of 3 MiB past a 1 MiB limit: task %s %q", task.Status, task.Message)
	}
	if im.Status != glance.StatusQueued || im.Size != nil {
		t.Fatalf("after the refused import: %s %v", im.Status, im.Size)
	}
	if blobs, _ := os.ReadDir(filepath.Join(s.StoreDir, "blobs")); len(blobs) != 0 || s.FS.TempFiles() != 0 {
		t.Fatalf("store holds %d blobs and %d temporary files", len(blobs), s.FS.TempFiles())
	}
	u, err := svc.Usage(e.ctx, svc.NewCaller(ownerA))
	if err != nil || u[glance.LimitImageSizeTotal].Usage != 0 {
		t.Fatalf("usage after the refused import: %v %v", u, err)
	}
}

// TestWebDownloadCountsAsUploading: a web-download import is refused by
// image_count_uploading when the project already has as many images in
// upload as its limit allows, as Glance's import flow refuses it: the task
// fails with the 413 message and the image stays queued.
func TestWebDownloadCountsAsUploading(t *testing.T) {
	e, web := limitedWebEnv(t, fixedLimits{glance.LimitImageCountUploading: 1})
	c := e.caller(ownerA)
	staged := e.create(t, `{"disk_format":"raw","container_format":"bare"}`)
	if err := e.svc.Stage(e.ctx, c, staged.ID, bytes.NewReader(make([]byte, 4096))); err != nil {
		t.Fatal(err)
	}
	wd := e.create(t, `{"disk_format":"raw","container_format":"bare"}`)
	if _, err := e.svc.Import(e.ctx, c, wd.ID, service.ImportRequest{Method: glance.ImportWebDownload, URI: web + "/disk.raw"}, "r"); err != nil {
		t.Fatal(err)
	}
	im, task := e.finished(t, wd.ID)
	if task.Status != glance.TaskFailure || !strings.Contains(task.Message, "Resource image_count_uploading is over limit of 1") {
		t.Fatalf("web-download with one image already uploading: task %s %q", task.Status, task.Message)
	}
	if im.Status != glance.StatusQueued || im.Size != nil || e.blobs(t) != 0 {
		t.Fatalf("after the refused import: %s %v, %d blobs", im.Status, im.Size, e.blobs(t))
	}
}

// limitedWebEnv is legacyEnv (imports, a web server at the returned URL)
// with the service enforcing limits.
func limitedWebEnv(t *testing.T, limits fixedLimits) (*env, string) {
	e, web := legacyEnv(t, 1<<30)
	e.svc = e.setup.Rebuild(t, func(d *service.Deps, _ *service.Config) { d.Limits = limits })
	return e, web
}

// TestCopyImageHeldToUploadingLimit: copy-image is held to
// image_count_uploading (the image being copied counts, as in Glance): with
// another image of the project uploading and a limit of 1, the task fails
// with the 413 message and the image is as it was, in its one store, with
// no copy recorded as pending or failed.
func TestCopyImageHeldToUploadingLimit(t *testing.T) {
	m := newMultiEnv(t)
	im := m.activeImage(t, "a")
	m.svc = m.setup.Rebuild(t, func(d *service.Deps, _ *service.Config) {
		d.Limits = fixedLimits{glance.LimitImageCountUploading: 1}
	})
	staged := m.create(t, `{"disk_format":"raw","container_format":"bare"}`)
	if err := m.svc.Stage(m.ctx, m.caller(ownerA), staged.ID, bytes.NewReader(make([]byte, 4096))); err != nil {
		t.Fatal(err)
	}
	copyReq := service.ImportRequest{Method: glance.ImportCopyImage, Stores: []string{"b"}}
	task, err := m.svc.Import(m.ctx, m.caller(admin), im.ID, copyReq, "r")
	if err != nil {
		t.Fatal(err)
	}
	m.svc.WaitImports()
	if got, _ := m.svc.Task(m.ctx, m.caller(admin), task.ID); got == nil || got.Status != glance.TaskFailure ||
		!strings.Contains(got.Message, "Resource image_count_uploading is over limit of 1") {
		t.Fatalf("copy with one image already uploading: %+v", got)
	}
	got, _ := m.repo.Get(m.ctx, im.ID)
	if len(got.Locations) != 1 || got.Status != glance.StatusActive || m.bBlobs(t) != 0 ||
		got.Properties["os_glance_importing_to_stores"] != "" || got.Properties["os_glance_failed_import"] != "" {
		t.Fatalf("after the refused copy: %v %s %v, %d blobs in b", got.Locations, got.Status, got.Properties, m.bBlobs(t))
	}
}
