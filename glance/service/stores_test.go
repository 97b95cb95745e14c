package service_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"imagestack/glance"
	"imagestack/glance/glancetest"
	"imagestack/glance/service"
	"imagestack/storage/filesystem"
)

// multiEnv is env with a second filesystem store, "b", next to "a" (the
// default, which is e.fs behind the fault injector).
type multiEnv struct {
	*env
	b    *filesystem.Store
	bDir string
}

func newMultiEnv(t *testing.T) *multiEnv {
	t.Helper()
	aFS, aDir := glancetest.NewFS(t)
	fst := &faultyStore{Store: aFS, failAfter: -1}
	b, bDir := glancetest.NewFS(t)
	s := glancetest.NewSetup(t, glancetest.WithConfig(service.Config{SizeCap: 1 << 30}), glancetest.WithImport(),
		glancetest.WithStores("a",
			service.Backend{StoreInfo: service.StoreInfo{ID: "a", Type: "file"}, Store: fst},
			service.Backend{StoreInfo: service.StoreInfo{ID: "b", Type: "file"}, Store: b}))
	e := &env{setup: s, svc: s.Service, repo: s.Repo, fs: aFS, store: fst, dir: aDir, ctx: context.Background()}
	return &multiEnv{env: e, b: b, bDir: bDir}
}

func (m *multiEnv) bBlobs(t *testing.T) int {
	entries, err := os.ReadDir(filepath.Join(m.bDir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries) + m.b.TempFiles()
}

func (m *multiEnv) activeImage(t *testing.T, store string) *glance.Image {
	t.Helper()
	im := m.create(t, `{"disk_format":"raw","container_format":"bare"}`)
	if _, err := m.svc.Upload(m.ctx, m.caller(ownerA), im.ID, bytes.NewReader([]byte("some image data")), store); err != nil {
		t.Fatal(err)
	}
	got, err := m.repo.Get(m.ctx, im.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for " + what)
		}
	}
}

func TestUploadChoosesStore(t *testing.T) {
	m := newMultiEnv(t)
	im := m.activeImage(t, "b")
	if got := im.ActiveStores(); !slices.Equal(got, []string{"b"}) || m.bBlobs(t) != 1 || m.blobs(t) != 0 {
		t.Fatalf("upload to b: stores %v, %d blobs in b, %d in a", got, m.bBlobs(t), m.blobs(t))
	}
	im = m.activeImage(t, "")
	if got := im.ActiveStores(); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("upload to the default store: %v", got)
	}
	q := m.create(t, `{"disk_format":"raw","container_format":"bare"}`)
	_, err := m.svc.Upload(m.ctx, m.caller(ownerA), q.ID, bytes.NewReader([]byte("x")), "nowhere")
	if !errors.Is(err, glance.ErrBadRequest) || m.status(t, q.ID) != glance.StatusQueued {
		t.Fatalf("upload to an unknown store: %v", err)
	}
}

func TestCopyAndDeleteFromStore(t *testing.T) {
	m := newMultiEnv(t)
	im := m.activeImage(t, "a")
	copyReq := service.ImportRequest{Method: glance.ImportCopyImage, Stores: []string{"b"}}
	if _, err := m.svc.Import(m.ctx, m.caller(ownerA), im.ID, copyReq, "req-1"); !errors.Is(err, glance.ErrForbidden) {
		t.Fatalf("copy-image by the owner (admin-only by default): %v", err)
	}
	task, err := m.svc.Import(m.ctx, m.caller(admin), im.ID, copyReq, "req-2")
	if err != nil || task == nil {
		t.Fatalf("copy-image: %v %v", task, err)
	}
	m.svc.WaitImports()
	got, _ := m.repo.Get(m.ctx, im.ID)
	if !slices.Equal(got.ActiveStores(), []string{"a", "b"}) || got.Status != glance.StatusActive || got.Properties["os_glance_importing_to_stores"] != "" ||
		got.Properties["os_glance_import_task"] != "" {
		t.Fatalf("after copy: %v %s %v", got.ActiveStores(), got.Status, got.Properties)
	}
	// Already there: 400 when named, nothing to do with all_stores.
	if _, err := m.svc.Import(m.ctx, m.caller(admin), im.ID, copyReq, "req-3"); !errors.Is(err, glance.ErrBadRequest) {
		t.Fatalf("copy to a store that has the data: %v", err)
	}
	if task, err := m.svc.Import(m.ctx, m.caller(admin), im.ID, service.ImportRequest{Method: glance.ImportCopyImage, AllStores: true}, "req-4"); err != nil || task != nil {
		t.Fatalf("copy to all stores when all have it: %v %v", task, err)
	}

	// Removing data from a store: admin only; never the last copy.
	if err := m.svc.DeleteFromStore(m.ctx, m.caller(ownerA), "a", im.ID); !errors.Is(err, glance.ErrForbidden) {
		t.Fatalf("owner removing data from a store: %v", err)
	}
	if err := m.svc.DeleteFromStore(m.ctx, m.caller(admin), "nowhere", im.ID); !errors.Is(err, glance.ErrConflict) {
		t.Fatalf("unknown store: %v", err)
	}
	if err := m.svc.DeleteFromStore(m.ctx, m.caller(admin), "a", im.ID); err != nil {
		t.Fatal(err)
	}
	if m.blobs(t) != 0 || m.bBlobs(t) != 1 {
		t.Fatalf("after removing from a: %d blobs in a, %d in b", m.blobs(t), m.bBlobs(t))
	}
	// With one copy left Glance answers 403 whatever store is named.
	for _, st := range []string{"a", "b"} {
		if err := m.svc.DeleteFromStore(m.ctx, m.caller(admin), st, im.ID); !errors.Is(err, glance.ErrForbidden) {
			t.Fatalf("removing the last copy (naming %s): %v", st, err)
		}
	}
	rc, err := m.svc.ReadData(m.ctx, got, 0, -1) // got still lists a first: the read falls back to b
	if err != nil {
		t.Fatal(err)
	}
	data := new(bytes.Buffer)
	data.ReadFrom(rc)
	rc.Close()
	if data.String() != "some image data" {
		t.Fatalf("read after removing a: %q", data)
	}
	if err := m.svc.Delete(m.ctx, m.caller(ownerA), im.ID); err != nil {
		t.Fatal(err)
	}
	if m.blobs(t) != 0 || m.bBlobs(t) != 0 {
		t.Fatal("deleting the image left data")
	}
}

func TestImportTargets(t *testing.T) {
	m := newMultiEnv(t)
	newStaged := func() string {
		im := m.create(t, `{"disk_format":"raw","container_format":"bare"}`)
		if err := m.svc.Stage(m.ctx, m.caller(ownerA), im.ID, bytes.NewReader([]byte("staged data"))); err != nil {
			t.Fatal(err)
		}
		return im.ID
	}
	id := newStaged()
	for _, c := range []struct {
		name string
		req  service.ImportRequest
		want error
	}{
		{"all stores and stores", service.ImportRequest{Method: glance.ImportGlanceDirect, AllStores: true, Stores: []string{"a"}}, glance.ErrBadRequest},
		{"all stores and header", service.ImportRequest{Method: glance.ImportGlanceDirect, AllStores: true, HeaderStore: "a"}, glance.ErrBadRequest},
		{"stores and header", service.ImportRequest{Method: glance.ImportGlanceDirect, Stores: []string{"a"}, HeaderStore: "b"}, glance.ErrBadRequest},
		{"empty stores", service.ImportRequest{Method: glance.ImportGlanceDirect, Stores: []string{}}, glance.ErrBadRequest},
		{"unknown store", service.ImportRequest{Method: glance.ImportGlanceDirect, Stores: []string{"a", "nowhere"}}, glance.ErrConflict},
		{"unknown header store", service.ImportRequest{Method: glance.ImportGlanceDirect, HeaderStore: "nowhere"}, glance.ErrConflict},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := m.svc.Import(m.ctx, m.caller(ownerA), id, c.req, "r"); !errors.Is(err, c.want) {
				t.Errorf("%+v: got %v, want %v", c.req, err, c.want)
			}
		})
	}
	if m.status(t, id) != glance.StatusUploading {
		t.Fatal("a refused import changed the image")
	}
	if _, err := m.svc.Import(m.ctx, m.caller(ownerA), id, service.ImportRequest{Method: glance.ImportGlanceDirect, HeaderStore: "b"}, "r"); err != nil {
		t.Fatal(err)
	}
	m.svc.WaitImports()
	got, _ := m.repo.Get(m.ctx, id)
	if got.Status != glance.StatusActive || !slices.Equal(got.ActiveStores(), []string{"b"}) {
		t.Fatalf("import to the header's store: %s %v", got.Status, got.ActiveStores())
	}

	// A copy into b fails: with all stores required the import is undone.
	id = newStaged()
	m.store.failAfter, m.store.failWith = -1, nil
	failB := errors.New("b is broken")
	m.svc = m.setup.Rebuild(t, func(d *service.Deps, _ *service.Config) {
		d.Stores = []service.Backend{
			{StoreInfo: service.StoreInfo{ID: "a"}, Store: m.store},
			{StoreInfo: service.StoreInfo{ID: "b"}, Store: brokenStore{m.b, failB}},
		}
	})
	if _, err := m.svc.Import(m.ctx, m.caller(ownerA), id, service.ImportRequest{Method: glance.ImportGlanceDirect, AllStores: true}, "r"); err != nil {
		t.Fatal(err)
	}
	m.svc.WaitImports()
	got, _ = m.repo.Get(m.ctx, id)
	if got.Status != glance.StatusQueued || len(got.Locations) != 0 || got.Properties["os_glance_failed_import"] != "b" {
		t.Fatalf("failed import to all stores: %s %v %v", got.Status, got.Locations, got.Properties)
	}
	// Allowed to fail: active in a, b recorded as failed.
	id = newStaged()
	no := false
	if _, err := m.svc.Import(m.ctx, m.caller(ownerA), id, service.ImportRequest{Method: glance.ImportGlanceDirect, AllStores: true, AllStoresMustSucceed: &no}, "r"); err != nil {
		t.Fatal(err)
	}
	m.svc.WaitImports()
	got, _ = m.repo.Get(m.ctx, id)
	if got.Status != glance.StatusActive || !slices.Equal(got.ActiveStores(), []string{"a"}) || got.Properties["os_glance_failed_import"] != "b" ||
		got.Properties["os_glance_importing_to_stores"] != "" {
		t.Fatalf("import allowed to fail: %s %v %v", got.Status, got.ActiveStores(), got.Properties)
	}
	if n := m.bBlobs(t); n != 1 { // only the first test's image
		t.Fatalf("failed copies left data in b: %d blobs", n)
	}
}

// brokenStore fails every Put after reading a little.
type brokenStore struct {
	*filesystem.Store
	err error
}

func (b brokenStore) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	return b.Store.Put(ctx, key, &failingAfter{r: r, n: 3, err: b.err})
}

func TestRecoverInterruptedCopy(t *testing.T) {
	m := newMultiEnv(t)
	im := m.activeImage(t, "a")
	// A crash while copying to b: a pending location and partial data.
	if err := m.repo.AddLocation(m.ctx, im.ID, "b", glance.LocationPending); err != nil {
		t.Fatal(err)
	}
	if _, err := m.b.Put(m.ctx, im.BlobKey, strings.NewReader("partial")); err != nil {
		t.Fatal(err)
	}
	if _, err := m.svc.RecoverInterrupted(m.ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := m.repo.Get(m.ctx, im.ID)
	if len(got.Locations) != 1 || got.Locations[0].Store != "a" || m.bBlobs(t) != 0 || got.Status != glance.StatusActive {
		t.Fatalf("after recovery: %v, %d blobs in b", got.Locations, m.bBlobs(t))
	}
}

func TestSingleStoreHidesStores(t *testing.T) {
	e := newEnv(t, 1<<30)
	if _, _, err := e.svc.StoresInfo(e.caller(admin), false); !errors.Is(err, glance.ErrNotFound) {
		t.Fatalf("stores info with one store: %v", err)
	}
	if err := e.svc.DeleteFromStore(e.ctx, e.caller(admin), service.SingleStoreID, "x"); !errors.Is(err, glance.ErrNotFound) {
		t.Fatalf("delete from store with one store: %v", err)
	}
	if slices.Contains(e.svc.ImportMethods(), glance.ImportCopyImage) {
		t.Fatal("copy-image offered with one store")
	}
}

func TestRecoverInterruptedTask(t *testing.T) {
	m := newMultiEnv(t)
	im := m.activeImage(t, "a")
	task := &glance.Task{ID: "00000000-0000-0000-0000-00000000000t", Type: "api_image_import", Status: glance.TaskProcessing,
		Owner: "A", ImageID: im.ID, CreatedAt: time.Now(), UpdatedAt: time.Now(), Input: map[string]any{}, Result: map[string]any{}}
	if err := m.repo.CreateTask(m.ctx, task); err != nil {
		t.Fatal(err)
	}
	if _, err := m.repo.Update(m.ctx, im.ID, func(cur *glance.Image) error {
		cur.Properties["os_glance_import_task"] = task.ID
		cur.Properties["os_glance_importing_to_stores"] = "b"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// While the task runs, a copy-image is refused.
	if _, err := m.svc.Import(m.ctx, m.caller(admin), im.ID, service.ImportRequest{Method: glance.ImportCopyImage, Stores: []string{"b"}}, "r"); !errors.Is(err, glance.ErrConflict) {
		t.Fatalf("copy-image while another import runs: %v", err)
	}
	if _, err := m.svc.RecoverInterrupted(m.ctx); err != nil {
		t.Fatal(err)
	}
	got, err := m.repo.GetTask(m.ctx, task.ID)
	if err != nil || got.Status != glance.TaskFailure || !strings.Contains(got.Message, "restart") {
		t.Fatalf("interrupted task after recovery: %+v %v", got, err)
	}
	if cur, _ := m.repo.Get(m.ctx, im.ID); cur.Properties["os_glance_import_task"] != "" || cur.Properties["os_glance_importing_to_stores"] != "" ||
		cur.Properties["os_glance_failed_import"] != "b" {
		t.Fatalf("image of an interrupted task: %v", cur.Properties)
	}
}

// TestTruncatedBodyIsNotAnImage: an HTTP body cut short reports
// io.ErrUnexpectedEOF; that must fail the upload, not store a shorter image.
func TestTruncatedBodyIsNotAnImage(t *testing.T) {
	e := newEnv(t, 1<<30)
	im := e.create(t, `{"disk_format":"raw","container_format":"bare"}`)
	body := &failingAfter{r: bytes.NewReader(make([]byte, 3<<20)), n: 1<<20 + 7, err: io.ErrUnexpectedEOF}
	if _, err := e.svc.Upload(e.ctx, e.caller(ownerA), im.ID, body, ""); err == nil {
		t.Fatal("a truncated body was stored as a complete image")
	}
	if e.status(t, im.ID) != glance.StatusQueued || e.blobs(t) != 0 {
		t.Fatalf("after a truncated upload: %s, %d blobs", e.status(t, im.ID), e.blobs(t))
	}
}

// Data that was stored before the inspector existed (here: written behind
// the service's back) is checked when copied: an unsafe image is not copied.
func TestCopyChecksTheData(t *testing.T) {
	m := newMultiEnv(t)
	im := m.activeImage(t, "a")
	unsafe := []byte("# Disk DescriptorFile\ncreateType=\"monolithicFlat\"\nRW 2048 FLAT \"/etc/shadow\" 0\n")
	if err := m.fs.Delete(m.ctx, im.BlobKey); err != nil {
		t.Fatal(err)
	}
	if _, err := m.fs.Put(m.ctx, im.BlobKey, bytes.NewReader(unsafe)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.repo.Update(m.ctx, im.ID, func(cur *glance.Image) error {
		sum := md5.Sum(unsafe)
		cur.DiskFormat, cur.Checksum = ptr("vmdk"), ptr(hex.EncodeToString(sum[:]))
		size := int64(len(unsafe))
		cur.Size = &size
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.svc.Import(m.ctx, m.caller(admin), im.ID, service.ImportRequest{Method: glance.ImportCopyImage, Stores: []string{"b"}}, "r"); err != nil {
		t.Fatal(err)
	}
	m.svc.WaitImports()
	got, _ := m.repo.Get(m.ctx, im.ID)
	if !slices.Equal(got.ActiveStores(), []string{"a"}) || m.bBlobs(t) != 0 {
		t.Fatalf("an unsafe image was copied: stores %v, %d blobs in b", got.ActiveStores(), m.bBlobs(t))
	}
}

func ptr[T any](v T) *T { return &v }
