// Package bigbuf hands out large byte buffers that live outside the Go
// heap (anonymous memory maps). Streams of many gigabytes pass through a few
// such buffers, reused over and over: kept in the heap they would count
// towards the garbage collector's target, which lets the heap grow to about
// twice what is live before it collects, so the process's resident memory
// would grow by about twice the buffers. Outside the heap they cost exactly
// their size while in use, and nothing once given back beyond what the pool
// keeps warm.
package bigbuf

import (
	"fmt"
	"sync"
	"syscall"
)

// Pool hands out buffers of one size. It keeps up to keep returned buffers
// resident for the next user; buffers returned beyond that have their pages
// given back to the system (their address range is kept and reused, never
// unmapped, so a buffer used after Put can only race with its next user,
// never touch memory the runtime reuses). Safe for concurrent use.
type Pool struct {
	size int
	warm chan []byte // resident, ready
	mu   sync.Mutex
	cold [][]byte // pages released; refilled with zeros on first touch
}

// NewPool returns a pool of size-byte buffers keeping keep of them warm.
func NewPool(size, keep int) *Pool {
	return &Pool{size: size, warm: make(chan []byte, keep)}
}

// Size is the length of every buffer of the pool.
func (p *Pool) Size() int { return p.size }

// Get returns a buffer of Size bytes. Its content is undefined.
func (p *Pool) Get() []byte {
	select {
	case b := <-p.warm:
		return b
	default:
	}
	p.mu.Lock()
	if n := len(p.cold); n > 0 {
		b := p.cold[n-1]
		p.cold = p.cold[:n-1]
		p.mu.Unlock()
		return b
	}
	p.mu.Unlock()
	b, err := syscall.Mmap(-1, 0, p.size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		// As the runtime does when the heap cannot grow.
		panic(fmt.Sprintf("bigbuf: cannot map %d bytes: %v", p.size, err))
	}
	return b
}

// Put gives b, which Get returned, back; b must not be used afterwards.
func (p *Pool) Put(b []byte) {
	b = b[:cap(b)]
	select {
	case p.warm <- b:
		return
	default:
	}
	_ = syscall.Madvise(b, syscall.MADV_DONTNEED)
	p.mu.Lock()
	p.cold = append(p.cold, b)
	p.mu.Unlock()
}
