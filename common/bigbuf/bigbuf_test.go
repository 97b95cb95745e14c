package bigbuf

import (
	"bytes"
	"testing"
)

func TestPoolReusesBuffers(t *testing.T) {
	p := NewPool(1<<20, 1)
	a, b := p.Get(), p.Get()
	if len(a) != 1<<20 || len(b) != 1<<20 {
		t.Fatalf("sizes %d, %d", len(a), len(b))
	}
	a[0], b[0] = 1, 2
	p.Put(a) // kept warm
	p.Put(b) // released: pages dropped
	warm, cold := p.Get(), p.Get()
	if &warm[0] != &a[0] || warm[0] != 1 {
		t.Fatal("the warm buffer was not reused as it was")
	}
	if &cold[0] != &b[0] || !bytes.Equal(cold[:1], []byte{0}) {
		t.Fatal("the released buffer was not reused with its pages given back")
	}
	cold[len(cold)-1] = 3 // still writable
}
