package s3

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/minio/minio-go/v7"
)

// DefaultTimeout is how long an S3 request may go without the store
// answering: connecting, waiting for a response, or between two reads or
// writes of a body. minio-go's own transport waits a minute for response
// headers and forever in the middle of a body, so a paused store would hold
// uploads and downloads for good. It stays above the 10 s between the
// keep-alive spaces S3 servers send while a large multipart upload completes.
const DefaultTimeout = 30 * time.Second

// newTransport is minio-go's transport with every wait bounded by timeout.
func newTransport(secure bool, timeout time.Duration) (*http.Transport, error) {
	tr, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &stallConn{Conn: c, timeout: timeout}, nil
	}
	tr.ResponseHeaderTimeout = timeout
	tr.TLSHandshakeTimeout = timeout
	// Pooled connections are closed before their read deadline could fire
	// under a request that just picked them up.
	tr.IdleConnTimeout = timeout / 2
	return tr, nil
}

// stallConn fails a read or write that makes no progress for timeout. A
// write also moves the read deadline: the response to a request just sent
// must not be cut short by the deadline of the idle wait before it.
type stallConn struct {
	net.Conn
	timeout time.Duration
}

func (c *stallConn) Read(p []byte) (int, error) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	return c.Conn.Read(p)
}

// Write sends p in blocks of at most stallBlock, each with its own
// deadline, so that a large write is judged on its progress, not its size.
func (c *stallConn) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		_ = c.Conn.SetDeadline(time.Now().Add(c.timeout))
		m, err := c.Conn.Write(p[n:min(len(p), n+stallBlock)])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// stallBlock is the most Write sends under one deadline.
const stallBlock = 1 << 20

// ReadFrom sends a request body. HTTP hands a body of known length over as
// an io.LimitedReader, which hides the WriterTo of the bytes.Reader under
// it: io.Copy would then copy each part through a 32 KiB buffer, costing a
// user-space copy and a system call per 32 KiB. A body that can write
// itself goes out in one write instead, held to the limit.
func (c *stallConn) ReadFrom(r io.Reader) (int64, error) {
	if lr, ok := r.(*io.LimitedReader); ok {
		if wt, ok := lr.R.(io.WriterTo); ok {
			return wt.WriteTo(&limitedWriter{w: c, lr: lr})
		}
	}
	return io.Copy(struct{ io.Writer }{c}, r) // without ReadFrom, no loop
}

// limitedWriter writes what remains of lr's limit, failing beyond it.
type limitedWriter struct {
	w  io.Writer
	lr *io.LimitedReader
}

var errBodyTooLong = errors.New("s3: request body longer than its length")

func (l *limitedWriter) Write(p []byte) (int, error) {
	over := int64(len(p)) > l.lr.N
	if over {
		p = p[:l.lr.N]
	}
	n, err := l.w.Write(p)
	l.lr.N -= int64(n)
	if err == nil && over {
		err = errBodyTooLong
	}
	return n, err
}
