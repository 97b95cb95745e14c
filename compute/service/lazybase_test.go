package service_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"imagestack/compute"
	"imagestack/compute/computetest"
	"imagestack/compute/service"
)

// fakeLazy starts every base as still arriving; its verification ends with
// what verdict sends.
type fakeLazy struct {
	verdict chan error
	head    []byte // what src returned for the first bytes
	booted  bool
}

func (f *fakeLazy) Booted()             { f.booted = true }
func (f *fakeLazy) Have(id string) bool { return false }
func (f *fakeLazy) Verified() error     { return <-f.verdict }

func (f *fakeLazy) Begin(ctx context.Context, imageID, checksum string, size int64,
	src func(ctx context.Context, off, n int64, w io.Writer) error) (string, *compute.LazyBase, compute.ArrivingBase, error) {
	var b bytes.Buffer
	if err := src(ctx, 0, 4, &b); err != nil {
		return "", nil, nil, err
	}
	f.head = b.Bytes()
	return "/nowhere/" + imageID, &compute.LazyBase{URL: "http://127.0.0.1:1/" + imageID, CookieName: "c", Cookie: "v"},
		f, nil
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal(what)
		}
	}
}

// A server boots on a base still arriving (the hypervisor gets its URL,
// the base's bytes come by Range reads) and stays ACTIVE once verified.
func TestLazyBaseBootsBeforeVerification(t *testing.T) {
	lazy := &fakeLazy{verdict: make(chan error)}
	e := computetest.NewSetup(t, computetest.WithLazyBases(lazy))
	sv, _ := createOne(t, e, service.CreateRequest{})
	spec := e.Hypervisor.Spec(sv.ID)
	if sv.Status() != "ACTIVE" || spec.LazyBase == nil || spec.BaseImage != "/nowhere/img" {
		t.Fatalf("server %s with spec %+v", sv.Status(), spec)
	}
	if !lazy.booted {
		t.Fatal("the background fill was not told the VM started")
	}
	if string(lazy.head) != string(computetest.ImageData[:4]) {
		t.Fatalf("the base's first bytes came as %q", lazy.head)
	}
	lazy.verdict <- nil
	e.Service.Wait()
	if got := e.Get(t, sv.ID); got.Status() != "ACTIVE" {
		t.Fatalf("after verification: %s %q", got.Status(), got.Fault)
	}
}

// A base that fails verification after its server booted puts the server
// in ERROR, VM stopped, with a fault saying why.
func TestLazyBaseFailedVerificationFailsServer(t *testing.T) {
	lazy := &fakeLazy{verdict: make(chan error)}
	e := computetest.NewSetup(t, computetest.WithLazyBases(lazy))
	sv, _ := createOne(t, e, service.CreateRequest{})
	lazy.verdict <- errors.New("image data checksum 00 does not match the image's checksum 11")
	waitFor(t, "the server did not go to ERROR", func() bool { return e.Get(t, sv.ID).Status() == "ERROR" })
	e.Service.Wait()
	got := e.Get(t, sv.ID)
	if !strings.Contains(got.Fault, "failed verification") || !strings.Contains(got.Fault, "does not match") {
		t.Fatalf("fault %q", got.Fault)
	}
	if p, _ := e.Hypervisor.PowerState(context.Background(), sv.ID); p != compute.PowerShutdown {
		t.Fatalf("the VM that read unverified data is %v, not stopped", p)
	}
}

// A snapshot of a server whose base is still arriving waits until the base
// is verified (qemu-img copies the disk through the base's local file).
func TestLazyBaseSnapshotWaitsForVerification(t *testing.T) {
	lazy := &fakeLazy{verdict: make(chan error)}
	e := computetest.NewSetup(t, computetest.WithLazyBases(lazy))
	sv, _ := createOne(t, e, service.CreateRequest{})
	if _, err := e.Service.CreateImage(context.Background(), e.Member, sv.ID, "snap", nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if got := e.Get(t, sv.ID); got.TaskState != compute.TaskImagePending {
		t.Fatalf("task %q before the base is verified, want %q", got.TaskState, compute.TaskImagePending)
	}
	lazy.verdict <- nil // the boot's watch and the snapshot's wait
	lazy.verdict <- nil
	e.Service.Wait()
	if got := e.Get(t, sv.ID); got.TaskState != compute.TaskNone || got.Status() != "ACTIVE" {
		t.Fatalf("after the snapshot: %s task %q fault %q", got.Status(), got.TaskState, got.Fault)
	}
}
