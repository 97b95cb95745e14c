package imagecache

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// ChunkSize is the unit of the range map: a read of a byte not yet here
// fetches the whole chunk holding it, once, whoever else waits for it.
const ChunkSize = 4 << 20

// Source reads n bytes of an image's data from off into w (a Range read
// of the image service).
type Source func(ctx context.Context, off, n int64, w io.Writer) error

// fetchRetryFor bounds how long the background fill retries one chunk
// (backing off from 100 ms to 10 s between attempts) before it gives the
// base up: an image service restarting or briefly unreachable must not
// fail the servers already running on the base.
var fetchRetryFor = 2 * time.Minute

// Fill is an image's base while it arrives: a sparse file beside the
// cache's verified bases and a range map of the chunks already written.
// Reads of missing chunks fetch them at once; meanwhile the whole image is
// fetched in order in the background, then its md5 is checked. A verified
// fill becomes the image's normal base file; a failed one is removed.
type Fill struct {
	imageID, checksum string
	size              int64
	path              string // the verified base's path, once renamed
	f                 *os.File
	src               Source
	ctx               context.Context // the fill's own: fetches outlive the reads that ask for them

	mu     sync.Mutex
	have   []bool                // range map: chunk i is written
	busy   map[int]chan struct{} // chunks being fetched; closed when written (or failed)
	filled int                   // chunks written

	served atomic.Int64  // bytes read before verification
	booted chan struct{} // closed by Booted: the background fill may start
	once   sync.Once
	done   chan struct{}
	err    error // why the fill failed; read after done
}

func newFill(ctx context.Context, dir, imageID, checksum string, size int64, src Source) (*Fill, error) {
	f, err := os.CreateTemp(dir, imageID+".part*")
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(size); err != nil { // sparse: holes until written
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	n := int((size + ChunkSize - 1) / ChunkSize)
	return &Fill{imageID: imageID, checksum: checksum, size: size, f: f, src: src, ctx: ctx,
		have: make([]bool, n), busy: map[int]chan struct{}{}, booted: make(chan struct{}), done: make(chan struct{})}, nil
}

// Size is the image's size in bytes.
func (fl *Fill) Size() int64 { return fl.size }

// Done is closed once the base is verified or has failed (see Err).
func (fl *Fill) Done() <-chan struct{} { return fl.done }

// Err waits for the end of the fill and returns why it failed, nil once
// verified.
func (fl *Fill) Err() error {
	<-fl.done
	return fl.err
}

// Verified is Err (the compute service's Arriving).
func (fl *Fill) Verified() error { return fl.Err() }

// Booted says the VM reading the base has started: the background fill,
// which would compete with its first reads (and with its start: this
// host's CPUs and disk), begins now rather than during the boot.
func (fl *Fill) Booted() { fl.once.Do(func() { close(fl.booted) }) }

// bootWait is how long the background fill waits for Booted at most.
var bootWait = 10 * time.Second

// Served is how many bytes were read from the fill before it was verified.
func (fl *Fill) Served() int64 { return fl.served.Load() }

// Filled reports how many bytes of the image are here (whole chunks).
func (fl *Fill) Filled() int64 {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	return min(int64(fl.filled)*ChunkSize, fl.size)
}

// ReadAt reads the image's bytes at off, fetching the chunks not here yet.
// It implements io.ReaderAt.
func (fl *Fill) ReadAt(p []byte, off int64) (int, error) {
	if off >= fl.size {
		return 0, io.EOF
	}
	end := min(off+int64(len(p)), fl.size)
	for c := int(off / ChunkSize); int64(c)*ChunkSize < end; c++ {
		if err := fl.ensure(c); err != nil {
			return 0, err
		}
	}
	select {
	case <-fl.done:
		if fl.err != nil {
			return 0, fl.err
		}
	default:
		fl.served.Add(end - off)
	}
	n, err := fl.f.ReadAt(p[:end-off], off)
	if err == nil && end-off < int64(len(p)) {
		err = io.EOF
	}
	return n, err
}

// ensure makes chunk c present, fetching it unless another caller is
// already doing so (then it waits for that fetch and looks again).
func (fl *Fill) ensure(c int) error {
	for {
		fl.mu.Lock()
		if fl.have[c] {
			fl.mu.Unlock()
			return nil
		}
		if wait, ok := fl.busy[c]; ok {
			fl.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-fl.done:
				if fl.err != nil {
					return fl.err
				}
				continue
			}
		}
		ch := make(chan struct{})
		fl.busy[c] = ch
		fl.mu.Unlock()
		err := fl.fetch(c)
		fl.mu.Lock()
		delete(fl.busy, c)
		if err == nil {
			fl.have[c] = true
			fl.filled++
		}
		fl.mu.Unlock()
		close(ch)
		return err
	}
}

// present reports whether chunk c is written.
func (fl *Fill) present(c int) bool {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	return fl.have[c]
}

// fetch writes chunk c from the source, checking the source sent all of it.
func (fl *Fill) fetch(c int) error {
	off := int64(c) * ChunkSize
	n := min(ChunkSize, fl.size-off)
	w := &countingWriter{w: io.NewOffsetWriter(fl.f, off), limit: n}
	if err := fl.src(fl.ctx, off, n, w); err != nil {
		return fmt.Errorf("read image %s bytes %d-%d: %w", fl.imageID, off, off+n-1, err)
	}
	if w.n != n {
		return fmt.Errorf("%w: read image %s bytes %d-%d: got %d bytes, not %d", errWrongLength, fl.imageID, off, off+n-1, w.n, n)
	}
	return nil
}

// run fetches every chunk still missing, in order, then verifies the whole
// file.
// rate (bytes/s, 0: unlimited) paces the background fetches; reads that
// need a chunk never wait for it.
func (fl *Fill) run(rate int64) error {
	select {
	case <-fl.booted:
	case <-time.After(bootWait):
	}
	start, fetched := time.Now(), int64(0)
	for c := range fl.have {
		if fl.present(c) {
			continue
		}
		if rate > 0 { // in float: bytes x 1e9 overflows int64 past 9 GB
			time.Sleep(time.Until(start.Add(time.Duration(float64(fetched) / float64(rate) * float64(time.Second)))))
		}
		fetched += ChunkSize
		if err := fl.ensureRetrying(c); err != nil {
			return err
		}
	}
	if err := fl.f.Sync(); err != nil {
		return err
	}
	return fl.verify()
}

// ensureRetrying is ensure, retried with backoff for fetchRetryFor.
func (fl *Fill) ensureRetrying(c int) error {
	deadline, wait := time.Now().Add(fetchRetryFor), 100*time.Millisecond
	for {
		err := fl.ensure(c)
		if err == nil || errors.Is(err, errWrongLength) || time.Now().Add(wait).After(deadline) {
			return err
		}
		time.Sleep(wait)
		wait = min(2*wait, 10*time.Second)
	}
}

// verify checks the md5 of the whole file against the image's checksum.
func (fl *Fill) verify() error {
	if fl.checksum == "" {
		return nil
	}
	h := md5.New()
	if _, err := io.Copy(h, io.NewSectionReader(fl.f, 0, fl.size)); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != fl.checksum {
		return fmt.Errorf("image data checksum %s does not match the image's checksum %s", got, fl.checksum)
	}
	return nil
}

// finish makes a verified fill the image's base (read-only: overlays must
// never write through to it) or removes a failed one, then ends the fill.
func (fl *Fill) finish(err error, path string) error {
	tmp := fl.f.Name()
	if err == nil {
		if err = os.Chmod(tmp, 0o440); err == nil {
			err = os.Rename(tmp, path)
		}
	}
	if err != nil {
		os.Remove(tmp)
		fl.f.Close()
		if !errors.Is(err, ErrVerification) {
			err = fmt.Errorf("%w: %w", ErrVerification, err)
		}
	}
	// On success the descriptor stays open for the reads still under way
	// (the renamed file is the same); the os.File's finalizer closes it.
	fl.err = err
	close(fl.done)
	return err
}

// ErrVerification marks a base that could not be fetched whole or did not
// match its checksum: servers that read it must not trust what they read.
var ErrVerification = errors.New("the image's data could not be fetched whole and verified")

// countingWriter counts what it writes and refuses more than limit bytes
// (a source sending more than asked must not spill into the next chunk).
// errWrongLength marks a range answered with more or fewer bytes than
// asked: the image's data does not have the size recorded, which waiting
// will not mend.
var errWrongLength = errors.New("wrong length")

type countingWriter struct {
	w        io.Writer
	n, limit int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.n+int64(len(p)) > c.limit {
		return 0, fmt.Errorf("%w: the image service sent more than the %d bytes asked for", errWrongLength, c.limit)
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
