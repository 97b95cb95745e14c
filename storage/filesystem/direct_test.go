package filesystem

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestDirectWriteFallsBack checks that a write O_DIRECT refuses (here a
// buffer that is not aligned in memory, as on a device wanting a larger
// alignment) is done through the page cache instead of failing the upload.
func TestDirectWriteFallsBack(t *testing.T) {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f, direct, err := s.createTemp("k")
	if err != nil || !direct {
		t.Fatalf("createTemp: direct=%v %v", direct, err)
	}
	defer f.Close()
	buf := alignedBuffer(2 * directAlign)[1 : directAlign+1]
	for i := range buf {
		buf[i] = byte(i)
	}
	w := &writer{f: f, direct: true}
	if err := w.write(buf, 0); err != nil {
		t.Fatalf("write: %v", err)
	}
	if w.direct {
		t.Fatal("still writing with O_DIRECT after the refusal")
	}
	got, err := os.ReadFile(f.Name())
	if err != nil || !bytes.Equal(got, buf) {
		t.Fatalf("file holds %d bytes (%v), want the %d written", len(got), err, len(buf))
	}
}

// TestDirectWriteReadBack checks that a blob written with O_DIRECT is in
// the page cache once Put returns, so that a download right after the
// upload does not wait for the disk.
func TestDirectWriteReadBack(t *testing.T) {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const size = 3*writeBufferSize + 12345
	if _, err := s.Put(context.Background(), "k", io.LimitReader(rand.Reader, size)); err != nil {
		t.Fatal(err)
	}
	p, _ := s.path("k")
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	pages := make([]byte, (size+os.Getpagesize()-1)/os.Getpagesize())
	// The read back is asynchronous: give the disk a moment.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&pages[0]))); errno != 0 {
			t.Fatal(errno)
		}
		missing := 0
		for _, v := range pages {
			missing += int(1 - v&1)
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d pages of the new blob are not in the page cache", missing, len(pages))
		}
	}
}
