package imagecache

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"time"
)

// InUseFunc returns the ids of the images whose bases must stay on this
// host: the images of the servers whose overlays back onto them (every
// server placed here, running or not, until it is deleted or offloaded)
// and the kernels and ramdisks their domains boot. It reads the truth
// (the servers' records), not what this process remembers, so it holds
// across restarts. A server's record names its images before its boot
// asks the cache for them.
type InUseFunc func(ctx context.Context) (map[string]bool, error)

// base is a verified base file as an eviction sees it.
type base struct {
	id      string
	size    int64
	lastUse time.Time // the file's mtime: Get and Begin set it at each use
}

// Evict removes the least recently used bases until those kept fit in
// MaxSize, and returns the ids of those removed. It never removes a base
// InUse names, nor one being filled, fetched or handed out by a Get under
// way, nor one used since the eviction began or less than MinIdle before: when every base left is in
// use the cache stays over its bound. A base removed is downloaded again
// by the next Get. Without MaxSize or InUse it removes nothing.
func (c *Cache) Evict(ctx context.Context) ([]string, error) {
	if c.MaxSize <= 0 || c.InUse == nil {
		return nil, nil
	}
	c.evictMu.Lock()
	defer c.evictMu.Unlock()
	// Before InUse: a base used after it is read is touched after began.
	began := time.Now()
	bases, total, err := c.bases()
	if err != nil || total <= c.MaxSize {
		return nil, err
	}
	inUse, err := c.InUse(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(bases, func(a, b base) int { return a.lastUse.Compare(b.lastUse) })
	var removed []string
	for _, b := range bases {
		if total <= c.MaxSize {
			break
		}
		if inUse[b.id] || !c.removeIdle(b.id, began.Add(-c.MinIdle)) {
			continue
		}
		total -= b.size
		removed = append(removed, b.id)
		c.log.Info("unused image base evicted from the host cache", "image", b.id, "bytes", b.size,
			"last_use", b.lastUse.UTC().Format(time.RFC3339))
	}
	return removed, nil
}

// bases lists the verified bases, and the bytes of those and of the
// bases being filled (which count against the bound but are never
// evicted).
func (c *Cache) bases() ([]base, int64, error) {
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		return nil, 0, err
	}
	var out []base
	var total int64
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		total += info.Size()
		if !strings.Contains(e.Name(), ".part") {
			out = append(out, base{id: e.Name(), size: info.Size(), lastUse: info.ModTime()})
		}
	}
	return out, total, nil
}

// removeIdle removes an image's base unless it is being filled, a Get of
// it is under way, or it was used at or after since; under mu, so that no
// Get or Begin can pick it up meanwhile.
func (c *Cache) removeIdle(imageID string, since time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fills[imageID] != nil || c.getting[imageID] > 0 {
		return false
	}
	path := c.Path(imageID)
	st, err := os.Stat(path)
	if err != nil || !st.ModTime().Before(since) {
		return false
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		c.log.Warn("could not evict an image base", "image", imageID, "err", err)
		return false
	}
	return true
}

// evictLogged evicts after a base arrived, logging a failure (the base
// just added is in use or held, so it stays).
func (c *Cache) evictLogged(ctx context.Context) {
	if _, err := c.Evict(ctx); err != nil {
		c.log.Warn("image cache eviction failed", "err", err)
	}
}

// RunEviction evicts every interval (and once at once) until ctx ends.
func (c *Cache) RunEviction(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		c.evictLogged(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// hold marks a Get of the image under way: its base is not evicted until
// release.
func (c *Cache) hold(imageID string) {
	c.mu.Lock()
	c.getting[imageID]++
	c.mu.Unlock()
}

func (c *Cache) release(imageID string) {
	c.mu.Lock()
	if c.getting[imageID]--; c.getting[imageID] <= 0 {
		delete(c.getting, imageID)
	}
	c.mu.Unlock()
}

// touch records a use of the base at path (its mtime: the order of
// eviction, kept across restarts) and reports whether the base is there.
func (c *Cache) touch(path string) bool {
	now := time.Now()
	if err := os.Chtimes(path, now, now); err != nil {
		_, err = os.Stat(path) // there, but not ours to touch: still a base
		return err == nil
	}
	return true
}
