package s3

import (
	"context"
	"io"

	"github.com/minio/minio-go/v7"

	"imagestack/storage"
)

// object is a blob being read: the GET that Get opened, from pos to end.
// Read streams that response; WriteTo (what io.Copy uses) reads PartSize
// ranges with up to Concurrency GETs at once instead, as the uploads write
// them, so that one download is not held to what the store serves on one
// connection. Read errors are converted into storage sentinels.
type object struct {
	body     io.ReadCloser
	s        *Store
	ctx      context.Context
	key      string
	pos, end int64
}

func (o *object) Read(p []byte) (int, error) {
	if o.pos >= o.end { // WriteTo may have read past the open response
		return 0, io.EOF
	}
	n, err := o.body.Read(p)
	o.pos += int64(n)
	if err != nil && err != io.EOF {
		return n, o.s.classify(err)
	}
	return n, err
}

func (o *object) Close() error { return o.body.Close() }

// fetched is one range of a download: its data, or why it failed.
type fetched struct {
	buf []byte
	n   int
	err error
}

// WriteTo copies the rest of the object to w: the first range from the
// open response, the others from ranged GETs, at most Concurrency ranges
// held (the one being written included), each written as soon as it and
// those before it are in.
func (o *object) WriteTo(w io.Writer) (int64, error) {
	select {
	case o.s.parallel <- struct{}{}:
		defer func() { <-o.s.parallel }()
	default: // as many downloads read ranges as memory allows: stream this one
		return io.CopyBuffer(w, struct{ io.Reader }{o}, make([]byte, 256<<10))
	}
	ctx, cancel := context.WithCancel(o.ctx)
	defer cancel()
	size := int64(o.s.cfg.PartSize)
	slots := make(chan struct{}, o.s.cfg.Concurrency) // one per range buffer held
	queue := make(chan chan fetched, o.s.cfg.Concurrency)
	go func() {
		defer close(queue)
		for off := o.pos; off < o.end; off += size {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			buf := o.s.bufs.Get()[:min(size, o.end-off)]
			res := make(chan fetched, 1)
			queue <- res // never blocks: as many places as slots
			if off == o.pos {
				go func() { res <- o.fill(o.body, buf) }()
			} else {
				go func() { res <- o.fetch(ctx, off, buf) }()
			}
		}
	}()
	var total int64
	var err error
	for res := range queue {
		r := <-res
		if err == nil && r.err != nil {
			err = r.err
			cancel()
		}
		if err == nil {
			var m int
			m, err = w.Write(r.buf[:r.n])
			total += int64(m)
			if err != nil {
				cancel()
			}
		}
		o.s.bufs.Put(r.buf)
		<-slots
	}
	o.pos += total
	return total, err
}

// fill reads buf's length from r, which must have that much.
func (o *object) fill(r io.Reader, buf []byte) fetched {
	n, err := storage.Fill(r, buf)
	switch {
	case n == len(buf):
		err = nil
	case err == io.EOF:
		err = io.ErrUnexpectedEOF // the object is shorter than it said
	}
	if err != nil {
		err = o.s.classify(err)
	}
	return fetched{buf: buf, n: n, err: err}
}

// fetch reads len(buf) bytes of the object from off.
func (o *object) fetch(ctx context.Context, off int64, buf []byte) fetched {
	opts := minio.GetObjectOptions{}
	if err := opts.SetRange(off, off+int64(len(buf))-1); err != nil {
		return fetched{buf: buf, err: err}
	}
	body, _, _, err := minio.Core{Client: o.s.c}.GetObject(ctx, o.s.cfg.Bucket, o.key, opts)
	if err != nil {
		return fetched{buf: buf, err: o.s.classify(err)}
	}
	defer body.Close()
	return o.fill(body, buf)
}
