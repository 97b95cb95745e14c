package service_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gorm.io/gorm"

	"imagestack/common/db/dbtest"
	"imagestack/compute"
	"imagestack/compute/computetest"
	computedb "imagestack/compute/db"
	"imagestack/compute/imagecache"
	"imagestack/compute/service"
	"imagestack/policy"
)

// env is a compute service over a real repository, the fake hypervisor and
// image service, a member of project p and an admin of project adm.
type env struct {
	svc           *service.Service
	hv            *computetest.Hypervisor
	im            *computetest.Images
	member, admin service.Caller
}

type option func(*service.Deps, *string)

// withDB runs the service over gdb instead of a fresh SQLite database.
func withDB(gdb *gorm.DB) option {
	return func(d *service.Deps, _ *string) {
		repo, err := computedb.New(gdb)
		if err != nil {
			panic(err)
		}
		d.Flavors, d.Servers, d.KeyPairs = repo, repo, repo
	}
}

func withQuotas(q service.Quotas) option { return func(d *service.Deps, _ *string) { d.Quotas = q } }

func withProjects(p compute.Projects) option {
	return func(d *service.Deps, _ *string) { d.Projects = p }
}

// withPolicy overrides rules with a policy file holding yaml.
func withPolicy(t *testing.T, yaml string) option {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return func(_ *service.Deps, p *string) { *p = path }
}

func setup(t *testing.T, opts ...option) *env {
	t.Helper()
	e := &env{hv: computetest.NewHypervisor(), im: &computetest.Images{}}
	cache, err := imagecache.New(t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	deps := service.Deps{Images: e.im, Hypervisor: e.hv, Cache: cache, SnapshotDir: t.TempDir(),
		Quotas: service.Quotas{Instances: 3, Cores: 10, RAM: 10000}}
	policyFile := ""
	for _, o := range opts {
		o(&deps, &policyFile)
	}
	if deps.Servers == nil {
		withDB(dbtest.OpenSQLite(t))(&deps, &policyFile)
	}
	enf, err := policy.NewEnforcer(policyFile, compute.PolicyDefaults)
	if err != nil {
		t.Fatal(err)
	}
	e.svc = service.New(deps, computetest.DefinedRules(t, enf), slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(e.svc.Wait)
	if err := e.svc.EnsureDefaultFlavors(context.Background(), compute.DefaultFlavors); err != nil {
		t.Fatal(err)
	}
	e.member = e.svc.NewCaller(policy.Credentials{UserID: "u", ProjectID: "p", Roles: []string{"member", "reader"}})
	e.admin = e.svc.NewCaller(policy.Credentials{UserID: "a", ProjectID: "adm", Roles: []string{"admin", "member", "reader"}})
	return e
}

// boot creates one m1.nano server for c and waits for its boot to end.
func (e *env) boot(t *testing.T, c service.Caller) *compute.Server {
	t.Helper()
	res, err := e.svc.Create(context.Background(), c, service.CreateRequest{Name: "vm", ImageRef: "img", FlavorRef: "42", MinCount: 1, MaxCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	e.svc.Wait()
	return e.get(t, res.Servers[0].ID)
}

// get reads a server as an admin, deleted ones included.
func (e *env) get(t *testing.T, id string) *compute.Server {
	t.Helper()
	list, err := e.svc.List(context.Background(), e.admin, compute.ServerFilter{ChangesSince: &time.Time{}}, true, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, sv := range list {
		if sv.ID == id {
			return sv
		}
	}
	t.Fatalf("server %s not found", id)
	return nil
}

func waitTask(t *testing.T, e *env, id, task string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		sv := e.get(t, id)
		if sv.TaskState == task {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("task_state %q never reached (now %+v)", task, sv)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSnapshotTaskStates(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	sv := e.boot(t, e.member)
	if sv.Status() != "ACTIVE" || sv.PowerState != compute.PowerRunning {
		t.Fatalf("after boot: %+v", sv)
	}
	snap, upload := e.hv.Hold("snapshot"), e.im.Hold("upload")
	imageID, err := e.svc.CreateImage(ctx, e.member, sv.ID, "snap", map[string]string{"k": "v"})
	if err != nil || imageID != "snap" {
		t.Fatalf("createImage: %v", err)
	}
	snap.Entered(t)
	waitTask(t, e, sv.ID, compute.TaskImagePending)
	if _, err := e.svc.CreateImage(ctx, e.member, sv.ID, "again", nil); !errors.Is(err, compute.ErrConflict) {
		t.Fatalf("a second snapshot during the first: %v", err)
	}
	snap.Release(nil)
	upload.Entered(t)
	waitTask(t, e, sv.ID, compute.TaskImageUploading)
	upload.Release(nil)
	e.svc.Wait()
	waitTask(t, e, sv.ID, compute.TaskNone)
	req := e.im.Created()[0]
	if req.Properties["image_type"] != "snapshot" || req.Properties["instance_uuid"] != sv.ID || req.Properties["os_distro"] != "x" ||
		req.Properties["k"] != "v" || req.Properties["user_id"] != "u" || req.DiskFormat != "qcow2" {
		t.Fatalf("snapshot image request: %+v", req)
	}
}

func TestStateChecksAndQuota(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	res, err := e.svc.Create(ctx, e.member, service.CreateRequest{Name: "vm", ImageRef: "img", FlavorRef: "42", MinCount: 1, MaxCount: 5})
	if err != nil || len(res.Servers) != 3 {
		t.Fatalf("max_count is cut to the quota (3): %d %v", len(res.Servers), err)
	}
	e.svc.Wait()
	if _, err := e.svc.Create(ctx, e.member, service.CreateRequest{Name: "more", ImageRef: "img", FlavorRef: "42", MinCount: 1, MaxCount: 1}); !errors.Is(err, compute.ErrOverQuota) {
		t.Fatalf("over quota: %v", err)
	}
	id := res.Servers[0].ID
	if err := e.svc.Start(ctx, e.member, id); !errors.Is(err, compute.ErrConflict) {
		t.Fatalf("start an active server: %v", err)
	}
	if err := e.svc.Stop(ctx, e.member, id); err != nil {
		t.Fatal(err)
	}
	e.svc.Wait()
	if sv := e.get(t, id); sv.Status() != "SHUTOFF" || sv.TaskState != compute.TaskNone {
		t.Fatalf("after stop: %+v", sv)
	}
	other := e.svc.NewCaller(policy.Credentials{UserID: "x", ProjectID: "other", Roles: []string{"member", "reader"}})
	if _, err := e.svc.Get(ctx, other, id); !errors.Is(err, compute.ErrNotFound) {
		t.Fatalf("another project's server: %v", err)
	}
	if err := e.svc.Delete(ctx, other, id); !errors.Is(err, compute.ErrNotFound) {
		t.Fatalf("deleting another project's server: %v", err)
	}
}
