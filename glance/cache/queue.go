package cache

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// The precaching queue (Glance's queued images): image ids waiting for the
// worker (Run) to fill them, each kept as an empty file in dir/queue so
// that the queue survives restarts, in the order they were queued.

// loadQueue reads the queue left by the last run, oldest first.
func (c *Cache) loadQueue() error {
	des, err := os.ReadDir(c.queueDir)
	if err != nil {
		return err
	}
	type queued struct {
		id string
		at time.Time
	}
	var qs []queued
	for _, de := range des {
		fi, err := de.Info()
		if err != nil || !validID(de.Name()) {
			os.Remove(filepath.Join(c.queueDir, de.Name()))
			continue
		}
		qs = append(qs, queued{de.Name(), fi.ModTime()})
	}
	slices.SortFunc(qs, func(a, b queued) int { return a.at.Compare(b.at) })
	for _, q := range qs {
		c.queue = append(c.queue, q.id)
	}
	return nil
}

// Queue asks the worker to cache the image. Nothing changes when it is
// cached, being cached or queued already; it reports whether it was added.
func (c *Cache) Queue(id string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !validID(id) || c.entries[id] != nil || c.fills[id] != nil || slices.Contains(c.queue, id) {
		return false, nil
	}
	if err := os.WriteFile(filepath.Join(c.queueDir, id), nil, 0o640); err != nil {
		return false, err
	}
	c.queue = append(c.queue, id)
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return true, nil
}

// Queued lists the queued image ids, oldest first.
func (c *Cache) Queued() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string{}, c.queue...)
}

// IsQueued reports whether the image waits in the queue.
func (c *Cache) IsQueued(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Contains(c.queue, id)
}

// ClearQueue empties the queue and returns how many images it held.
func (c *Cache) ClearQueue() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.queue)
	for _, id := range slices.Clone(c.queue) {
		c.dequeueLocked(id)
	}
	return n
}

func (c *Cache) dequeueLocked(id string) bool {
	i := slices.Index(c.queue, id)
	if i < 0 {
		return false
	}
	c.queue = slices.Delete(c.queue, i, i+1)
	os.Remove(filepath.Join(c.queueDir, id))
	return true
}

// Run caches queued images one at a time with fetch (which calls
// Prefetch), until ctx ends or the cache is closed. An image leaves the
// queue once cached, or when fetch fails (logged).
func (c *Cache) Run(ctx context.Context, fetch func(ctx context.Context, id string) error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-c.stopCtx.Done():
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		c.mu.Lock()
		id := ""
		if len(c.queue) > 0 {
			id = c.queue[0]
		}
		c.mu.Unlock()
		if id == "" {
			select {
			case <-c.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		if err := fetch(ctx, id); err != nil {
			if ctx.Err() != nil {
				return
			}
			c.log.Warn("image cache: a queued image could not be cached", "image", id, "err", err)
		}
		c.mu.Lock()
		c.dequeueLocked(id)
		c.mu.Unlock()
	}
}

// Prefetch caches the whole image, joining a fill in progress, and waits
// until it is in place. ErrNoRoom when it cannot fit.
func (c *Cache) Prefetch(ctx context.Context, im Image, open Opener) error {
	c.mu.Lock()
	if c.entries[im.ID] != nil && c.entries[im.ID].Size == im.Size {
		c.mu.Unlock()
		return nil
	}
	if e := c.entries[im.ID]; e != nil {
		c.removeLocked(e)
	}
	f := c.fills[im.ID]
	if f == nil && im.Size > 0 && validID(im.ID) {
		f = c.startFillLocked(im, open)
	}
	c.mu.Unlock()
	if f == nil {
		return ErrNoRoom
	}
	return f.waitDone(ctx)
}
