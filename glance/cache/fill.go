package cache

import (
	"context"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"
	"time"
)

// ErrMismatch: the data a fill read from the store is not the image's
// (size, or its sha512, or its md5 when it has no sha512, differ). The
// fill is discarded.
var ErrMismatch = errors.New("image cache: data read from the store does not match the image's size or checksums")

// errLocal: the cache's own disk failed during a fill.
var errLocal = errors.New("image cache: local disk")

// fill copies one image from its store into a partial file, renamed into
// place once verified. Readers follow it through their own descriptors.
type fill struct {
	im      Image
	part    string
	dropped bool // under Cache.mu: discard when done

	mu      sync.Mutex
	written int64
	// verified: every byte is in and matches; readers may read the last.
	verified bool
	done     bool // the entry is in place, or discarded
	err      error
	changed  chan struct{} // closed and replaced at each change
}

// startFillLocked reserves room for the image and starts copying it from
// its store, or returns nil when it cannot be cached.
func (c *Cache) startFillLocked(im Image, open Opener) *fill {
	if !c.reserveLocked(im.Size) {
		c.log.Info("image cache: no room for the image; read from the store", "image", im.ID, "size", im.Size)
		return nil
	}
	file, err := os.CreateTemp(c.dir, im.ID+".*"+partSuffix)
	if err != nil {
		c.used -= im.Size
		c.log.Error("image cache: cannot create a fill", "image", im.ID, "err", err)
		return nil
	}
	f := &fill{im: im, part: file.Name(), changed: make(chan struct{})}
	c.fills[im.ID] = f
	c.fetches++
	// The fill outlives the request that started it: other readers, and the
	// next ones, get the image from the cache.
	go c.runFill(f, file, open)
	return f
}

func (c *Cache) runFill(f *fill, file *os.File, open Opener) {
	start := time.Now()
	err := f.copy(c.stopCtx, file, open)
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err = c.finish(f, err); err != nil {
		c.log.Warn("image cache: fill failed; nothing cached", "image", f.im.ID, "err", err)
		return
	}
	c.log.Info("image cache: image cached", "image", f.im.ID, "size", f.im.Size, "duration_ms", time.Since(start).Milliseconds())
}

// copy reads the whole image into file, verifies it (readers may then
// have the last byte) and syncs it. Hashing runs on its own goroutine,
// beside the network and disk work, over at most fillBuffers buffers.
func (f *fill) copy(ctx context.Context, file *os.File, open Opener) error {
	rc, err := open(ctx, 0, -1)
	if err != nil {
		return err
	}
	defer rc.Close()
	hs := newHasher(f.im)
	err = f.copyInto(file, rc, hs)
	if ok := hs.finish(); err == nil && (f.written != f.im.Size || !ok) {
		err = ErrMismatch
	}
	if err != nil {
		return err
	}
	f.setVerified()
	// Readers have their bytes; the entry waits for the disk (a crash must
	// never leave a complete-looking entry with missing data).
	if err := file.Sync(); err != nil {
		return fmt.Errorf("%w: sync: %w", errLocal, err)
	}
	return nil
}

func (f *fill) copyInto(file *os.File, rc io.Reader, hs *hasher) error {
	for {
		buf := <-hs.free
		n, rerr := rc.Read(buf)
		if n > 0 {
			if f.written+int64(n) > f.im.Size {
				return ErrMismatch
			}
			if _, err := file.Write(buf[:n]); err != nil {
				return fmt.Errorf("%w: write: %w", errLocal, err)
			}
			f.progress(int64(n))
		}
		hs.in <- buf[:n]
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

const fillBuffers = 4

// hasher hashes a fill's chunks on its own goroutine. One hash is enough
// to know the bytes: sha512 when the image has one (Glance's
// os_hash_value), else the md5 checksum.
type hasher struct {
	in, free chan []byte
	done     chan bool // the hash matched
}

func newHasher(im Image) *hasher {
	h, want := sha512.New(), im.SHA512
	if want == "" {
		h, want = md5.New(), im.MD5
	}
	hs := &hasher{in: make(chan []byte, fillBuffers), free: make(chan []byte, fillBuffers), done: make(chan bool, 1)}
	for range fillBuffers {
		hs.free <- make([]byte, 1<<20)
	}
	go func() {
		for b := range hs.in {
			h.Write(b)
			hs.free <- b[:cap(b)]
		}
		hs.done <- !mismatch(h, want)
	}()
	return hs
}

// finish waits for the hash of every chunk and reports whether it matched.
func (hs *hasher) finish() bool {
	close(hs.in)
	return <-hs.done
}

func mismatch(h hash.Hash, want string) bool {
	return want != "" && hex.EncodeToString(h.Sum(nil)) != want
}

// finish puts a verified fill into place (unless dropped meanwhile) or
// removes it, then tells its readers.
func (c *Cache) finish(f *fill, err error) error {
	c.mu.Lock()
	if c.fills[f.im.ID] == f {
		delete(c.fills, f.im.ID)
	}
	if err == nil && f.dropped {
		err = errDropped
	}
	if err == nil {
		err = c.commitLocked(f)
	}
	if err != nil {
		os.Remove(f.part)
		c.used -= f.im.Size
	}
	c.mu.Unlock()
	f.end(err)
	return err
}

// errDropped: the image left the cache during its fill (readers still
// got every byte; only the entry is discarded).
var errDropped = errors.New("image cache: image dropped during its fill")

func (c *Cache) commitLocked(f *fill) error {
	if err := os.Rename(f.part, c.path(f.im.ID)); err != nil {
		return err
	}
	now := time.Now()
	e := &entry{Entry: Entry{ImageID: f.im.ID, Size: f.im.Size, LastModified: now, LastAccessed: now}}
	e.elem = c.lru.PushFront(e)
	c.entries[e.ImageID] = e
	c.dequeueLocked(e.ImageID)
	return nil
}

func (f *fill) setVerified() {
	f.mu.Lock()
	f.verified = true
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

func (f *fill) progress(n int64) {
	f.mu.Lock()
	f.written += n
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

func (f *fill) end(err error) {
	f.mu.Lock()
	f.done = true
	if !errors.Is(err, errDropped) {
		f.err = err
	}
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

// wait blocks until readers may read past pos, and returns how far they
// may read: up to what was written, but the image's last byte only once
// the fill is verified. It returns the fill's error if it failed first.
func (f *fill) wait(ctx context.Context, pos int64) (int64, error) {
	for {
		f.mu.Lock()
		limit := f.written
		if !f.verified {
			limit = min(limit, f.im.Size-1)
		}
		done, err, ch := f.done, f.err, f.changed
		f.mu.Unlock()
		switch {
		case pos < limit:
			return limit, nil
		case err != nil:
			return 0, err
		case done:
			return limit, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// waitDone waits for the fill to end (its entry in place, or discarded)
// and returns its error.
func (f *fill) waitDone(ctx context.Context) error {
	for {
		f.mu.Lock()
		done, err, ch := f.done, f.err, f.changed
		f.mu.Unlock()
		if done {
			return err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// follow opens a reader of the fill's partial file (call under Cache.mu,
// while the file is still in place).
func (f *fill) follow(ctx context.Context, offset, length int64) (io.ReadCloser, error) {
	file, err := os.Open(f.part)
	if err != nil {
		return nil, err
	}
	return &follower{ctx: ctx, f: f, file: file, pos: offset, end: offset + length}, nil
}

// follower streams a fill's data as it arrives.
type follower struct {
	ctx      context.Context
	f        *fill
	file     *os.File
	pos, end int64
}

func (r *follower) Read(p []byte) (int, error) {
	if r.pos >= r.end {
		return 0, io.EOF
	}
	limit, err := r.f.wait(r.ctx, r.pos)
	if err != nil {
		return 0, err
	}
	n := min(int64(len(p)), limit-r.pos, r.end-r.pos)
	m, err := r.file.ReadAt(p[:n], r.pos)
	r.pos += int64(m)
	if err == io.EOF && m > 0 {
		err = nil
	}
	return m, err
}

// WriteTo sends each part of the fill as it becomes readable, straight
// from the file (sendfile on a TCP connection).
func (r *follower) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for r.pos < r.end {
		limit, err := r.f.wait(r.ctx, r.pos)
		if err != nil {
			return total, err
		}
		if _, err := r.file.Seek(r.pos, io.SeekStart); err != nil {
			return total, err
		}
		n, err := sendFile(w, r.file, min(limit, r.end)-r.pos)
		total += n
		r.pos += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (r *follower) Close() error { return r.file.Close() }
