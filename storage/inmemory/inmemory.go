// Package inmemory is a storage.Store that keeps blobs in memory: for tests
// and throw-away servers, as distribution's inmemory driver. It meets the
// whole storage.Store contract except the bounded memory of Put (a blob is
// held whole), and loses everything when the process ends.
package inmemory

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"imagestack/storage"
)

// Type is the name configurations use for this backend.
const Type = "inmemory"

func init() { storage.Register(Type, open) }

// open is the storage.Factory of in-memory stores: they take no settings.
func open(_ context.Context, params storage.Params) (storage.Store, error) {
	if err := params.Decode(&struct{}{}); err != nil {
		return nil, fmt.Errorf("inmemory store: %w", err)
	}
	return New(), nil
}

// Store keeps blobs in a map. Blobs are never changed once stored, so
// readers share them without copying.
type Store struct {
	mu      sync.Mutex
	blobs   map[string][]byte
	writing map[string]bool // keys claimed by a Put in progress
}

var _ storage.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{blobs: map[string][]byte{}, writing: map[string]bool{}}
}

// Put implements storage.Store. The key is claimed first, so that of two
// concurrent Puts exactly one succeeds, and the blob appears only once
// read whole.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	if !storage.ValidKey(key) {
		return 0, fmt.Errorf("%w: %q", storage.ErrInvalidKey, key)
	}
	s.mu.Lock()
	_, exists := s.blobs[key]
	if exists || s.writing[key] {
		s.mu.Unlock()
		return 0, fmt.Errorf("%w: %s", storage.ErrExists, key)
	}
	s.writing[key] = true
	s.mu.Unlock()
	data, err := readAll(ctx, r)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.writing, key)
	if err != nil {
		return 0, err
	}
	s.blobs[key] = data
	return int64(len(data)), nil
}

// readAll reads r to its end, checking ctx between reads so that a
// cancelled Put ends while its client still sends.
func readAll(ctx context.Context, r io.Reader) ([]byte, error) {
	var buf bytes.Buffer
	chunk := make([]byte, 256<<10)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, err := r.Read(chunk)
		buf.Write(chunk[:n])
		if err == io.EOF {
			return buf.Bytes(), ctx.Err()
		}
		if err != nil {
			return nil, err
		}
	}
}

// Get implements storage.Store. The reader is a *bytes.Reader, which
// implements io.WriterTo.
func (s *Store) Get(_ context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	data, err := s.blob(key)
	if err != nil {
		return nil, err
	}
	offset = min(max(offset, 0), int64(len(data)))
	end := int64(len(data))
	if length >= 0 && offset+length < end {
		end = offset + length
	}
	return io.NopCloser(bytes.NewReader(data[offset:end])), nil
}

// Stat implements storage.Store.
func (s *Store) Stat(_ context.Context, key string) (storage.Info, error) {
	data, err := s.blob(key)
	if err != nil {
		return storage.Info{}, err
	}
	return storage.Info{Size: int64(len(data))}, nil
}

// Delete implements storage.Store.
func (s *Store) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.blobs[key]; !ok {
		return fmt.Errorf("%w: %s", storage.ErrNotFound, key)
	}
	delete(s.blobs, key)
	return nil
}

// InProgress counts the Puts under way (the conformance suite checks that a
// failed one leaves none).
func (s *Store) InProgress() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.writing)
}

func (s *Store) blob(key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, ok := s.blobs[key]
	if !ok {
		return nil, fmt.Errorf("%w: %s", storage.ErrNotFound, key)
	}
	return data, nil
}
