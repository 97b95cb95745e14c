package imagecache_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"imagestack/compute/imagecache"
)

// inUse is the set of images servers use, as the compute service reports
// it to the cache.
type inUse struct {
	mu  sync.Mutex
	ids map[string]int
}

func (u *inUse) add(id string) { u.mu.Lock(); u.ids[id]++; u.mu.Unlock() }
func (u *inUse) done(id string) {
	u.mu.Lock()
	if u.ids[id]--; u.ids[id] == 0 {
		delete(u.ids, id)
	}
	u.mu.Unlock()
}

func (u *inUse) list(context.Context) (map[string]bool, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := map[string]bool{}
	for id := range u.ids {
		out[id] = true
	}
	return out, nil
}

const unit = 1000 // bytes of each test image

// boundedCache is a cache bounded to n images of unit bytes, with the
// in-use set it asks, and a download that counts per image.
func boundedCache(t *testing.T, n int) (*imagecache.Cache, *inUse, func(id string) (string, error), map[string]int) {
	c, err := imagecache.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	u := &inUse{ids: map[string]int{}}
	c.MaxSize, c.InUse = int64(n*unit), u.list
	var mu sync.Mutex
	downloads := map[string]int{}
	get := func(id string) (string, error) {
		return c.Get(context.Background(), id, "", func(ctx context.Context, w io.Writer) error {
			mu.Lock()
			downloads[id]++
			mu.Unlock()
			_, err := w.Write(bytes.Repeat([]byte(id[:1]), unit))
			return err
		})
	}
	return c, u, get, downloads
}

// cached lists the images whose bases are on disk.
func cached(t *testing.T, c *imagecache.Cache, ids ...string) []string {
	t.Helper()
	var out []string
	for _, id := range ids {
		if _, err := os.Stat(c.Path(id)); err == nil {
			out = append(out, id)
		}
	}
	return out
}

func mustGet(t *testing.T, get func(string) (string, error), ids ...string) {
	t.Helper()
	for _, id := range ids {
		if _, err := get(id); err != nil {
			t.Fatal(err)
		}
	}
}

// Past the bound, the least recently used bases go first: a base used
// again (a new boot) moves behind the others.
func TestEvictLeastRecentlyUsedPastBound(t *testing.T) {
	c, _, get, downloads := boundedCache(t, 3)
	mustGet(t, get, "a", "b", "c", "a") // a used again: b is now the oldest
	mustGet(t, get, "d")                // 4 > 3: b goes
	if got := cached(t, c, "a", "b", "c", "d"); !slices.Equal(got, []string{"a", "c", "d"}) {
		t.Fatalf("after a, b, c, a, d with room for 3: cached %v, want [a c d]", got)
	}
	mustGet(t, get, "e") // c goes
	if got := cached(t, c, "a", "b", "c", "d", "e"); !slices.Equal(got, []string{"a", "d", "e"}) {
		t.Fatalf("then e: cached %v, want [a d e]", got)
	}
	// An evicted base is downloaded again at its next use.
	mustGet(t, get, "b")
	if downloads["b"] != 2 || downloads["a"] != 1 {
		t.Fatalf("downloads %v: b evicted must be fetched again, a kept must not", downloads)
	}
	if got := cached(t, c, "a", "b", "c", "d", "e"); len(got) != 3 {
		t.Fatalf("cached %v: more than the bound", got)
	}
}

// A base a server uses is never evicted, even past the bound; once no
// server uses it, it goes at the next eviction.
func TestEvictNeverInUse(t *testing.T) {
	c, u, get, _ := boundedCache(t, 1)
	for _, id := range []string{"a", "b", "c"} {
		u.add(id)
	}
	mustGet(t, get, "a", "b", "c")
	if got := cached(t, c, "a", "b", "c"); len(got) != 3 {
		t.Fatalf("cached %v: bases in use were evicted", got)
	}
	if removed, err := c.Evict(context.Background()); err != nil || len(removed) != 0 {
		t.Fatalf("Evict with every base in use removed %v (%v)", removed, err)
	}
	u.done("a")
	u.done("c")
	removed, err := c.Evict(context.Background())
	if err != nil || !slices.Equal(removed, []string{"a", "c"}) {
		t.Fatalf("Evict removed %v (%v), want [a c]", removed, err)
	}
	if got := cached(t, c, "a", "b", "c"); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("cached %v, want [b]", got)
	}
}

// A base being filled lazily counts against the bound and is never
// evicted; a Get's own base stays while it hands it out.
func TestEvictSkipsFillUnderWay(t *testing.T) {
	c, _, get, _ := boundedCache(t, 1)
	src := newGatedSource(2*imagecache.ChunkSize, 0) // nothing comes until released
	_, fl, err := c.Begin(t.Context(), "lazy", "", int64(len(src.data)), src.read)
	if err != nil || fl == nil {
		t.Fatalf("Begin: %v", err)
	}
	defer func() { close(src.release); fl.Booted(); fl.Err() }()
	mustGet(t, get, "a")
	if got := cached(t, c, "a"); len(got) != 1 {
		t.Fatal("the base a Get just fetched was evicted before it was used")
	}
	removed, err := c.Evict(context.Background()) // over the bound: a goes, not the fill
	if err != nil || !slices.Equal(removed, []string{"a"}) {
		t.Fatalf("evicted %v (%v), want [a]", removed, err)
	}
	if removed, _ := c.Evict(context.Background()); len(removed) != 0 {
		t.Fatalf("evicted %v while a fill is under way", removed)
	}
}

// A base used less than MinIdle ago stays, in use or not.
func TestEvictKeepsRecentlyUsed(t *testing.T) {
	c, _, get, _ := boundedCache(t, 1)
	c.MinIdle = time.Hour
	mustGet(t, get, "a", "b")
	if removed, err := c.Evict(context.Background()); err != nil || len(removed) != 0 {
		t.Fatalf("evicted %v (%v) within MinIdle", removed, err)
	}
	c.MinIdle = 0
	if removed, _ := c.Evict(context.Background()); !slices.Equal(removed, []string{"a"}) {
		t.Fatalf("evicted %v once idle long enough, want [a]", removed)
	}
}

// Boots and evictions at the same time: a boot registers its server's
// image (the server record) before Get, and the base it gets is there and
// whole while it uses it, whatever is evicted meanwhile.
func TestConcurrentGetDuringEviction(t *testing.T) {
	c, u, get, _ := boundedCache(t, 2)
	ctx, cancel := context.WithCancel(context.Background())
	evicted := make(chan struct{})
	go func() {
		defer close(evicted)
		for ctx.Err() == nil {
			if _, err := c.Evict(ctx); err != nil && ctx.Err() == nil {
				t.Error(err)
			}
		}
	}()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for range 50 {
				id := fmt.Sprintf("%c", 'a'+r.IntN(6))
				u.add(id)
				path, err := get(id)
				if err != nil {
					t.Error(err)
				} else if b, err := os.ReadFile(path); err != nil || len(b) != unit || b[0] != id[0] {
					t.Errorf("base of %s while in use: %d bytes, %v", id, len(b), err)
				}
				u.done(id)
			}
		}()
	}
	wg.Wait()
	cancel()
	<-evicted
	if _, err := c.Evict(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := cached(t, c, "a", "b", "c", "d", "e", "f"); len(got) > 2 {
		t.Fatalf("cached %v once idle: over the bound of 2", got)
	}
}
