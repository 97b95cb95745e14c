package imagecache_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"imagestack/compute/imagecache"
)

// gatedSource serves data by Range reads, counting the fetches of each
// chunk; chunks at or after hold wait until release is closed.
type gatedSource struct {
	data    []byte
	hold    int
	release chan struct{}
	mu      sync.Mutex
	fetches map[int64]int
	extra   int // bytes sent beyond what is asked (a broken source)
}

func newGatedSource(size, hold int) *gatedSource {
	data := make([]byte, size)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	return &gatedSource{data: data, hold: hold, release: make(chan struct{}), fetches: map[int64]int{}}
}

func (g *gatedSource) read(ctx context.Context, off, n int64, w io.Writer) error {
	if off/imagecache.ChunkSize >= int64(g.hold) {
		select {
		case <-g.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	g.mu.Lock()
	g.fetches[off/imagecache.ChunkSize]++
	g.mu.Unlock()
	_, err := w.Write(g.data[off : off+n+int64(g.extra)])
	return err
}

func (g *gatedSource) count(chunk int64) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.fetches[chunk]
}

func md5hex(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

// A read of a base still arriving fetches just the chunks it needs, once
// however many readers ask at the same time, before the background fill
// gets there; the verified base then replaces the fill.
func TestFillReadsOnDemandThenVerifies(t *testing.T) {
	dir := t.TempDir()
	c, _ := imagecache.New(dir, nil)
	size := 5*imagecache.ChunkSize + 1234
	src := newGatedSource(size, 1) // only chunk 0 comes without waiting
	path, fl, err := c.Begin(t.Context(), "img", md5hex(src.data), int64(size), src.read)
	if err != nil || fl == nil {
		t.Fatalf("Begin: %v %v", fl, err)
	}
	fl.Booted()
	// Chunk 3 is wanted by eight readers at once: one fetch.
	go func() { time.Sleep(50 * time.Millisecond); close(src.release) }()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 100)
			off := int64(3*imagecache.ChunkSize + 10)
			if n, err := fl.ReadAt(buf, off); n != 100 || err != nil || !bytes.Equal(buf, src.data[off:off+100]) {
				t.Errorf("ReadAt: %d %v", n, err)
			}
		}()
	}
	wg.Wait()
	// The tail: a short read at the end says EOF.
	buf := make([]byte, 2000)
	n, err := fl.ReadAt(buf, int64(size-1000))
	if n != 1000 || err != io.EOF || !bytes.Equal(buf[:n], src.data[size-1000:]) {
		t.Fatalf("tail ReadAt: %d %v", n, err)
	}
	if err := fl.Err(); err != nil {
		t.Fatalf("verification: %v", err)
	}
	for ch := int64(0); ch < 6; ch++ {
		if got := src.count(ch); got != 1 {
			t.Errorf("chunk %d fetched %d times, want 1", ch, got)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, src.data) {
		t.Fatalf("verified base: %v", err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o440 {
		t.Fatalf("verified base mode %v, want read-only", st.Mode())
	}
	if parts, _ := filepath.Glob(filepath.Join(dir, "*.part*")); len(parts) != 0 {
		t.Fatalf("partial files left: %v", parts)
	}
	if fl.Served() == 0 {
		t.Fatal("reads before verification were not counted")
	}
	// Afterwards the base is simply here: no fill, no fetch.
	if p, fl2, err := c.Begin(t.Context(), "img", md5hex(src.data), int64(size), src.read); p != path || fl2 != nil || err != nil {
		t.Fatalf("Begin on a verified base: %q %v %v", p, fl2, err)
	}
}

// A second caller asking for a base still filling waits for it to be
// verified and gets only the path: it never reads unverified data.
func TestSecondBeginWaitsForVerification(t *testing.T) {
	c, _ := imagecache.New(t.TempDir(), nil)
	src := newGatedSource(3*imagecache.ChunkSize, 0)
	_, fl, err := c.Begin(t.Context(), "img", md5hex(src.data), int64(len(src.data)), src.read)
	if err != nil || fl == nil {
		t.Fatal(fl, err)
	}
	fl.Booted()
	got := make(chan error, 1)
	go func() {
		_, fl2, err := c.Begin(t.Context(), "img", md5hex(src.data), int64(len(src.data)), src.read)
		if fl2 != nil {
			err = errors.New("the second caller got the unverified fill")
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("second Begin returned before the base was verified: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(src.release)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	select {
	case <-fl.Done():
	default:
		t.Fatal("second Begin returned before the fill ended")
	}
	// Get (kernels, lazy bases off) finds the verified base: no download.
	if _, err := c.Get(t.Context(), "img", "", func(context.Context, io.Writer) error { return errors.New("downloaded again") }); err != nil {
		t.Fatal(err)
	}
}

// Data that does not match the checksum is discarded: the fill fails with
// ErrVerification, its reads fail from then on, nothing is left on disk,
// and the next Begin starts afresh.
func TestFillChecksumMismatchDiscards(t *testing.T) {
	dir := t.TempDir()
	c, _ := imagecache.New(dir, nil)
	src := newGatedSource(2*imagecache.ChunkSize, 5)
	path, fl, err := c.Begin(t.Context(), "img", strings.Repeat("0", 32), int64(len(src.data)), src.read)
	if err != nil {
		t.Fatal(err)
	}
	fl.Booted()
	if err := fl.Err(); !errors.Is(err, imagecache.ErrVerification) || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("Err = %v, want a checksum mismatch", err)
	}
	if _, err := fl.ReadAt(make([]byte, 10), 0); err == nil {
		t.Fatal("a discarded fill still serves reads")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 || fileExists(path) {
		t.Fatalf("files left after a failed verification: %v", entries)
	}
	_, fl2, err := c.Begin(t.Context(), "img", md5hex(src.data), int64(len(src.data)), src.read)
	if fl2 != nil {
		fl2.Booted()
	}
	if err != nil || fl2 == nil || fl2.Err() != nil {
		t.Fatalf("a new fill after a failed one: %v %v", fl2, err)
	}
}

// A source that sends more than the range asked for (or fails) fails the
// fill after its retries; nothing spills into the neighbouring chunk.
func TestFillRefusesOverlongRange(t *testing.T) {
	c, _ := imagecache.New(t.TempDir(), nil)
	src := newGatedSource(2*imagecache.ChunkSize+10, 5)
	src.extra = 1
	src.data = append(src.data, 0)
	_, fl, err := c.Begin(t.Context(), "img", "", int64(len(src.data)-1), src.read)
	if err != nil {
		t.Fatal(err)
	}
	fl.Booted()
	if err := fl.Err(); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("Err = %v", err)
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// The endpoint serves a base still arriving by Range to holders of its
// cookie only, and keeps its address and cookie across a restart.
func TestEndpointServesRangesWithCookie(t *testing.T) {
	dir := t.TempDir()
	c, _ := imagecache.New(filepath.Join(dir, "base"), nil)
	state := filepath.Join(dir, "endpoint.json")
	ep, err := c.Serve(state)
	if err != nil {
		t.Fatal(err)
	}
	src := newGatedSource(3*imagecache.ChunkSize, 2)
	_, lazy, arriving, err := ep.Begin(t.Context(), "img-1", md5hex(src.data), int64(len(src.data)), src.read)
	if err != nil || lazy == nil {
		t.Fatal(lazy, err)
	}
	get := func(method, url, cookie, rng string) (*http.Response, []byte) {
		req, _ := http.NewRequest(method, url, nil)
		if cookie != "" {
			req.Header.Set("Cookie", lazy.CookieName+"="+cookie)
		}
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	if resp, _ := get("GET", lazy.URL, "", ""); resp.StatusCode != 403 {
		t.Fatalf("no cookie: %d", resp.StatusCode)
	}
	if resp, _ := get("GET", lazy.URL, "wrong", ""); resp.StatusCode != 403 {
		t.Fatalf("wrong cookie: %d", resp.StatusCode)
	}
	resp, _ := get("HEAD", lazy.URL, lazy.Cookie, "")
	if resp.StatusCode != 200 || resp.ContentLength != int64(len(src.data)) || resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("HEAD: %d %d %q", resp.StatusCode, resp.ContentLength, resp.Header.Get("Accept-Ranges"))
	}
	// Chunk 1 is served while chunk 2 is still held back.
	off := imagecache.ChunkSize + 7
	resp, body := get("GET", lazy.URL, lazy.Cookie, fmt.Sprintf("bytes=%d-%d", off, off+999))
	if resp.StatusCode != 206 || !bytes.Equal(body, src.data[off:off+1000]) {
		t.Fatalf("Range GET: %d, %d bytes", resp.StatusCode, len(body))
	}
	if src.count(2) != 0 {
		t.Fatal("chunk 2 was fetched before it was released")
	}
	for _, p := range []string{"/img-1.part", "/../etc/passwd", "/", "/nope"} {
		if resp, _ := get("GET", strings.TrimSuffix(lazy.URL, "/img-1")+p, lazy.Cookie, ""); resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
	close(src.release)
	arriving.Booted()
	if err := arriving.Verified(); err != nil {
		t.Fatal(err)
	}
	// Verified: served from the file, and by a new endpoint after a
	// restart at the same address with the same cookie.
	ep.Close()
	c2, _ := imagecache.New(filepath.Join(dir, "base"), nil)
	ep2, err := c2.Serve(state)
	if err != nil {
		t.Fatal(err)
	}
	defer ep2.Close()
	resp, body = get("GET", lazy.URL, lazy.Cookie, "bytes=0-99")
	if resp.StatusCode != 206 || !bytes.Equal(body, src.data[:100]) {
		t.Fatalf("after restart: %d", resp.StatusCode)
	}
	path, lazy2, _, err := ep2.Begin(t.Context(), "img-1", md5hex(src.data), int64(len(src.data)), src.read)
	if err != nil || lazy2 != nil || !fileExists(path) {
		t.Fatalf("Begin on a verified base: %v %v", lazy2, err)
	}
}

// Until the VM has booted, only what is read is fetched: the background
// fill waits, then fetches the rest at the configured pace.
func TestBackgroundFillWaitsForBootThenPaces(t *testing.T) {
	c, _ := imagecache.New(t.TempDir(), nil)
	c.FillRate = 20 * imagecache.ChunkSize // 50 ms a chunk
	src := newGatedSource(5*imagecache.ChunkSize, 99)
	close(src.release)
	_, fl, err := c.Begin(t.Context(), "img", md5hex(src.data), int64(len(src.data)), src.read)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if _, err := fl.ReadAt(buf, 2*imagecache.ChunkSize); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if got := fl.Filled(); got != imagecache.ChunkSize || src.count(0) != 0 {
		t.Fatalf("before Booted: %d bytes here, chunk 0 fetched %d times; want only the chunk read", got, src.count(0))
	}
	start := time.Now()
	fl.Booted()
	if err := fl.Err(); err != nil {
		t.Fatal(err)
	}
	// Four chunks left, the first at once: at least 150 ms at 50 ms each.
	if d := time.Since(start); d < 140*time.Millisecond {
		t.Fatalf("the paced fill took %v", d)
	}
	if src.count(2) != 1 {
		t.Fatalf("chunk 2 fetched %d times", src.count(2))
	}
}

// TestEndpointListensOnLoopbackOnly: whatever address a state file names
// (none, a wildcard, another interface's), the endpoint listens on
// 127.0.0.1 only.
func TestEndpointListensOnLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"", ":0", "0.0.0.0:0", "[::]:0"} {
		dir := t.TempDir()
		c, err := imagecache.New(filepath.Join(dir, "base"), nil)
		if err != nil {
			t.Fatal(err)
		}
		state := filepath.Join(dir, "endpoint.json")
		if addr != "" {
			os.WriteFile(state, []byte(`{"addr":"`+addr+`","cookie":"c"}`), 0o600)
		}
		e, err := c.Serve(state)
		if err != nil {
			t.Fatal(err)
		}
		e.Close()
		var st struct{ Addr string }
		b, _ := os.ReadFile(state)
		json.Unmarshal(b, &st)
		if host, _, _ := net.SplitHostPort(st.Addr); host != "127.0.0.1" {
			t.Errorf("state naming %q: the endpoint listened on %q", addr, st.Addr)
		}
	}
}

// TestFillRetriesAShortOutage: the image service failing a few range reads
// in a row (restarting, say) delays the background fill; the base is still
// verified and nothing fails.
func TestFillRetriesAShortOutage(t *testing.T) {
	data := make([]byte, imagecache.ChunkSize+100)
	for i := range data {
		data[i] = byte(rand.IntN(256))
	}
	sum := md5.Sum(data)
	var calls atomic.Int32
	src := func(ctx context.Context, off, n int64, w io.Writer) error {
		if calls.Add(1) <= 3 {
			return errors.New("connection refused")
		}
		_, err := w.Write(data[off : off+n])
		return err
	}
	c, _ := imagecache.New(t.TempDir(), nil)
	_, fl, err := c.Begin(t.Context(), "img", hex.EncodeToString(sum[:]), int64(len(data)), src)
	if err != nil {
		t.Fatal(err)
	}
	fl.Booted()
	if err := fl.Err(); err != nil || calls.Load() < 4 {
		t.Fatalf("after %d range reads: %v", calls.Load(), err)
	}
}
