package service_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"imagestack/glance"
	"imagestack/glance/glancetest"
	"imagestack/glance/service"
	"imagestack/glance/webfetch"
)

// legacyEnv is a service with imports whose fetcher may reach loopback,
// and a web server with 4 KiB of data at /disk.raw.
func legacyEnv(t *testing.T, sizeCap int64) (*env, string) {
	t.Helper()
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/disk.raw" {
			http.NotFound(w, r)
			return
		}
		w.Write(bytes.Repeat([]byte("legacy!!"), 512))
	}))
	t.Cleanup(web.Close)
	f := webfetch.New(webfetch.Policy{AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	return newEnv(t, sizeCap, glancetest.WithImport(), glancetest.WithFetcher(f)), web.URL
}

func legacyTask(from string) service.NewTask {
	return service.NewTask{Type: glance.TaskTypeImport, Input: map[string]any{"import_from": from, "import_from_format": "raw",
		"image_properties": map[string]any{"name": "legacy", "disk_format": "raw", "container_format": "bare"}}}
}

// TestLegacyImportTaskAndExpiry: the task makes an active image, ends with
// expires_at 48 hours on, and once that has passed it no longer shows or
// lists, and the cleanup deletes it.
func TestLegacyImportTaskAndExpiry(t *testing.T) {
	e, web := legacyEnv(t, 1<<30)
	now := time.Now()
	service.SetClock(e.svc, func() time.Time { return now })
	c := e.caller(admin)
	task, err := e.svc.CreateTask(e.ctx, c, legacyTask(web+"/disk.raw"), "req-1")
	if err != nil {
		t.Fatal(err)
	}
	e.svc.WaitImports()
	got, err := e.svc.Task(e.ctx, c, task.ID)
	if err != nil || got.Status != glance.TaskSuccess || got.ExpiresAt == nil || got.ExpiresAt.Sub(got.UpdatedAt) != 48*time.Hour {
		t.Fatalf("task after the import: %+v %v", got, err)
	}
	if s := e.status(t, got.ImageID); s != glance.StatusActive || got.Result["image_id"] != got.ImageID {
		t.Fatalf("image %s is %s, result %v", got.ImageID, s, got.Result)
	}
	if _, err := e.svc.Task(e.ctx, e.caller(ownerA), task.ID); !errors.Is(err, glance.ErrForbidden) {
		t.Fatalf("a member reads a task: %v", err)
	}
	now = now.Add(49 * time.Hour)
	if _, err := e.svc.Task(e.ctx, c, task.ID); !errors.Is(err, glance.ErrNotFound) {
		t.Fatalf("expired task shown: %v", err)
	}
	if ts, err := e.svc.Tasks(e.ctx, c, glance.TaskQuery{}); err != nil || len(ts) != 0 {
		t.Fatalf("expired task listed: %v %v", ts, err)
	}
	if n, err := e.svc.CleanExpiredTasks(e.ctx); n != 1 || err != nil {
		t.Fatalf("cleanup deleted %d: %v", n, err)
	}
	if _, err := e.repo.GetTask(e.ctx, task.ID); !errors.Is(err, glance.ErrNotFound) {
		t.Fatalf("expired task kept: %v", err)
	}
}

// TestFailedLegacyImportLeavesNothing: data over the size cap, and a
// restart in the middle, both fail the task and delete its image and data.
func TestFailedLegacyImportLeavesNothing(t *testing.T) {
	e, web := legacyEnv(t, 1000)
	c := e.caller(admin)
	task, err := e.svc.CreateTask(e.ctx, c, legacyTask(web+"/disk.raw"), "req-1")
	if err != nil {
		t.Fatal(err)
	}
	e.svc.WaitImports()
	got, _ := e.repo.GetTask(e.ctx, task.ID)
	if _, err := e.repo.Get(e.ctx, got.ImageID); got.Status != glance.TaskFailure || !errors.Is(err, glance.ErrNotFound) || e.blobs(t) != 0 {
		t.Fatalf("task %+v; image: %v; %d blobs", got, err, e.blobs(t))
	}

	im := e.create(t, `{"disk_format":"raw","container_format":"bare"}`)
	now := time.Now().UTC().Truncate(time.Second)
	running := &glance.Task{ID: "11111111-2222-3333-4444-555555555555", Type: glance.TaskTypeImport, Status: glance.TaskProcessing,
		Owner: "Z", ImageID: im.ID, CreatedAt: now, UpdatedAt: now}
	if err := e.repo.CreateTask(e.ctx, running); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RecoverInterrupted(e.ctx); err != nil {
		t.Fatal(err)
	}
	got, _ = e.repo.GetTask(e.ctx, running.ID)
	if _, err := e.repo.Get(e.ctx, im.ID); got.Status != glance.TaskFailure || got.ExpiresAt == nil || !errors.Is(err, glance.ErrNotFound) {
		t.Fatalf("interrupted task %+v; image: %v", got, err)
	}
}

// TestLegacyImportCountsAgainstSizeLimit: a legacy import task is held to
// image_size_total as uploads are: with the project at its limit the task
// fails with the 413 message and its image is deleted with no data left.
func TestLegacyImportCountsAgainstSizeLimit(t *testing.T) {
	e, web := limitedWebEnv(t, fixedLimits{glance.LimitImageSizeTotal: 1})
	c := e.caller(admin)
	name, disk, container := "full", "raw", "bare"
	full, err := e.svc.Create(e.ctx, c, glance.NewImage{Name: &name, DiskFormat: &disk, ContainerFormat: &container})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Upload(e.ctx, c, full.ID, bytes.NewReader(make([]byte, 2<<20-1)), ""); err != nil {
		t.Fatal(err)
	}
	task, err := e.svc.CreateTask(e.ctx, c, legacyTask(web+"/disk.raw"), "req-1")
	if err != nil {
		t.Fatal(err)
	}
	e.svc.WaitImports()
	got, err := e.svc.Task(e.ctx, c, task.ID)
	if err != nil || got.Status != glance.TaskFailure || !strings.Contains(got.Message, "Resource image_size_total is over limit of 1") {
		t.Fatalf("legacy import past the limit: %+v %v", got, err)
	}
	if _, err := e.repo.Get(e.ctx, got.ImageID); !errors.Is(err, glance.ErrNotFound) || e.blobs(t) != 1 {
		t.Fatalf("image of the refused task: %v, %d blobs (1 expected: the first image's)", err, e.blobs(t))
	}
}

// TestTaskNotFoundMessage: a task that does not exist (or expired) is 404
// "Could not find task X", as Glance words it.
func TestTaskNotFoundMessage(t *testing.T) {
	e, _ := legacyEnv(t, 1<<30)
	const id = "0b7e8a55-94c8-4a1a-9a5e-6c2f5b0c7f11"
	_, err := e.svc.Task(e.ctx, e.caller(admin), id)
	var ge *glance.Error
	if !errors.As(err, &ge) || !errors.Is(err, glance.ErrNotFound) || ge.Msg != "Could not find task "+id {
		t.Fatalf("missing task: %v", err)
	}
}

// TestLegacyTaskInputTooLarge: an input larger than the task's column
// holds is 400 before anything is made, not a database error (500 on
// MariaDB).
func TestLegacyTaskInputTooLarge(t *testing.T) {
	e, web := legacyEnv(t, 1<<30)
	nt := legacyTask(web + "/disk.raw")
	nt.Input["image_properties"].(map[string]any)["description"] = string(bytes.Repeat([]byte("d"), 70000))
	if _, err := e.svc.CreateTask(e.ctx, e.caller(admin), nt, "req-1"); !errors.Is(err, glance.ErrBadRequest) {
		t.Fatalf("huge input: %v", err)
	}
	e.svc.WaitImports()
	if ts, err := e.svc.Tasks(e.ctx, e.caller(admin), glance.TaskQuery{}); err != nil || len(ts) != 0 {
		t.Fatalf("tasks made: %v %v", ts, err)
	}
}
