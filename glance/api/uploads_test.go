package api_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"imagestack/glance/service"
)

// rawUpload opens a chunked PUT of an image's data and sends first (one
// chunk, if not empty), then nothing: what a stalled or idle client does.
func (e *env) rawUpload(id, first string) net.Conn {
	e.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "PUT /v2/images/%s/file HTTP/1.1\r\nHost: x\r\nX-Auth-Token: a\r\nAccept: application/json\r\n"+
		"Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n", id)
	if first != "" {
		fmt.Fprintf(conn, "%x\r\n%s\r\n", len(first), first)
	}
	return conn
}

func readStatus(t *testing.T, conn net.Conn, within time.Duration) (int, http.Header) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(within))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer within %v: %v", within, err)
	}
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header
}

func (e *env) imageField(id, field string) any {
	_, b := e.req("GET", "/v2/images/"+id, "a", nil)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		e.t.Fatal(err)
	}
	return m[field]
}

// An upload whose client stops sending ends after the idle timeout (408)
// and leaves the image queued with no data; an upload past the limit of
// uploads in progress is 503 with Retry-After, and a slot frees when an
// upload ends.
func TestUploadIdleTimeoutAndLimit(t *testing.T) {
	e := newEnvWith(t, service.Config{SizeCap: 1 << 30, MaxConcurrentUploads: 2, UploadIdleTimeout: 300 * time.Millisecond})
	var ids []string
	for range 3 {
		ids = append(ids, e.create("a", `{"disk_format":"raw","container_format":"bare"}`)["id"].(string))
	}
	stalled := e.rawUpload(ids[0], "some bytes")
	idle := e.rawUpload(ids[1], "")
	time.Sleep(100 * time.Millisecond)
	// The refusal reaches a client that has not sent its body yet (the
	// server must not wait for the body before answering).
	if code, hdr := readStatus(t, e.rawUpload(ids[2], ""), 2*time.Second); code != 503 || hdr.Get("Retry-After") == "" {
		t.Fatalf("third upload at once: %d (Retry-After %q)", code, hdr.Get("Retry-After"))
	}
	for _, conn := range []net.Conn{stalled, idle} {
		if code, _ := readStatus(t, conn, 3*time.Second); code != 408 {
			t.Fatalf("stalled upload answered %d, want 408", code)
		}
	}
	for _, id := range ids[:2] {
		if st := e.imageField(id, "status"); st != "queued" || e.imageField(id, "size") != nil {
			t.Fatalf("image %s after a stalled upload: %v, size %v", id, st, e.imageField(id, "size"))
		}
	}
	resp, b := e.req("PUT", "/v2/images/"+ids[2]+"/file", "a", strings.NewReader("data"), "Content-Type", "application/octet-stream")
	if resp.StatusCode != 204 {
		t.Fatalf("upload once slots are free: %d %s", resp.StatusCode, b)
	}
}

// Uploads that have not sent a byte yet hold no buffers: many of them cost
// next to nothing (each used to take ~24 MiB before the first byte).
func TestIdleUploadsHoldNoBuffers(t *testing.T) {
	const n = 40
	e := newEnvWith(t, service.Config{SizeCap: 1 << 30, MaxConcurrentUploads: n, UploadIdleTimeout: time.Minute})
	var ids []string
	for range n {
		ids = append(ids, e.create("a", `{"disk_format":"raw","container_format":"bare"}`)["id"].(string))
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for _, id := range ids {
		e.rawUpload(id, "")
	}
	deadline := time.Now().Add(5 * time.Second)
	for e.imageField(ids[n-1], "status") != "saving" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d idle uploads: heap %+d KiB", n, grown>>10)
	if grown > n*256<<10 {
		t.Fatalf("%d idle uploads grew the heap by %d MiB", n, grown>>20)
	}
}
