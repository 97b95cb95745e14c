package api_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"imagestack/common/metrics/metricstest"
)

// byteCounter reads the image bytes counter of direction.
func byteCounter(t *testing.T, direction string) float64 {
	return metricstest.Value(t, "imagestack_image_bytes_total", "direction", direction)
}

// The bytes counters grow by what clients upload (data and stage) and
// download (whole or a range).
func TestImageByteMetrics(t *testing.T) {
	e := newEnv(t, 1<<30)
	data := bytes.Repeat([]byte("0123456789abcdef"), 40_000) // 640,000 bytes
	id := e.create("a", `{"disk_format":"raw","container_format":"bare"}`)["id"].(string)
	up := byteCounter(t, "upload")
	if resp, b := e.req("PUT", "/v2/images/"+id+"/file", "a", bytes.NewReader(data), "Content-Type", "application/octet-stream"); resp.StatusCode != 204 {
		t.Fatalf("upload = %d %s", resp.StatusCode, b)
	}
	if got := byteCounter(t, "upload") - up; got != float64(len(data)) {
		t.Errorf("uploaded bytes grew by %v, want %d", got, len(data))
	}
	down := byteCounter(t, "download")
	if resp, b := e.req("GET", "/v2/images/"+id+"/file", "a", nil); resp.StatusCode != 200 || len(b) != len(data) {
		t.Fatalf("download = %d, %d bytes", resp.StatusCode, len(b))
	}
	if resp, _ := e.req("GET", "/v2/images/"+id+"/file", "a", nil, "Range", "bytes=100-199"); resp.StatusCode != 206 {
		t.Fatalf("range download = %d", resp.StatusCode)
	}
	if got := byteCounter(t, "download") - down; got != float64(len(data)+100) {
		t.Errorf("downloaded bytes grew by %v, want %d", got, len(data)+100)
	}
	staged := e.create("a", `{"disk_format":"raw","container_format":"bare"}`)["id"].(string)
	up = byteCounter(t, "upload")
	if resp, _ := e.req("PUT", "/v2/images/"+staged+"/stage", "a", strings.NewReader("staged bytes"), "Content-Type", "application/octet-stream"); resp.StatusCode != 204 {
		t.Fatalf("stage = %d", resp.StatusCode)
	}
	if got := byteCounter(t, "upload") - up; got != float64(len("staged bytes")) {
		t.Errorf("staged bytes grew the counter by %v", got)
	}
}

// An upload receiving data counts in uploads_in_flight until it ends.
func TestUploadsInFlightMetric(t *testing.T) {
	e := newEnv(t, 1<<30)
	id := e.create("a", `{"disk_format":"raw","container_format":"bare"}`)["id"].(string)
	before := metricstest.Value(t, "imagestack_image_uploads_in_flight")
	conn := e.rawUpload(id, "first bytes")
	waitFor(t, "the upload to count", func() bool { return metricstest.Value(t, "imagestack_image_uploads_in_flight") == before+1 })
	conn.Close()
	waitFor(t, "the ended upload to leave the count", func() bool { return metricstest.Value(t, "imagestack_image_uploads_in_flight") == before })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
