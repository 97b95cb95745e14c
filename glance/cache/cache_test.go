package cache_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"imagestack/glance/cache"
)

// store is a fake image store: it serves data, counts the reads of whole
// images, and can hold a read back until released, or fail it midway.
type store struct {
	data    map[string][]byte
	opens   atomic.Int64
	gate    chan struct{} // non-nil: a whole read stops after 1 KiB until closed
	failAt  int64         // >0: a whole read fails after that many bytes
	corrupt bool          // whole reads return other bytes of the same size
}

func (s *store) open(id string) cache.Opener {
	return func(ctx context.Context, offset, length int64) (io.ReadCloser, error) {
		d := s.data[id]
		if length < 0 {
			length = int64(len(d)) - offset
		}
		part := d[offset : offset+length]
		if offset != 0 || length != int64(len(d)) {
			return io.NopCloser(bytes.NewReader(part)), nil
		}
		s.opens.Add(1)
		if s.corrupt {
			part = bytes.Clone(part)
			part[len(part)/2] ^= 0xff
		}
		var r io.Reader = bytes.NewReader(part)
		if s.gate != nil {
			r = io.MultiReader(bytes.NewReader(part[:1024]), &gated{gate: s.gate, r: bytes.NewReader(part[1024:])})
		}
		if s.failAt > 0 {
			r = io.MultiReader(io.LimitReader(r, s.failAt), iotestErr{})
		}
		return io.NopCloser(r), nil
	}
}

type gated struct {
	gate chan struct{}
	r    io.Reader
}

func (g *gated) Read(p []byte) (int, error) { <-g.gate; return g.r.Read(p) }

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errors.New("store connection reset") }

func newImage(t *testing.T, s *store, id string, size int) cache.Image {
	t.Helper()
	d := make([]byte, size)
	rand.Read(d)
	if s.data == nil {
		s.data = map[string][]byte{}
	}
	s.data[id] = d
	m, h := md5.Sum(d), sha512.Sum512(d)
	return cache.Image{ID: id, Size: int64(size), MD5: hex.EncodeToString(m[:]), SHA512: hex.EncodeToString(h[:])}
}

func newCache(t *testing.T, dir string, max int64) *cache.Cache {
	t.Helper()
	c, err := cache.New(dir, max, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// readAll reads the image through the cache and returns what came.
func readAll(t *testing.T, c *cache.Cache, s *store, im cache.Image, offset, length int64) ([]byte, error) {
	t.Helper()
	r, err := c.Read(context.Background(), im, offset, length, s.open(im.ID))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var buf bytes.Buffer
	_, err = io.Copy(&buf, r)
	return buf.Bytes(), err
}

func TestConcurrentReadersFetchOnce(t *testing.T) {
	s := &store{gate: make(chan struct{})}
	c := newCache(t, t.TempDir(), 1<<30)
	im := newImage(t, s, "img1", 3<<20+17)
	const readers = 8
	var wg sync.WaitGroup
	got := make([][]byte, readers)
	errs := make([]error, readers)
	for i := range readers {
		wg.Add(1)
		go func() { defer wg.Done(); got[i], errs[i] = readAll(t, c, s, im, 0, -1) }()
	}
	time.Sleep(200 * time.Millisecond) // every reader waits on the one fill
	close(s.gate)
	wg.Wait()
	for i := range readers {
		if errs[i] != nil || !bytes.Equal(got[i], s.data["img1"]) {
			t.Fatalf("reader %d: %d bytes, err %v", i, len(got[i]), errs[i])
		}
	}
	if n := s.opens.Load(); n != 1 {
		t.Fatalf("the store was read %d times for %d concurrent readers, want once", n, readers)
	}
	waitFor(t, func() bool { return c.Has("img1") })
	if b, err := readAll(t, c, s, im, 0, -1); err != nil || !bytes.Equal(b, s.data["img1"]) || s.opens.Load() != 1 {
		t.Fatalf("warm read: %d bytes, err %v, store reads %d", len(b), err, s.opens.Load())
	}
	if e := c.List(); len(e) != 1 || e[0].Hits != 1 || e[0].Size != im.Size {
		t.Fatalf("entries: %+v", e)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for i := 0; i < 500 && !ok(); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if !ok() {
		t.Fatal("condition not reached in 5 s")
	}
}

func TestRangesAndFollowersServeExactBytes(t *testing.T) {
	s := &store{gate: make(chan struct{})}
	c := newCache(t, t.TempDir(), 1<<30)
	im := newImage(t, s, "img1", 2<<20)
	d := s.data["img1"]
	// A range of an image nobody is caching comes from the store, uncached.
	if b, err := readAll(t, c, s, im, 10, 100); err != nil || !bytes.Equal(b, d[10:110]) || c.Fetches() != 0 {
		t.Fatalf("range before caching: %v, fetches %d", err, c.Fetches())
	}
	var full []byte
	done := make(chan error)
	go func() { var err error; full, err = readAll(t, c, s, im, 0, -1); done <- err }()
	waitFor(t, func() bool { return c.Fetches() == 1 })
	// A range during the fill follows it.
	tail := make(chan []byte)
	go func() { b, _ := readAll(t, c, s, im, im.Size-5000, -1); tail <- b }()
	time.Sleep(50 * time.Millisecond)
	close(s.gate)
	if err := <-done; err != nil || !bytes.Equal(full, d) {
		t.Fatalf("full read: %v", err)
	}
	if b := <-tail; !bytes.Equal(b, d[len(d)-5000:]) {
		t.Fatalf("tail range during the fill: %d bytes", len(b))
	}
	waitFor(t, func() bool { return c.Has("img1") })
	if b, err := readAll(t, c, s, im, 1<<20, 333); err != nil || !bytes.Equal(b, d[1<<20:1<<20+333]) {
		t.Fatalf("range from the entry: %v", err)
	}
	if s.opens.Load() != 1 {
		t.Fatalf("store reads of the whole image: %d", s.opens.Load())
	}
}

func TestMismatchingFillIsNeverServed(t *testing.T) {
	s := &store{corrupt: true}
	dir := t.TempDir()
	c := newCache(t, dir, 1<<30)
	im := newImage(t, s, "img1", 1<<20)
	b, err := readAll(t, c, s, im, 0, -1)
	if !errors.Is(err, cache.ErrMismatch) || int64(len(b)) >= im.Size {
		t.Fatalf("a corrupt fill gave %d of %d bytes, err %v; want it cut short with ErrMismatch", len(b), im.Size, err)
	}
	if c.Has("img1") || c.Used() != 0 {
		t.Fatalf("corrupt fill kept: has %v, used %d", c.Has("img1"), c.Used())
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "img1*")); len(files) != 0 {
		t.Fatalf("files left: %v", files)
	}
	s.corrupt = false
	if b, err := readAll(t, c, s, im, 0, -1); err != nil || !bytes.Equal(b, s.data["img1"]) || s.opens.Load() != 2 {
		t.Fatalf("next read: err %v, store reads %d", err, s.opens.Load())
	}
	// The fill renames its file into place after its readers are done.
	waitFor(t, func() bool { return c.Has("img1") })
}

func TestHangUpDuringFillLeavesOnlyAVerifiedEntry(t *testing.T) {
	s := &store{gate: make(chan struct{})}
	c := newCache(t, t.TempDir(), 1<<30)
	im := newImage(t, s, "img1", 1<<20)
	ctx, hangUp := context.WithCancel(context.Background())
	r, err := c.Read(ctx, im, 0, -1, s.open("img1"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	if _, err := r.Read(buf); err != nil {
		t.Fatal(err)
	}
	hangUp()
	if _, err := io.Copy(io.Discard, r); !errors.Is(err, context.Canceled) {
		t.Fatalf("reader after hang-up: %v", err)
	}
	r.Close()
	if c.Has("img1") {
		t.Fatal("entry complete before its data arrived")
	}
	close(s.gate)
	waitFor(t, func() bool { return c.Has("img1") })
	if b, err := readAll(t, c, s, im, 0, -1); err != nil || !bytes.Equal(b, s.data["img1"]) || s.opens.Load() != 1 {
		t.Fatalf("after the hang-up: err %v, store reads %d", err, s.opens.Load())
	}
}

func TestStoreFailureMidFillLeavesNothing(t *testing.T) {
	s := &store{failAt: 300 << 10}
	dir := t.TempDir()
	c := newCache(t, dir, 1<<30)
	im := newImage(t, s, "img1", 1<<20)
	if b, err := readAll(t, c, s, im, 0, -1); err == nil || int64(len(b)) >= im.Size {
		t.Fatalf("failed fill: %d bytes, err %v", len(b), err)
	}
	if c.Has("img1") || c.Used() != 0 || len(c.List()) != 0 {
		t.Fatal("a failed fill left an entry")
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "img1*")); len(files) != 0 {
		t.Fatalf("files left: %v", files)
	}
}

func TestEvictionIsLRUAndSparesReadEntries(t *testing.T) {
	s := &store{}
	c := newCache(t, t.TempDir(), 3<<20)
	var ims []cache.Image
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		ims = append(ims, newImage(t, s, id, 1<<20))
	}
	fill := func(im cache.Image) {
		t.Helper()
		if b, err := readAll(t, c, s, im, 0, -1); err != nil || !bytes.Equal(b, s.data[im.ID]) {
			t.Fatalf("%s: %v", im.ID, err)
		}
		waitFor(t, func() bool { return c.Has(im.ID) })
	}
	fill(ims[0])
	fill(ims[1])
	fill(ims[2])
	readAll(t, c, s, ims[0], 0, 10) // a is now the most recently used
	fill(ims[3])                    // evicts b, the least recently used
	if c.Has("b") || !c.Has("a") || !c.Has("c") || !c.Has("d") {
		t.Fatalf("after d: %+v", c.List())
	}
	// c is now the least recently used, but being read: a goes instead.
	r, err := c.Read(context.Background(), ims[2], 0, -1, s.open("c"))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, c, s, ims[3], 0, 10)
	fill(ims[4])
	if !c.Has("c") || c.Has("a") || c.Used() > 3<<20 {
		t.Fatalf("after e: %+v, used %d", c.List(), c.Used())
	}
	if b, _ := io.ReadAll(r); !bytes.Equal(b, s.data["c"]) {
		t.Fatal("pinned entry read wrong")
	}
	r.Close()
	// A 4 MiB image never fits: read from the store, not cached.
	big := newImage(t, s, "big", 4<<20)
	if b, err := readAll(t, c, s, big, 0, -1); err != nil || !bytes.Equal(b, s.data["big"]) || c.Has("big") {
		t.Fatalf("big: %v", err)
	}
}

func TestDropDuringFillDiscardsIt(t *testing.T) {
	s := &store{gate: make(chan struct{})}
	c := newCache(t, t.TempDir(), 1<<30)
	im := newImage(t, s, "img1", 1<<20)
	done := make(chan []byte)
	go func() { b, _ := readAll(t, c, s, im, 0, -1); done <- b }()
	waitFor(t, func() bool { return c.Fetches() == 1 })
	c.Drop("img1")
	close(s.gate)
	if b := <-done; !bytes.Equal(b, s.data["img1"]) {
		t.Fatal("a reader of a dropped fill got wrong data")
	}
	// The fill ends (syncs, then discards) after its readers have every byte.
	waitFor(t, func() bool { return c.Used() == 0 })
	if c.Has("img1") {
		t.Fatal("dropped fill kept")
	}
}

func TestRestartKeepsEntriesAndQueueAndRemovesPartials(t *testing.T) {
	s := &store{}
	dir := t.TempDir()
	c := newCache(t, dir, 1<<30)
	im := newImage(t, s, "img1", 100<<10)
	readAll(t, c, s, im, 0, -1)
	waitFor(t, func() bool { return c.Has("img1") })
	if ok, err := c.Queue("img2"); !ok || err != nil {
		t.Fatalf("queue: %v %v", ok, err)
	}
	c.Close()
	os.WriteFile(filepath.Join(dir, "img3.123"+".part"), []byte("partial"), 0o640)
	c2 := newCache(t, dir, 1<<30)
	if !c2.Has("img1") || c2.Used() != im.Size {
		t.Fatalf("after restart: %+v used %d", c2.List(), c2.Used())
	}
	if q := c2.Queued(); len(q) != 1 || q[0] != "img2" {
		t.Fatalf("queue after restart: %v", q)
	}
	if _, err := os.Stat(filepath.Join(dir, "img3.123.part")); !os.IsNotExist(err) {
		t.Fatal("partial file kept")
	}
	if b, err := readAll(t, c2, s, im, 0, -1); err != nil || !bytes.Equal(b, s.data["img1"]) || s.opens.Load() != 1 {
		t.Fatalf("read after restart: %v, store reads %d", err, s.opens.Load())
	}
}

func TestQueueWorkerCachesQueuedImages(t *testing.T) {
	s := &store{}
	c := newCache(t, t.TempDir(), 1<<30)
	im := newImage(t, s, "img1", 200<<10)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		c.Run(ctx, func(ctx context.Context, id string) error { return c.Prefetch(ctx, im, s.open(id)) })
	}()
	defer func() { cancel(); <-stopped }()
	c.Queue("img1")
	waitFor(t, func() bool { return c.Has("img1") && len(c.Queued()) == 0 })
	if ok, _ := c.Queue("img1"); ok {
		t.Fatal("a cached image was queued")
	}
	if n := c.ClearQueue(); n != 0 {
		t.Fatalf("cleared %d", n)
	}
	if n := c.Clear(); n != 1 || c.Has("img1") || c.Used() != 0 {
		t.Fatalf("clear: %d", n)
	}
}
