package service_test

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"imagestack/glance/glancetest"
	"imagestack/storage"
	"imagestack/storage/filesystem"
)

// gatedDelete holds the store's Delete until released, once armed.
type gatedDelete struct {
	storage.Store
	entered, release chan struct{}
}

func (g *gatedDelete) Delete(ctx context.Context, key string) error {
	if g.entered != nil {
		close(g.entered)
		<-g.release
	}
	return g.Store.Delete(ctx, key)
}

// TestDeleteDuringCacheFillLeavesNoEntry: a download that loaded the image
// just before it was deleted, and fills the cache while the delete removes
// the data, leaves nothing cached once the delete is done: the deleted
// image is neither listed by GET /v2/cache nor holding cache space.
func TestDeleteDuringCacheFillLeavesNoEntry(t *testing.T) {
	var gate *gatedDelete
	s := glancetest.NewSetup(t, glancetest.WithCache(1<<30), glancetest.WithStore(func(fs *filesystem.Store) storage.Store {
		gate = &gatedDelete{Store: fs}
		return gate
	}))
	e := &env{setup: s, svc: s.Service, repo: s.Repo, fs: s.FS, dir: s.StoreDir, ctx: context.Background()}
	im := e.create(t, `{"disk_format":"raw","container_format":"bare"}`)
	c := e.caller(ownerA)
	data := bytes.Repeat([]byte("x"), 1<<20)
	if _, err := e.svc.Upload(e.ctx, c, im.ID, bytes.NewReader(data), ""); err != nil {
		t.Fatal(err)
	}
	loaded, err := e.svc.Get(e.ctx, c, im.ID)
	if err != nil {
		t.Fatal(err)
	}
	gate.entered, gate.release = make(chan struct{}), make(chan struct{})
	deleted := make(chan error, 1)
	go func() { deleted <- e.svc.Delete(e.ctx, c, im.ID) }()
	<-gate.entered // the image is deleted and uncached; its data is going
	rc, err := e.svc.ReadData(e.ctx, loaded, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("download: %d bytes, %v", len(got), err)
	}
	for end := time.Now().Add(5 * time.Second); !s.Cache.Has(im.ID) && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	close(gate.release)
	if err := <-deleted; err != nil {
		t.Fatal(err)
	}
	if s.Cache.Has(im.ID) || s.Cache.Used() != 0 {
		t.Fatalf("after the delete the cache holds the image: %v, %d bytes", s.Cache.Has(im.ID), s.Cache.Used())
	}
}
