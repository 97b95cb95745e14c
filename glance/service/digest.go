package service

import (
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"io"
	"sync/atomic"

	"imagestack/common/bigbuf"
	"imagestack/storage"
)

// digestReader computes md5 and sha512 of everything read through it, each
// on its own goroutine, so that hashing runs beside the network and disk work
// instead of after it. At most chunksInFlight buffers are held, whatever the size of
// the stream; they are taken from a pool shared by all uploads only as data
// arrives, and given back by Sums.
type digestReader struct {
	src       io.Reader
	free      chan []byte
	allocated int // buffers taken from the pool
	md5       *hashWorker
	sha512    *hashWorker
	err       error
}

// chunkPool keeps hashing buffers between uploads, outside the Go heap: in
// it, the garbage collector would let the heap grow to about twice them.
var chunkPool = bigbuf.NewPool(chunkSize, chunksInFlight)

const (
	chunkSize      = 4 << 20
	chunksInFlight = 4
)

// hashWorker feeds chunks to one hash on its own goroutine.
type hashWorker struct {
	h    hash.Hash
	in   chan *chunk
	done chan struct{}
}

// chunk is a buffer shared by both workers; the last one to finish returns
// it to the free list.
type chunk struct {
	buf  []byte
	n    int
	refs atomic.Int32
}

func newHashWorker(h hash.Hash, free chan []byte) *hashWorker {
	w := &hashWorker{h: h, in: make(chan *chunk, chunksInFlight), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for c := range w.in {
			w.h.Write(c.buf[:c.n])
			if c.refs.Add(-1) == 0 {
				free <- c.buf
			}
		}
	}()
	return w
}

func newDigestReader(src io.Reader) *digestReader {
	d := &digestReader{src: src, free: make(chan []byte, chunksInFlight)}
	d.md5 = newHashWorker(md5.New(), d.free)
	d.sha512 = newHashWorker(sha512.New(), d.free)
	return d
}

// Read fills p from the source and hands a copy of the bytes to the hashers.
func (d *digestReader) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	buf := d.buffer()
	// Fill the chunk (HTTP bodies arrive a few KiB at a time) so that hashing
	// and disk writes work on large blocks.
	n, err := storage.Fill(d.src, buf[:min(len(p), len(buf))])
	if n > 0 {
		copy(p, buf[:n])
		c := &chunk{buf: buf, n: n}
		c.refs.Store(2)
		d.md5.in <- c
		d.sha512.in <- c
	} else {
		d.free <- buf
	}
	if err != nil {
		d.err = err
	}
	return n, err
}

// buffer returns a free chunk, taking a new one from the pool while fewer
// than chunksInFlight are in use.
func (d *digestReader) buffer() []byte {
	select {
	case b := <-d.free:
		return b
	default:
	}
	if d.allocated < chunksInFlight {
		d.allocated++
		return chunkPool.Get()
	}
	return <-d.free
}

// Sums stops the workers, gives the buffers back and returns the hex md5
// and sha512 of all bytes read. Call it once, after the last Read.
func (d *digestReader) Sums() (string, string) {
	close(d.md5.in)
	close(d.sha512.in)
	<-d.md5.done
	<-d.sha512.done
	for range d.allocated {
		chunkPool.Put(<-d.free)
	}
	return hex.EncodeToString(d.md5.h.Sum(nil)), hex.EncodeToString(d.sha512.h.Sum(nil))
}
