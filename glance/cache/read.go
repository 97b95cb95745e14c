package cache

import (
	"context"
	"errors"
	"io"
	"os"
	"time"
)

// Read opens length bytes (length < 0: to the end) of the image's data
// from offset. A complete entry serves it; a fill in progress serves it as
// the data arrives; otherwise a read of the whole image starts a fill and
// follows it. Ranges of images not being cached, and images the cache has
// no room for, are read from the store with open. The error of a fill that
// fails before the first byte is returned here (a store outage stays an
// error the client can be told of); later failures end the stream.
func (c *Cache) Read(ctx context.Context, im Image, offset, length int64, open Opener) (io.ReadCloser, error) {
	if length < 0 || offset+length > im.Size {
		length = max(0, im.Size-offset)
	}
	if im.Size <= 0 || !validID(im.ID) {
		return open(ctx, offset, length)
	}
	c.mu.Lock()
	if e := c.entries[im.ID]; e != nil {
		if e.Size == im.Size {
			r, err := c.openEntryLocked(e, offset, length)
			if err == nil {
				c.mu.Unlock()
				return r, nil
			}
			c.log.Warn("image cache: entry unreadable; dropped", "image", im.ID, "err", err)
		} else {
			c.log.Warn("image cache: entry size differs from the image's; dropped", "image", im.ID)
		}
		c.removeLocked(e)
	}
	f := c.fills[im.ID]
	if f == nil && offset == 0 && length == im.Size {
		f = c.startFillLocked(im, open)
	}
	if f == nil {
		c.mu.Unlock()
		return open(ctx, offset, length)
	}
	r, err := f.follow(ctx, offset, length)
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	// Wait for the first byte: a fill that cannot start is the caller's error.
	if length > 0 {
		if _, err := f.wait(ctx, offset); err != nil {
			r.Close()
			if errors.Is(err, errLocal) { // the cache's disk failed, not the store
				return open(ctx, offset, length)
			}
			return nil, err
		}
	}
	return r, nil
}

// openEntryLocked opens a complete entry, pinning it until Close.
func (c *Cache) openEntryLocked(e *entry, offset, length int64) (io.ReadCloser, error) {
	file, err := os.Open(c.path(e.ImageID))
	if err != nil {
		return nil, err
	}
	if _, err := file.Seek(offset, io.SeekStart); err != nil {
		file.Close()
		return nil, err
	}
	now := time.Now()
	e.readers++
	e.Hits++
	e.LastAccessed = now
	c.lru.MoveToFront(e.elem)
	// The access time survives restarts as the file's atime (LRU order).
	_ = os.Chtimes(file.Name(), now, e.LastModified)
	return &entryReader{file: file, left: length, release: func() { c.release(e) }}, nil
}

func (c *Cache) release(e *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.readers--
	if e.readers == 0 && e.gone {
		c.used -= e.Size
	}
}

// entryReader reads a range of a complete entry.
type entryReader struct {
	file    *os.File
	left    int64
	release func()
	closed  bool
}

func (r *entryReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.left)]
	n, err := r.file.Read(p)
	r.left -= int64(n)
	if err == io.EOF && r.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// WriteTo lets a socket take the file directly (sendfile): the cache is
// served without copies through user space.
func (r *entryReader) WriteTo(w io.Writer) (int64, error) {
	n, err := sendFile(w, r.file, r.left)
	r.left -= n
	return n, err
}

// sendFile writes n bytes of file from its current offset to w, through
// w's ReadFrom when it has one (a TCP connection then uses sendfile).
func sendFile(w io.Writer, file *os.File, n int64) (int64, error) {
	lr := &io.LimitedReader{R: file, N: n}
	var m int64
	var err error
	if rf, ok := w.(io.ReaderFrom); ok {
		m, err = rf.ReadFrom(lr)
	} else {
		m, err = io.CopyBuffer(w, lr, make([]byte, 1<<20))
	}
	if err == nil && m < n {
		err = io.ErrUnexpectedEOF
	}
	return m, err
}

func (r *entryReader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.release()
	return r.file.Close()
}
