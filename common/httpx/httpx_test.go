package httpx_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/common/iox"
)

func setup(t *testing.T) (http.Handler, *bytes.Buffer) {
	var logs bytes.Buffer
	r := mux.NewRouter()
	r.HandleFunc("/things", func(w http.ResponseWriter, r *http.Request) {
		httpx.Info(r.Context()).Project = "proj-1"
		httpx.WriteJSON(w, 200, map[string]string{"ok": "yes"})
	}).Methods("GET", "POST")
	r.HandleFunc("/boom", func(w http.ResponseWriter, r *http.Request) { panic("kaboom") }).Methods("GET")
	h := httpx.Wrap(r, httpx.Family{
		Name:   "test",
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
		WriteError: func(w http.ResponseWriter, r *http.Request, status int, msg string) {
			httpx.WriteJSON(w, status, map[string]any{"fault": map[string]any{"code": status, "message": msg}})
		},
		ExtraRequestIDHeaders: []string{"X-Compute-Request-Id"},
	})
	return h, &logs
}

func TestRequestIDAndAccessLog(t *testing.T) {
	h, logs := setup(t)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/things", nil))
	id := rec.Header().Get("X-Openstack-Request-Id")
	if !strings.HasPrefix(id, "req-") || len(id) != len("req-")+36 {
		t.Fatalf("request id %q", id)
	}
	if rec.Header().Get("X-Compute-Request-Id") != id {
		t.Fatal("extra request id header differs")
	}
	var entry map[string]any
	if err := json.Unmarshal(logs.Bytes(), &entry); err != nil {
		t.Fatalf("log line: %q", logs.String())
	}
	for k, want := range map[string]any{"method": "GET", "path": "/things", "status": 200.0, "request_id": id, "project": "proj-1", "bytes": 12.0} {
		if entry[k] != want {
			t.Errorf("log %s = %v, want %v", k, entry[k], want)
		}
	}
	if _, ok := entry["duration_ms"]; !ok {
		t.Error("log lacks duration_ms")
	}
}

func TestPanicBecomesFamily500(t *testing.T) {
	h, logs := setup(t)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/boom", nil))
	if rec.Code != 500 {
		t.Fatalf("status %d", rec.Code)
	}
	var body map[string]map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["fault"]["code"] != 500.0 {
		t.Fatalf("body %q", rec.Body.String())
	}
	id := rec.Header().Get("X-Openstack-Request-Id")
	if !strings.Contains(body["fault"]["message"].(string), id) {
		t.Fatalf("500 message should name the request id: %v", body)
	}
	if !strings.Contains(logs.String(), "kaboom") || !strings.Contains(logs.String(), id) {
		t.Fatalf("panic not logged with its request id: %s", logs.String())
	}
}

func TestNotFoundAndMethodNotAllowed(t *testing.T) {
	h, _ := setup(t)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/nope", nil))
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), `"code":404`) {
		t.Fatalf("404: %d %s", rec.Code, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("DELETE", "/things", nil))
	if rec.Code != 405 || rec.Header().Get("Allow") != "GET, POST" {
		t.Fatalf("405: %d Allow=%q", rec.Code, rec.Header().Get("Allow"))
	}
}

// A request body whose client stops sending ends after BodyIdleTimeout
// instead of holding the handler forever.
func TestStalledBodyEnds(t *testing.T) {
	old := httpx.BodyIdleTimeout
	httpx.BodyIdleTimeout = 200 * time.Millisecond
	defer func() { httpx.BodyIdleTimeout = old }()
	got := make(chan error, 1)
	r := mux.NewRouter()
	r.HandleFunc("/body", func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		got <- err
		w.WriteHeader(400)
	})
	h := httpx.Wrap(r, httpx.Family{Name: "test", Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		WriteError: func(w http.ResponseWriter, r *http.Request, status int, msg string) { w.WriteHeader(status) }})
	srv := httptest.NewServer(h)
	defer srv.Close()
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\":")
	select {
	case err := <-got:
		if !errors.Is(err, iox.ErrIdle) {
			t.Fatalf("stalled body read: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a stalled body held the handler")
	}
}
