package s3_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"imagestack/storage"
	"imagestack/storage/s3"
)

// stallingS3 answers HEAD requests like S3 and starts a GET's body, then
// stops answering, as a paused server does; PUTs get no answer at all.
func stallingS3(t *testing.T) string {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodHead && r.URL.Path != "/images/" && r.URL.Path != "/images/key":
			w.WriteHeader(http.StatusNotFound)
			return
		case r.Method == http.MethodHead:
			w.Header().Set("Content-Length", "1000")
			w.Header().Set("ETag", `"0123456789abcdef0123456789abcdef"`)
			w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
			w.WriteHeader(http.StatusOK)
			return
		case r.Method == http.MethodGet:
			w.Header().Set("Content-Length", "1000")
			w.Header().Set("ETag", `"0123456789abcdef0123456789abcdef"`)
			w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
			w.WriteHeader(http.StatusOK)
			w.Write(make([]byte, 100))
			w.(http.Flusher).Flush()
		}
		<-release
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return strings.TrimPrefix(srv.URL, "http://")
}

func bounded(t *testing.T, what string, limit time.Duration, f func() error) {
	t.Helper()
	start := time.Now()
	err := f()
	if took := time.Since(start); !errors.Is(err, storage.ErrUnavailable) || took > limit {
		t.Fatalf("%s against a stalled store: %v after %v, want ErrUnavailable within %v", what, err, took, limit)
	}
}

// TestStalledStore: a store that stops answering mid-request fails the
// request with ErrUnavailable after Timeout, never hangs: connecting to a
// server that accepts and stays silent, a download whose body stops, an
// upload that gets no answer.
func TestStalledStore(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() { // accept and say nothing, like a SIGSTOPped server's kernel
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	cfg := s3.Config{Endpoint: silent.Addr().String(), Bucket: "images", AccessKey: "k", SecretKey: "s", Region: "us-east-1",
		MaxRetries: 1, Timeout: 300 * time.Millisecond}
	bounded(t, "opening the store", 3*time.Second, func() error { _, err := s3.New(context.Background(), cfg); return err })

	cfg.Endpoint = stallingS3(t)
	st, err := s3.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := st.Get(context.Background(), "key", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	bounded(t, "reading a download", 3*time.Second, func() error { _, err := io.ReadAll(rc); return err })
	rc2, err := st.Get(context.Background(), "key", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc2.Close()
	bounded(t, "copying a download", 3*time.Second, func() error { _, err := io.Copy(io.Discard, rc2); return err })
	bounded(t, "an upload", 3*time.Second, func() error {
		_, err := st.Put(context.Background(), "other", bytes.NewReader(make([]byte, 1000)))
		return err
	})
}
