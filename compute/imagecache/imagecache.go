// Package imagecache keeps one local copy per image for the servers of this
// host: an image is downloaded once, however many servers boot it at the same
// time, and its md5 is checked against the image's checksum before use. Base
// files are never removed while the service runs, so no overlay ever loses
// its backing file.
//
// A base may also arrive lazily (Begin): a server boots from it at once
// while it fills on demand and in the background (see Fill), read through
// the loopback HTTP endpoint of Serve; it becomes a normal base once its
// checksum is verified.
package imagecache

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Cache is a directory of base images named after their image ids.
type Cache struct {
	dir       string
	log       *slog.Logger
	group     singleflight.Group
	downloads atomic.Int64

	mu      sync.Mutex
	fills   map[string]*Fill // bases arriving lazily, by image id
	getting map[string]int   // Gets under way, by image id: not evicted meanwhile
	evictMu sync.Mutex       // one eviction at a time
	// FillRate paces the background part of lazy fills, in bytes per
	// second (0: as fast as the image service sends); set before use.
	FillRate int64
	// MaxSize bounds the bytes of the bases kept (0: no bound); InUse says
	// which bases must stay whatever the bound (without it nothing is ever
	// evicted); bases used less than MinIdle ago stay too (a server moving
	// here may use its base before its record says it is here). All are
	// set before use.
	MaxSize int64
	InUse   InUseFunc
	MinIdle time.Duration
}

// New opens a cache in dir, removing partial downloads a crash left.
func New(dir string, log *slog.Logger) (*Cache, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	if parts, _ := filepath.Glob(filepath.Join(dir, "*.part*")); len(parts) > 0 {
		for _, p := range parts {
			os.Remove(p)
		}
	}
	return &Cache{dir: dir, log: log, fills: map[string]*Fill{}, getting: map[string]int{}}, nil
}

// Downloads is how many image downloads the cache has made.
func (c *Cache) Downloads() int64 { return c.downloads.Load() }

// Path returns where the base file of an image is (whether cached or not).
func (c *Cache) Path(imageID string) string { return filepath.Join(c.dir, imageID) }

// Get returns the path of the image's base file, fetching it with download
// when absent. Concurrent calls for one image share a single download. The
// data must match checksum (hex md5) when one is given.
func (c *Cache) Get(ctx context.Context, imageID, checksum string, download func(ctx context.Context, w io.Writer) error) (string, error) {
	path := c.Path(imageID)
	c.hold(imageID)
	defer c.release(imageID)
	if c.touch(path) {
		return path, nil
	}
	if fl := c.filling(imageID); fl != nil {
		return path, fl.Err()
	}
	_, err, _ := c.group.Do(imageID, func() (any, error) {
		if c.touch(path) {
			return nil, nil
		}
		// The download outlives any one waiting request.
		ctx := context.WithoutCancel(ctx)
		if err := c.fetch(ctx, path, checksum, download); err != nil {
			return nil, err
		}
		c.evictLogged(ctx) // this base is held: never evicted itself
		return nil, nil
	})
	if err != nil {
		return "", err
	}
	return path, nil
}

func (c *Cache) fetch(ctx context.Context, path, checksum string, download func(context.Context, io.Writer) error) error {
	c.downloads.Add(1)
	start := time.Now()
	tmp, err := os.CreateTemp(c.dir, filepath.Base(path)+".part*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	h := md5.New()
	if err := download(ctx, io.MultiWriter(tmp, h)); err != nil {
		tmp.Close()
		return fmt.Errorf("download image: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); checksum != "" && got != checksum {
		return fmt.Errorf("image data checksum %s does not match the image's checksum %s", got, checksum)
	}
	// Read-only: overlays must never write through to their base.
	if err := os.Chmod(tmp.Name(), 0o440); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	c.log.Info("image downloaded into the host cache", "image", filepath.Base(path), "duration_ms", time.Since(start).Milliseconds())
	return nil
}

// filling is the image's fill under way, if any.
func (c *Cache) filling(imageID string) *Fill {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fills[imageID]
}

// Begin returns the path of the image's base and, when this call starts
// its fill, the Fill through which a server may read it before it is
// verified. A base already here is returned alone. A fill another caller
// started is waited for: a second server boots from verified data only.
// size is the image's size in bytes (> 0) and src reads its data.
func (c *Cache) Begin(ctx context.Context, imageID, checksum string, size int64, src Source) (string, *Fill, error) {
	path := c.Path(imageID)
	c.mu.Lock()
	if c.touch(path) { // under mu: an eviction skips a base touched since it began
		c.mu.Unlock()
		return path, nil, nil
	}
	if fl := c.fills[imageID]; fl != nil {
		c.mu.Unlock()
		select {
		case <-fl.Done():
			return path, nil, fl.Err()
		case <-ctx.Done():
			return "", nil, ctx.Err()
		}
	}
	// The fill outlives the request that starts it.
	fl, err := newFill(context.WithoutCancel(ctx), c.dir, imageID, checksum, size, src)
	if err != nil {
		c.mu.Unlock()
		return "", nil, err
	}
	c.fills[imageID] = fl
	c.mu.Unlock()
	c.downloads.Add(1)
	go c.complete(fl, path)
	return path, fl, nil
}

// complete runs a fill to its end and forgets it.
func (c *Cache) complete(fl *Fill, path string) {
	start := time.Now()
	err := fl.finish(fl.run(c.FillRate), path)
	c.mu.Lock()
	c.touch(path) // its last use is now, not its last written chunk
	delete(c.fills, fl.imageID)
	c.mu.Unlock()
	if err != nil {
		c.log.Error("image base discarded", "image", fl.imageID, "read_before_verification", fl.Served(), "err", err)
		return
	}
	c.log.Info("image downloaded into the host cache", "image", fl.imageID, "lazy", true,
		"read_before_verification", fl.Served(), "duration_ms", time.Since(start).Milliseconds())
	c.evictLogged(fl.ctx)
}

// reader returns what the endpoint serves of an image: its fill while it
// arrives, else its verified base (the caller closes it), else nil.
func (c *Cache) reader(imageID string) (io.ReaderAt, int64, func(), error) {
	if fl := c.filling(imageID); fl != nil {
		return fl, fl.Size(), func() {}, nil
	}
	f, err := os.Open(c.Path(imageID))
	if err != nil {
		return nil, 0, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, nil, err
	}
	return f, st.Size(), func() { f.Close() }, nil
}
