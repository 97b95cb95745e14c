// Package iox holds small stream helpers that the APIs share: reading a
// request body with an idle deadline, and waiting for a stream's first
// byte before committing resources to it.
package iox

import (
	"errors"
	"io"
	"net/http"
	"os"
	"time"
)

// ErrIdle is returned by a body that sent nothing for its idle timeout.
var ErrIdle = errors.New("no data received within the idle timeout")

// IdleBody returns r's body as a reader whose every Read fails with ErrIdle
// once the client has sent nothing for idle (it moves the connection's read
// deadline before each read, so a slow but steady client is never cut off).
// When r's body already is one (httpx.Wrap installs one for every request),
// its timeout becomes idle. idle <= 0 means no timeout.
func IdleBody(w http.ResponseWriter, r *http.Request, idle time.Duration) io.ReadCloser {
	if b, ok := r.Body.(*idleBody); ok {
		b.idle = idle
		return b
	}
	return &idleBody{body: r.Body, rc: http.NewResponseController(w), idle: idle}
}

type idleBody struct {
	body io.ReadCloser
	rc   *http.ResponseController
	idle time.Duration
	err  error
}

func (b *idleBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	var deadline time.Time // zero: none
	if b.idle > 0 {
		deadline = time.Now().Add(b.idle)
	}
	if err := b.rc.SetReadDeadline(deadline); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return 0, err
	}
	n, err := b.body.Read(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		b.err = ErrIdle
		return n, ErrIdle
	}
	return n, err
}

func (b *idleBody) Close() error { return b.body.Close() }

// FirstByte blocks until r yields its first byte (or ends, or fails) and
// returns a reader of the whole stream. Callers use it so that a client that
// opens a request and then sends nothing costs no buffers: they allocate
// only once data flows.
func FirstByte(r io.Reader) (io.Reader, error) {
	var b [1]byte
	for {
		n, err := r.Read(b[:])
		if n > 0 {
			return io.MultiReader(&oneByte{b: b[0]}, r), nil
		}
		if err == io.EOF {
			return eof{}, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

type oneByte struct {
	b    byte
	done bool
}

func (o *oneByte) Read(p []byte) (int, error) {
	if o.done {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0], o.done = o.b, true
	return 1, nil
}

type eof struct{}

func (eof) Read([]byte) (int, error) { return 0, io.EOF }
