package service_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"imagestack/common/db/dbtest"
	"imagestack/compute"
	computedb "imagestack/compute/db"
	"imagestack/compute/imagecache"
	"imagestack/compute/service"
	"imagestack/policy"
)

var data = []byte("boot sector and more")

// fakeImages serves one active image and records snapshot uploads; Upload
// blocks until release is closed so tests can watch task states.
type fakeImages struct {
	release chan struct{}
	created []compute.NewImage
}

func (f *fakeImages) Get(_ context.Context, _ policy.Credentials, id string) (compute.ImageInfo, error) {
	if id != "img" {
		return compute.ImageInfo{}, compute.ErrNotFound
	}
	sum := md5.Sum(data)
	return compute.ImageInfo{ID: id, Status: "active", DiskFormat: "raw", Checksum: hex.EncodeToString(sum[:]), Size: int64(len(data)),
		Properties: map[string]string{"os_distro": "x", "image_type": "base"}}, nil
}

func (f *fakeImages) Download(_ context.Context, _ policy.Credentials, _ string, w io.Writer) error {
	_, err := w.Write(data)
	return err
}

func (f *fakeImages) Create(_ context.Context, _ policy.Credentials, req compute.NewImage) (string, error) {
	f.created = append(f.created, req)
	return "snap", nil
}

func (f *fakeImages) Upload(_ context.Context, _ policy.Credentials, _ string, r io.Reader) error {
	<-f.release
	_, err := io.Copy(io.Discard, r)
	return err
}

func (f *fakeImages) Delete(context.Context, policy.Credentials, string) error { return nil }

// fakeHV keeps power states in memory; Snapshot blocks until release.
type fakeHV struct {
	release chan struct{}
	mu      sync.Mutex
	state   map[string]compute.PowerState
}

func (h *fakeHV) set(id string, ps compute.PowerState) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.state[id] = ps
}

func (h *fakeHV) Spawn(_ context.Context, s compute.SpawnSpec) error {
	h.set(s.ServerID, compute.PowerRunning)
	return nil
}
func (h *fakeHV) Start(_ context.Context, id string) error {
	h.set(id, compute.PowerRunning)
	return nil
}
func (h *fakeHV) Stop(_ context.Context, id string) error {
	h.set(id, compute.PowerShutdown)
	return nil
}
func (h *fakeHV) Reboot(context.Context, string, bool) error { return nil }
func (h *fakeHV) Destroy(_ context.Context, id string) error {
	h.set(id, compute.PowerNoState)
	return nil
}
func (h *fakeHV) PowerState(_ context.Context, id string) (compute.PowerState, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.state[id], nil
}
func (h *fakeHV) ConsoleOutput(context.Context, string, int) (string, error) { return "", nil }
func (h *fakeHV) Rebuild(ctx context.Context, s compute.SpawnSpec) error     { return h.Spawn(ctx, s) }
func (h *fakeHV) Snapshot(_ context.Context, _ string, dst string) error {
	<-h.release
	return os.WriteFile(dst, []byte("qcow2"), 0o600)
}

func setup(t *testing.T) (*service.Service, *fakeHV, *fakeImages, service.Caller) {
	repo, err := computedb.New(dbtest.OpenSQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	cache, _ := imagecache.New(t.TempDir(), nil)
	enf, _ := policy.NewEnforcer("", policy.NovaDefaults)
	hv := &fakeHV{release: make(chan struct{}), state: map[string]compute.PowerState{}}
	im := &fakeImages{release: make(chan struct{})}
	svc := service.New(service.Deps{Flavors: repo, Servers: repo, KeyPairs: repo, Images: im, Hypervisor: hv, Cache: cache,
		SnapshotDir: t.TempDir(), Quotas: service.Quotas{Instances: 3, Cores: 10, RAM: 10000}}, enf, nil)
	if err := svc.EnsureDefaultFlavors(context.Background(), compute.DefaultFlavors); err != nil {
		t.Fatal(err)
	}
	c := svc.NewCaller(policy.Credentials{UserID: "u", ProjectID: "p", Roles: []string{"member", "reader"}})
	return svc, hv, im, c
}

func waitTask(t *testing.T, svc *service.Service, c service.Caller, id, task string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		sv, err := svc.Get(context.Background(), c, id)
		if err == nil && sv.TaskState == task {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("task_state %q never reached (now %+v, %v)", task, sv, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSnapshotTaskStates(t *testing.T) {
	svc, hv, im, c := setup(t)
	ctx := context.Background()
	res, err := svc.Create(ctx, c, service.CreateRequest{Name: "vm", ImageRef: "img", FlavorRef: "42", MinCount: 1, MaxCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	svc.Wait()
	id := res.Servers[0].ID
	if sv, _ := svc.Get(ctx, c, id); sv.Status() != "ACTIVE" || sv.PowerState != compute.PowerRunning {
		t.Fatalf("after boot: %+v", sv)
	}
	imageID, err := svc.CreateImage(ctx, c, id, "snap", map[string]string{"k": "v"})
	if err != nil || imageID != "snap" {
		t.Fatalf("createImage: %v", err)
	}
	waitTask(t, svc, c, id, compute.TaskImagePending)
	if _, err := svc.CreateImage(ctx, c, id, "again", nil); !errors.Is(err, compute.ErrConflict) {
		t.Fatalf("a second snapshot during the first: %v", err)
	}
	close(hv.release)
	waitTask(t, svc, c, id, compute.TaskImageUploading)
	close(im.release)
	svc.Wait()
	waitTask(t, svc, c, id, compute.TaskNone)
	req := im.created[0]
	if req.Properties["image_type"] != "snapshot" || req.Properties["instance_uuid"] != id || req.Properties["os_distro"] != "x" ||
		req.Properties["k"] != "v" || req.Properties["user_id"] != "u" || req.DiskFormat != "qcow2" {
		t.Fatalf("snapshot image request: %+v", req)
	}
}

func TestStateChecksAndQuota(t *testing.T) {
	svc, _, _, c := setup(t)
	ctx := context.Background()
	res, err := svc.Create(ctx, c, service.CreateRequest{Name: "vm", ImageRef: "img", FlavorRef: "42", MinCount: 1, MaxCount: 5})
	if err != nil || len(res.Servers) != 3 {
		t.Fatalf("max_count is cut to the quota (3): %d %v", len(res.Servers), err)
	}
	svc.Wait()
	if _, err := svc.Create(ctx, c, service.CreateRequest{Name: "more", ImageRef: "img", FlavorRef: "42", MinCount: 1, MaxCount: 1}); !errors.Is(err, compute.ErrOverQuota) {
		t.Fatalf("over quota: %v", err)
	}
	id := res.Servers[0].ID
	if err := svc.Start(ctx, c, id); !errors.Is(err, compute.ErrConflict) {
		t.Fatalf("start an active server: %v", err)
	}
	if err := svc.Stop(ctx, c, id); err != nil {
		t.Fatal(err)
	}
	svc.Wait()
	if sv, _ := svc.Get(ctx, c, id); sv.Status() != "SHUTOFF" || sv.TaskState != compute.TaskNone {
		t.Fatalf("after stop: %+v", sv)
	}
	other := svc.NewCaller(policy.Credentials{UserID: "x", ProjectID: "other", Roles: []string{"member", "reader"}})
	if _, err := svc.Get(ctx, other, id); !errors.Is(err, compute.ErrNotFound) {
		t.Fatalf("another project's server: %v", err)
	}
	if err := svc.Delete(ctx, other, id); !errors.Is(err, compute.ErrNotFound) {
		t.Fatalf("deleting another project's server: %v", err)
	}
}
