package service_test

import (
	"context"
	"errors"
	"testing"

	"imagestack/compute"
	"imagestack/compute/computetest"
	"imagestack/compute/service"
	"imagestack/policy"
)

// smallQuotas gives projects 3 instances, which the tests here run into.
var smallQuotas = computetest.WithQuotas(service.Quotas{Instances: 3, Cores: 10, RAM: 10000})

func TestSnapshotTaskStates(t *testing.T) {
	e := computetest.NewSetup(t, smallQuotas)
	ctx := context.Background()
	sv := e.Boot(t, e.Member)
	if sv.Status() != "ACTIVE" || sv.PowerState != compute.PowerRunning {
		t.Fatalf("after boot: %+v", sv)
	}
	snap, upload := e.Hypervisor.Hold("snapshot"), e.Images.Hold("upload")
	imageID, err := e.Service.CreateImage(ctx, e.Member, sv.ID, "snap", map[string]string{"k": "v"})
	if err != nil || imageID != "snap" {
		t.Fatalf("createImage: %v", err)
	}
	snap.Entered(t)
	e.WaitTask(t, sv.ID, compute.TaskImagePending)
	if _, err := e.Service.CreateImage(ctx, e.Member, sv.ID, "again", nil); !errors.Is(err, compute.ErrConflict) {
		t.Fatalf("a second snapshot during the first: %v", err)
	}
	snap.Release(nil)
	upload.Entered(t)
	e.WaitTask(t, sv.ID, compute.TaskImageUploading)
	upload.Release(nil)
	e.Service.Wait()
	e.WaitTask(t, sv.ID, compute.TaskNone)
	req := e.Images.Created()[0]
	if req.Properties["image_type"] != "snapshot" || req.Properties["instance_uuid"] != sv.ID || req.Properties["os_distro"] != "x" ||
		req.Properties["k"] != "v" || req.Properties["user_id"] != computetest.MemberCreds.UserID || req.DiskFormat != "qcow2" {
		t.Fatalf("snapshot image request: %+v", req)
	}
}

func TestStateChecksAndQuota(t *testing.T) {
	e := computetest.NewSetup(t, smallQuotas)
	ctx := context.Background()
	res, err := e.Service.Create(ctx, e.Member, service.CreateRequest{Name: "vm", ImageRef: "img", FlavorRef: "42", MinCount: 1, MaxCount: 5})
	if err != nil || len(res.Servers) != 3 {
		t.Fatalf("max_count is cut to the quota (3): %d %v", len(res.Servers), err)
	}
	e.Service.Wait()
	if _, err := e.Service.Create(ctx, e.Member, service.CreateRequest{Name: "more", ImageRef: "img", FlavorRef: "42", MinCount: 1, MaxCount: 1}); !errors.Is(err, compute.ErrOverQuota) {
		t.Fatalf("over quota: %v", err)
	}
	id := res.Servers[0].ID
	if err := e.Service.Start(ctx, e.Member, id); !errors.Is(err, compute.ErrConflict) {
		t.Fatalf("start an active server: %v", err)
	}
	if err := e.Service.Stop(ctx, e.Member, id); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if sv := e.Get(t, id); sv.Status() != "SHUTOFF" || sv.TaskState != compute.TaskNone {
		t.Fatalf("after stop: %+v", sv)
	}
	other := e.Service.NewCaller(policy.Credentials{UserID: "x", ProjectID: "other", Roles: []string{"member", "reader"}})
	if _, err := e.Service.Get(ctx, other, id); !errors.Is(err, compute.ErrNotFound) {
		t.Fatalf("another project's server: %v", err)
	}
	if err := e.Service.Delete(ctx, other, id); !errors.Is(err, compute.ErrNotFound) {
		t.Fatalf("deleting another project's server: %v", err)
	}
}
