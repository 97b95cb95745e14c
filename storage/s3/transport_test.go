package s3

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
)

// A request body handed over as a LimitedReader over a WriterTo goes out
// whole in one ReadFrom, and never past its limit.
func TestStallConnReadFromKeepsTheLimit(t *testing.T) {
	for _, tc := range []struct {
		data  string
		limit int64
		want  string
		err   error
	}{{"0123456789", 10, "0123456789", nil}, {"0123456789", 4, "0123", errBodyTooLong}} {
		client, server := net.Pipe()
		got := make(chan []byte)
		go func() { b, _ := io.ReadAll(server); got <- b }()
		c := &stallConn{Conn: client, timeout: DefaultTimeout}
		lr := &io.LimitedReader{R: bytes.NewReader([]byte(tc.data)), N: tc.limit}
		n, err := c.ReadFrom(lr)
		client.Close()
		if b := <-got; string(b) != tc.want || n != int64(len(tc.want)) || !errors.Is(err, tc.err) || lr.N != 0 {
			t.Fatalf("%q limited to %d: sent %q (n %d, left %d), %v", tc.data, tc.limit, b, n, lr.N, err)
		}
	}
}
