package tests

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// What an operator's HAProxy and Prometheus see of a running server: every
// API listener and the metrics listener answer /healthcheck; /metrics
// labels request durations by route template (many images, one series);
// a caller's request id is the global request id of the server's log lines.
func TestObservability(t *testing.T) {
	s := NewServer(t, nil, "")
	for _, root := range []string{s.IdentityURL, s.ImageURL, s.ComputeURL, s.NetworkURL, s.MetricsURL} {
		if code, body, _ := httpDo(t, "GET", root+"/healthcheck", ""); code != 200 || body != "OK" {
			t.Errorf("GET %s/healthcheck = %d %q", root, code, body)
		}
		if code, _, _ := httpDo(t, "HEAD", root+"/healthcheck", ""); code != 204 {
			t.Errorf("HEAD %s/healthcheck = %d", root, code)
		}
	}
	const global = "req-6b1f3c2e-0d4a-4e8b-9c7d-5a2b1e0f9d3c"
	ids := map[string]bool{}
	for i := range 6 {
		sent := global
		if i == 5 {
			sent = "not-a-request-id"
		}
		code, _, hdr := httpDo(t, "GET", s.ImageURL+"/v2/images/"+uuid.NewString(), sent)
		if code != 401 {
			t.Fatalf("image show without a token = %d", code)
		}
		ids[hdr.Get("X-Openstack-Request-Id")] = sent == global
	}
	_, metrics, _ := httpDo(t, "GET", s.MetricsURL+"/metrics", "")
	want := `imagestack_http_request_duration_seconds_count{api="image",code="401",method="GET",route="/v2/images/{image_id}"} 6`
	if !strings.Contains(metrics, want) {
		t.Errorf("/metrics lacks %s", want)
	}
	if n := strings.Count(metrics, `route="/v2/images/{image_id}"`); n == 0 || strings.Count(metrics, "/v2/images/") != n {
		t.Error("/metrics shows image URLs rather than route templates")
	}
	logs := s.log.String()
	for id, withGlobal := range ids {
		line := logLine(logs, "request_id="+id)
		if line == "" || strings.Contains(line, "global_request_id="+global) != withGlobal {
			t.Errorf("log line of %s (global id sent: %v): %q", id, withGlobal, line)
		}
	}
}

// httpDo sends a request with an optional X-OpenStack-Request-ID.
func httpDo(t *testing.T, method, url, requestID string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if requestID != "" {
		req.Header.Set("X-OpenStack-Request-ID", requestID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// logLine is the first line of logs containing s.
func logLine(logs, s string) string {
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}
