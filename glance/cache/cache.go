// Package cache is the image API's local read-through cache of image data
// (Glance's image cache): images read from a store far away (S3) are kept
// in a directory, bounded in size with least-recently-used eviction.
//
// An image is fetched from its store once however many clients read it at
// the same time: the first read starts a fill, a background copy into a
// partial file, and every reader (the first included) streams from that
// file as it grows, so memory never grows with the image. The fill is
// verified against the image's size and sha512 (md5 without one) when it
// completes; the last byte of the image is held back from readers until it
// is, so a fill that turns out wrong ends their downloads short and is
// never served again.
// Entries being read are never evicted. Complete entries survive restarts;
// partial files are removed at start.
package cache

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"imagestack/storage"
)

// Image is what the cache needs to know of an image to hold its data.
type Image struct {
	ID     string
	Size   int64
	MD5    string // hex, checked when not empty
	SHA512 string // hex, checked when not empty
}

// Opener opens length bytes (length < 0: to the end) of the image's data
// from offset, in its store.
type Opener func(ctx context.Context, offset, length int64) (io.ReadCloser, error)

// Entry describes a cached image, as GET /v2/cache lists it.
type Entry struct {
	ImageID      string
	Size         int64
	Hits         int64 // reads served from the cache since the start
	LastAccessed time.Time
	LastModified time.Time // when the fill completed
}

// ErrNoRoom: the image does not fit in the cache, even after evicting
// every entry that is not being read.
var ErrNoRoom = errors.New("image cache: no room for the image")

// partSuffix ends the names of fills in progress.
const partSuffix = ".part"

// Cache is a directory of image data files named after their image ids.
// Every method is safe for concurrent use.
type Cache struct {
	dir      string
	queueDir string
	max      int64
	log      *slog.Logger
	stop     context.CancelFunc
	stopCtx  context.Context

	mu      sync.Mutex
	entries map[string]*entry
	lru     *list.List // of *entry, most recently used first
	fills   map[string]*fill
	used    int64 // bytes of entries (deleted ones still read included) and fills
	fetches int64 // fills started
	queue   []string
	wake    chan struct{}
}

type entry struct {
	Entry
	readers int           // open readers: never evicted while > 0
	gone    bool          // removed while read: its bytes leave used at the last close
	elem    *list.Element // in lru; nil once gone
}

// New opens the cache in dir (created if missing) holding at most maxSize
// bytes. Partial files a crash left are removed; complete entries are kept,
// oldest access evicted first if they no longer fit.
func New(dir string, maxSize int64, log *slog.Logger) (*Cache, error) {
	if maxSize <= 0 {
		return nil, errors.New("image cache: the maximum size must be positive")
	}
	if log == nil {
		log = slog.Default()
	}
	c := &Cache{dir: dir, queueDir: filepath.Join(dir, "queue"), max: maxSize, log: log,
		entries: map[string]*entry{}, lru: list.New(), fills: map[string]*fill{}, wake: make(chan struct{}, 1)}
	c.stopCtx, c.stop = context.WithCancel(context.Background())
	if err := os.MkdirAll(c.queueDir, 0o750); err != nil {
		return nil, fmt.Errorf("image cache: %w", err)
	}
	if err := c.load(); err != nil {
		return nil, fmt.Errorf("image cache: %w", err)
	}
	return c, nil
}

// Close stops the fills in progress and the queue worker.
func (c *Cache) Close() { c.stop() }

// load indexes the files of the directory, at start.
func (c *Cache) load() error {
	des, err := os.ReadDir(c.dir)
	if err != nil {
		return err
	}
	var found []*entry
	for _, de := range des {
		name := de.Name()
		if !de.Type().IsRegular() {
			continue
		}
		path := filepath.Join(c.dir, name)
		if strings.HasSuffix(name, partSuffix) || !validID(name) {
			c.log.Info("image cache: removing a partial file left by a stop", "file", name)
			os.Remove(path)
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue
		}
		found = append(found, &entry{Entry: Entry{ImageID: name, Size: fi.Size(), LastModified: fi.ModTime(), LastAccessed: atime(fi)}})
	}
	// Most recently accessed first, the order of the LRU list.
	slices.SortFunc(found, func(a, b *entry) int { return b.LastAccessed.Compare(a.LastAccessed) })
	for _, e := range found {
		e.elem = c.lru.PushBack(e)
		c.entries[e.ImageID] = e
		c.used += e.Size
	}
	for c.used > c.max && c.lru.Len() > 0 {
		c.removeLocked(c.lru.Back().Value.(*entry))
	}
	return c.loadQueue()
}

func atime(fi os.FileInfo) time.Time {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return time.Unix(st.Atim.Sec, st.Atim.Nsec)
	}
	return fi.ModTime()
}

// validID accepts the names the cache gives its files: a store key without dots.
func validID(id string) bool { return storage.ValidKey(id) && !strings.Contains(id, ".") }

func (c *Cache) path(id string) string { return filepath.Join(c.dir, id) }

// List returns the complete entries, by image id.
func (c *Cache) List() []Entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Entry, 0, len(c.entries))
	for _, e := range c.entries {
		out = append(out, e.Entry)
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.ImageID, b.ImageID) })
	return out
}

// Has reports whether the image is cached completely.
func (c *Cache) Has(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entries[id] != nil
}

// Used is how many bytes the cache holds (fills in progress included).
func (c *Cache) Used() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}

// Fetches is how many fills (reads from a store into the cache) started.
func (c *Cache) Fetches() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fetches
}

// Drop removes the image from the cache and the queue: its entry (readers
// still streaming it finish), and a fill in progress, which completes for
// its readers but is then discarded. It reports whether anything was cached.
func (c *Cache) Drop(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dequeueLocked(id)
	e := c.entries[id]
	if f := c.fills[id]; f != nil {
		f.dropped = true
		delete(c.fills, id)
	}
	if e == nil {
		return false
	}
	c.removeLocked(e)
	return true
}

// Clear drops every entry and fill in progress, as Drop, and returns how
// many complete entries went.
func (c *Cache) Clear() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.entries)
	for _, e := range c.entries {
		c.removeLocked(e)
	}
	for id, f := range c.fills {
		f.dropped = true
		delete(c.fills, id)
	}
	return n
}

// removeLocked deletes an entry's file; its bytes stay counted until its
// last reader closes.
func (c *Cache) removeLocked(e *entry) {
	delete(c.entries, e.ImageID)
	if e.elem != nil {
		c.lru.Remove(e.elem)
		e.elem = nil
	}
	if err := os.Remove(c.path(e.ImageID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		c.log.Error("image cache: could not remove an entry", "image", e.ImageID, "err", err)
	}
	e.gone = true
	if e.readers == 0 {
		c.used -= e.Size
	}
}

// reserveLocked makes room for n more bytes, evicting the least recently
// used entries nobody reads, only when enough of them can go.
func (c *Cache) reserveLocked(n int64) bool {
	free := c.max - c.used
	if free < n {
		for el := c.lru.Back(); el != nil && free < n; el = el.Prev() {
			if e := el.Value.(*entry); e.readers == 0 {
				free += e.Size
			}
		}
		if free < n {
			return false
		}
	}
	for el := c.lru.Back(); c.used+n > c.max && el != nil; {
		e, prev := el.Value.(*entry), el.Prev()
		if e.readers == 0 {
			c.log.Info("image cache: evicting the least recently used image", "image", e.ImageID, "size", e.Size)
			c.removeLocked(e)
		}
		el = prev
	}
	c.used += n
	return true
}
