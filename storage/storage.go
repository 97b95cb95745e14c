// Package storage defines where image data lives: a Store keeps immutable
// blobs by key. Backends (filesystem, S3) implement it and convert their own
// errors into the sentinels below; the image service never sees a backend's
// error types.
package storage

import (
	"context"
	"errors"
	"io"
	"regexp"
)

// Errors every backend reports through errors.Is.
var (
	// ErrNotFound: no blob under that key.
	ErrNotFound = errors.New("blob not found")
	// ErrExists: Put to a key that already holds a blob.
	ErrExists = errors.New("blob already exists")
	// ErrFull: the store has no room for the data (disk full, quota).
	ErrFull = errors.New("store is full")
	// ErrUnavailable: the store cannot be reached or failed temporarily.
	ErrUnavailable = errors.New("store unavailable")
	// ErrInvalidKey: the key is not acceptable (see ValidKey).
	ErrInvalidKey = errors.New("invalid blob key")
)

// Info describes a stored blob.
type Info struct {
	Size int64
}

// Store keeps blobs. Every method is safe for concurrent use.
type Store interface {
	// Put streams r into a new blob under key and returns the bytes written.
	// The blob becomes visible only once complete: when r returns an error,
	// ctx ends or the store fails, Put returns that error and leaves nothing
	// behind, neither the blob nor partial data. A key that already holds a
	// blob gives ErrExists (and r is not read). Put holds at most a bounded
	// buffer in memory, whatever the blob's size.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)

	// Get opens the blob for reading length bytes from offset (length < 0:
	// to the end). An offset beyond the end reads nothing. ErrNotFound when
	// the key holds no blob. The reader may implement io.WriterTo to send
	// its data without a user-space copy, so callers copy with io.Copy.
	Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)

	// Stat returns the blob's size, or ErrNotFound.
	Stat(ctx context.Context, key string) (Info, error)

	// Delete removes the blob, or returns ErrNotFound.
	Delete(ctx context.Context, key string) error
}

var keyPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$`)

// ValidKey reports whether key is acceptable to every backend: 1 to 200
// characters of letters, digits, '.', '_' and '-', not starting with a dot
// or dash (so a key can never name a path outside the store).
func ValidKey(key string) bool { return keyPattern.MatchString(key) }

// Fill reads from r until buf is full, r ends or r fails. Unlike
// io.ReadFull it reports io.EOF only when r itself ended (n may then be
// above zero), so a source that fails with io.ErrUnexpectedEOF (an HTTP body
// cut short) is never mistaken for a complete stream.
func Fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
