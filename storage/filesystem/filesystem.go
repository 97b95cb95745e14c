// Package filesystem is a storage.Store on a local directory. Each blob is
// written to a temporary file in the store's own tmp directory, fsynced, then
// renamed into place, so a blob is either complete or absent, even across a
// crash. Neither directory is ever served directly.
package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"imagestack/storage"
)

// Store keeps blobs under Root/blobs, with in-progress writes in Root/tmp.
type Store struct {
	root string
}

// New opens (creating if needed) a store rooted at dir and removes temporary
// files left by writes that a crash interrupted.
func New(dir string) (*Store, error) {
	s := &Store{root: dir}
	for _, d := range []string{s.blobDir(), s.tmpDir()} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("filesystem store: %w", err)
		}
	}
	entries, err := os.ReadDir(s.tmpDir())
	if err != nil {
		return nil, fmt.Errorf("filesystem store: %w", err)
	}
	for _, e := range entries {
		_ = os.Remove(filepath.Join(s.tmpDir(), e.Name()))
	}
	return s, nil
}

func (s *Store) blobDir() string { return filepath.Join(s.root, "blobs") }
func (s *Store) tmpDir() string  { return filepath.Join(s.root, "tmp") }

func (s *Store) path(key string) (string, error) {
	if !storage.ValidKey(key) {
		return "", fmt.Errorf("%w: %q", storage.ErrInvalidKey, key)
	}
	return filepath.Join(s.blobDir(), key), nil
}

// TempFiles counts in-progress temporary files (tests use it to prove that a
// failed write leaves nothing behind).
func (s *Store) TempFiles() int {
	entries, _ := os.ReadDir(s.tmpDir())
	return len(entries)
}

// classify converts OS errors to storage sentinels.
func classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %v", storage.ErrNotFound, err)
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("%w: %v", storage.ErrFull, err)
	case errors.Is(err, syscall.EIO), errors.Is(err, syscall.EROFS):
		return fmt.Errorf("%w: %v", storage.ErrUnavailable, err)
	}
	return err
}

// ctxReader stops a copy as soon as ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// copyBufferSize is the one buffer a Put holds, whatever the blob's size.
const copyBufferSize = 1 << 20

// Put implements storage.Store.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	dst, err := s.path(key)
	if err != nil {
		return 0, err
	}
	if _, err := os.Lstat(dst); err == nil {
		return 0, fmt.Errorf("%w: %s", storage.ErrExists, key)
	}
	tmp, err := os.CreateTemp(s.tmpDir(), key+".*")
	if err != nil {
		return 0, classify(err)
	}
	keep := false
	defer func() {
		if !keep {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	buf := make([]byte, copyBufferSize)
	n, err := io.CopyBuffer(onlyWriter{tmp}, ctxReader{ctx, r}, buf)
	if err != nil {
		return n, classify(err)
	}
	if err := tmp.Sync(); err != nil {
		return n, classify(err)
	}
	if err := tmp.Close(); err != nil {
		return n, classify(err)
	}
	// Link, unlike rename, refuses to replace a blob that a concurrent Put
	// finished first: exactly one writer wins.
	if err := os.Link(tmp.Name(), dst); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return n, fmt.Errorf("%w: %s", storage.ErrExists, key)
		}
		return n, classify(err)
	}
	os.Remove(tmp.Name())
	keep = true
	syncDir(s.blobDir())
	return n, nil
}

// onlyWriter hides ReadFrom so that CopyBuffer uses our bounded buffer.
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// Get implements storage.Store.
func (s *Store) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, classify(err)
	}
	// Image reads are long and sequential: a larger readahead keeps the disk
	// streaming while the data goes out (a hint; failure changes nothing).
	_ = unix.Fadvise(int(f.Fd()), offset, 0, unix.FADV_SEQUENTIAL)
	if offset > 0 {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return nil, classify(err)
		}
	}
	if length < 0 {
		return f, nil
	}
	return &fileRange{LimitedReader: &io.LimitedReader{R: f, N: length}, f: f}, nil
}

// fileRange reads part of a file and exposes it for sendfile.
type fileRange struct {
	*io.LimitedReader
	f *os.File
}

func (r *fileRange) Close() error      { return r.f.Close() }
func (r *fileRange) Direct() io.Reader { return r.LimitedReader }

// Stat implements storage.Store.
func (s *Store) Stat(ctx context.Context, key string) (storage.Info, error) {
	p, err := s.path(key)
	if err != nil {
		return storage.Info{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return storage.Info{}, classify(err)
	}
	return storage.Info{Size: fi.Size()}, nil
}

// Delete implements storage.Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil {
		return classify(err)
	}
	return nil
}
