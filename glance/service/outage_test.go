package service_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"imagestack/glance"
	"imagestack/glance/service"
	"imagestack/storage"
)

// outageStore is a store that can be taken down: every call then fails
// with storage.ErrUnavailable, as a paused or stopped MinIO's do. With
// dropAck set, a Put stores the blob and then reports the outage, as when
// the store goes away before its answer arrives.
type outageStore struct {
	storage.Store
	down, dropAck atomic.Bool
}

var errDown = fmt.Errorf("%w: the store does not answer", storage.ErrUnavailable)

func (o *outageStore) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	if o.down.Load() {
		return 0, errDown
	}
	n, err := o.Store.Put(ctx, key, r)
	if err == nil && o.dropAck.Load() {
		o.down.Store(true)
		return n, errDown
	}
	return n, err
}

func (o *outageStore) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if o.down.Load() {
		return nil, errDown
	}
	return o.Store.Get(ctx, key, off, n)
}

func (o *outageStore) Stat(ctx context.Context, key string) (storage.Info, error) {
	if o.down.Load() {
		return storage.Info{}, errDown
	}
	return o.Store.Stat(ctx, key)
}

func (o *outageStore) Delete(ctx context.Context, key string) error {
	if o.down.Load() {
		return errDown
	}
	return o.Store.Delete(ctx, key)
}

func newOutageEnv(t *testing.T) (*env, *outageStore) {
	e := newEnv(t, 1<<30)
	o := &outageStore{Store: e.fs}
	e.store.Store = o
	return e, o
}

// TestDeleteWhileStoreDown: deleting an image whose store does not answer
// is 503 and changes nothing (the row would go and the data stay behind
// for good); once the store is back the delete removes both.
func TestDeleteWhileStoreDown(t *testing.T) {
	e, o := newOutageEnv(t)
	im := e.create(t, `{"name":"x","disk_format":"raw","container_format":"bare"}`)
	if _, err := e.svc.Upload(e.ctx, e.caller(ownerA), im.ID, bytes.NewReader(make([]byte, 4096)), ""); err != nil {
		t.Fatal(err)
	}
	o.down.Store(true)
	if err := e.svc.Delete(e.ctx, e.caller(ownerA), im.ID); !errors.Is(err, glance.ErrUnavailable) {
		t.Fatalf("delete with the store down: %v, want ErrUnavailable", err)
	}
	if got := e.status(t, im.ID); got != glance.StatusActive {
		t.Fatalf("image after a refused delete: %s", got)
	}
	o.down.Store(false)
	if err := e.svc.Delete(e.ctx, e.caller(ownerA), im.ID); err != nil {
		t.Fatal(err)
	}
	if n := e.blobs(t); n != 0 {
		t.Fatalf("%d blobs left after the delete", n)
	}
}

// TestFailedUploadCleanedUpWhenStoreReturns: an upload failed by a store
// outage whose data reached the store anyway cannot be removed at once; the
// image is queued at once all the same (the client may upload again), and
// once the store answers again the data goes, without a restart.
func TestFailedUploadCleanedUpWhenStoreReturns(t *testing.T) {
	defer service.SetRetryPauses(10*time.Millisecond, 50*time.Millisecond)()
	e, o := newOutageEnv(t)
	im := e.create(t, `{"name":"x","disk_format":"raw","container_format":"bare"}`)
	o.dropAck.Store(true)
	if _, err := e.svc.Upload(e.ctx, e.caller(ownerA), im.ID, bytes.NewReader(make([]byte, 4096)), ""); !errors.Is(err, glance.ErrUnavailable) {
		t.Fatalf("upload failed by the store: %v, want ErrUnavailable", err)
	}
	if got := e.status(t, im.ID); got != glance.StatusQueued {
		t.Fatalf("image after an upload failed by the store: %s, want queued", got)
	}
	if n := e.blobs(t); n != 1 {
		t.Fatalf("the store should still hold the data it could not delete: %d blobs", n)
	}
	o.dropAck.Store(false)
	o.down.Store(false)
	deadline := time.Now().Add(5 * time.Second)
	for e.status(t, im.ID) != glance.StatusQueued || e.blobs(t) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after the store came back: image %s, %d blobs", e.status(t, im.ID), e.blobs(t))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
