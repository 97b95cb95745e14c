package filesystem

import (
	"bytes"
	"os"
	"testing"
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
