// Package imagecache keeps one local copy per image for the servers of this
// host: an image is downloaded once, however many servers boot it at the same
// time, and its md5 is checked against the image's checksum before use. Base
// files are never removed while the service runs, so no overlay ever loses
// its backing file.
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
	return &Cache{dir: dir, log: log}, nil
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
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	_, err, _ := c.group.Do(imageID, func() (any, error) {
		if _, err := os.Stat(path); err == nil {
			return nil, nil
		}
		// The download outlives any one waiting request.
		return nil, c.fetch(context.WithoutCancel(ctx), path, checksum, download)
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
