package httpx_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/common/metrics"
	"imagestack/common/reqid"
)

// observed is an API family named api whose handler logs a line of its own
// with the request's context, through the process's log handler.
func observed(api string) (http.Handler, *bytes.Buffer) {
	var logs bytes.Buffer
	log := slog.New(reqid.Handler(slog.NewJSONHandler(&logs, nil)))
	r := mux.NewRouter()
	r.HandleFunc("/v2/images/{image_id}", func(w http.ResponseWriter, r *http.Request) {
		log.InfoContext(r.Context(), "showing image", "image", mux.Vars(r)["image_id"])
		w.WriteHeader(200)
	}).Methods("GET")
	return httpx.Wrap(r, httpx.Family{Name: api, Logger: log, WriteError: func(w http.ResponseWriter, r *http.Request, status int, msg string) {
		w.WriteHeader(status)
	}}), &logs
}

// scrapeLines are the lines of a /metrics scrape that start with prefix.
func scrapeLines(t *testing.T, prefix string) []string {
	t.Helper()
	rec := httptest.NewRecorder()
	metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	var lines []string
	for _, l := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(l, prefix) {
			lines = append(lines, l)
		}
	}
	return lines
}

// Request durations are labelled by route template: a hundred images are one
// series, unmatched paths another ("other"), whatever their URLs.
func TestRequestMetricsByRouteTemplate(t *testing.T) {
	h, _ := observed("cardinality")
	for range 100 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/v2/images/"+uuid.NewString(), nil))
	}
	for range 3 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/nowhere/"+uuid.NewString(), nil))
	}
	got := scrapeLines(t, `imagestack_http_request_duration_seconds_count{api="cardinality"`)
	want := []string{
		`imagestack_http_request_duration_seconds_count{api="cardinality",code="200",method="GET",route="/v2/images/{image_id}"} 100`,
		`imagestack_http_request_duration_seconds_count{api="cardinality",code="404",method="GET",route="other"} 3`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("series:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// logLines decodes JSON log lines.
func logLines(t *testing.T, logs *bytes.Buffer) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}

// A caller's valid X-OpenStack-Request-ID becomes the global request id of
// every log line of the request; an invalid one is ignored; the answer
// always carries the request's own id.
func TestGlobalRequestID(t *testing.T) {
	const global = "req-0f4e7a3c-1b2d-4c5e-8f90-a1b2c3d4e5f6"
	for _, c := range []struct{ sent, global string }{{global, global}, {"req-bogus", ""}, {"", ""}} {
		h, logs := observed("reqid")
		r := httptest.NewRequest("GET", "/v2/images/img-1", nil)
		if c.sent != "" {
			r.Header.Set("X-OpenStack-Request-ID", c.sent)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		id := rec.Header().Get("X-Openstack-Request-Id")
		if !reqid.Valid(id) || id == global {
			t.Fatalf("sent %q: answered with request id %q", c.sent, id)
		}
		lines := logLines(t, logs)
		if len(lines) != 2 || lines[0]["msg"] != "showing image" || lines[1]["msg"] != "request" {
			t.Fatalf("sent %q: log %s", c.sent, logs)
		}
		for _, l := range lines {
			g, hasGlobal := l["global_request_id"]
			if l["request_id"] != id || hasGlobal != (c.global != "") || (hasGlobal && g != c.global) {
				t.Errorf("sent %q: line %v, want request_id %s, global_request_id %q", c.sent, l, id, c.global)
			}
		}
		if n := strings.Count(logs.String(), `"request_id"`); n != 2 {
			t.Errorf("request_id appears %d times in 2 lines", n)
		}
		if lines[1]["route"] != "/v2/images/{image_id}" {
			t.Errorf("access log route %v", lines[1]["route"])
		}
	}
}
