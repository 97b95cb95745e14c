// Package storetest is the conformance suite every storage.Store backend must
// pass. Backends run it from their own tests with a fresh, empty store.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"sync"
	"testing"

	"imagestack/storage"
)

// Options tunes the suite for a backend.
type Options struct {
	// Leftovers, if set, reports partial data a failed Put may have left
	// (temporary files, unfinished multipart uploads); it must be 0 after
	// every failure.
	Leftovers func() int
}

// failingReader yields n bytes, then fails.
type failingReader struct {
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	if len(p) > f.n {
		p = p[:f.n]
	}
	for i := range p {
		p[i] = 'x'
	}
	f.n -= len(p)
	return len(p), nil
}

// Run exercises the storage.Store contract.
func Run(t *testing.T, s storage.Store, opt Options) {
	ctx := context.Background()
	leftovers := func(what string) {
		t.Helper()
		if opt.Leftovers != nil {
			if n := opt.Leftovers(); n != 0 {
				t.Fatalf("%s left %d pieces of partial data behind", what, n)
			}
		}
	}
	data := make([]byte, 9<<20+17) // spans several buffers, not a multiple of any
	_, _ = rand.Read(data)

	t.Run("PutGetRoundTrip", func(t *testing.T) {
		n, err := s.Put(ctx, "roundtrip", bytes.NewReader(data))
		if err != nil || n != int64(len(data)) {
			t.Fatalf("Put = %d, %v", n, err)
		}
		rc, err := s.Get(ctx, "roundtrip", 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("Get returned %d bytes (err %v), want the %d put", len(got), err, len(data))
		}
		info, err := s.Stat(ctx, "roundtrip")
		if err != nil || info.Size != int64(len(data)) {
			t.Fatalf("Stat = %+v, %v", info, err)
		}
	})

	t.Run("Ranges", func(t *testing.T) {
		if _, err := s.Put(ctx, "ranges", bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		cases := []struct{ off, length int64 }{{0, 10}, {5, 1}, {1 << 20, 1 << 20}, {int64(len(data)) - 7, -1}, {int64(len(data)) - 3, 100}}
		for _, c := range cases {
			rc, err := s.Get(ctx, "ranges", c.off, c.length)
			if err != nil {
				t.Fatalf("Get(%d,%d): %v", c.off, c.length, err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			end := int64(len(data))
			if c.length >= 0 && c.off+c.length < end {
				end = c.off + c.length
			}
			if err != nil || !bytes.Equal(got, data[c.off:end]) {
				t.Fatalf("Get(%d,%d) = %d bytes, %v", c.off, c.length, len(got), err)
			}
		}
	})

	t.Run("EmptyBlob", func(t *testing.T) {
		n, err := s.Put(ctx, "empty", bytes.NewReader(nil))
		if err != nil || n != 0 {
			t.Fatalf("Put empty = %d, %v", n, err)
		}
		if info, err := s.Stat(ctx, "empty"); err != nil || info.Size != 0 {
			t.Fatalf("Stat empty = %+v, %v", info, err)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		if _, err := s.Get(ctx, "absent", 0, -1); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("Get absent: %v", err)
		}
		if _, err := s.Stat(ctx, "absent"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("Stat absent: %v", err)
		}
		if err := s.Delete(ctx, "absent"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("Delete absent: %v", err)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		if _, err := s.Put(ctx, "doomed", bytes.NewReader([]byte("bye"))); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, "doomed"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Stat(ctx, "doomed"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("Stat after delete: %v", err)
		}
	})

	t.Run("ExistingKey", func(t *testing.T) {
		if _, err := s.Put(ctx, "once", bytes.NewReader([]byte("first"))); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Put(ctx, "once", bytes.NewReader([]byte("second"))); !errors.Is(err, storage.ErrExists) {
			t.Fatalf("second Put: %v", err)
		}
		rc, _ := s.Get(ctx, "once", 0, -1)
		got, _ := io.ReadAll(rc)
		rc.Close()
		if string(got) != "first" {
			t.Fatalf("blob overwritten: %q", got)
		}
	})

	t.Run("FailedReaderLeavesNothing", func(t *testing.T) {
		boom := errors.New("client went away")
		_, err := s.Put(ctx, "broken", &failingReader{n: 2<<20 + 5, err: boom})
		if !errors.Is(err, boom) {
			t.Fatalf("Put with failing reader: %v", err)
		}
		if _, err := s.Stat(ctx, "broken"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("partial blob visible: %v", err)
		}
		leftovers("a failing reader")
	})

	t.Run("CancelledContextLeavesNothing", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		pr, pw := io.Pipe()
		go func() {
			pw.Write(make([]byte, 1<<20))
			cancel()
			pw.Write(make([]byte, 1<<20))
			pw.Close()
		}()
		if _, err := s.Put(cctx, "cancelled", pr); err == nil {
			t.Fatal("Put succeeded after its context was cancelled")
		}
		pr.Close()
		if _, err := s.Stat(ctx, "cancelled"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("partial blob visible after cancel: %v", err)
		}
		leftovers("a cancelled context")
	})

	t.Run("InvalidKeys", func(t *testing.T) {
		for _, k := range []string{"", "../escape", "a/b", ".hidden", "-dash"} {
			if _, err := s.Put(ctx, k, bytes.NewReader(nil)); !errors.Is(err, storage.ErrInvalidKey) {
				t.Errorf("Put(%q): %v", k, err)
			}
		}
	})

	t.Run("ConcurrentPutsOneWins", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, errs[i] = s.Put(ctx, "race", bytes.NewReader(data[:1<<20]))
			}(i)
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, storage.ErrExists):
				t.Fatalf("concurrent Put: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d concurrent Puts succeeded, want exactly 1", ok)
		}
		leftovers("concurrent puts")
	})
}
