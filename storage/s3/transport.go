package s3

import (
	"context"
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

func (c *stallConn) Write(p []byte) (int, error) {
	_ = c.Conn.SetDeadline(time.Now().Add(c.timeout))
	return c.Conn.Write(p)
}
