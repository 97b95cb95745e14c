package httpx_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"imagestack/common/apierr"
	"imagestack/common/httpx"
)

var (
	errGone = errors.New("gone")
	errDown = errors.New("down")
)

// Fail answers a known kind with its status and message, a 503 with
// Retry-After and the shared text unless the error says more, anything else
// as a logged 500 naming the request id only.
func TestFail(t *testing.T) {
	var logs bytes.Buffer
	f := httpx.Failure{Name: "test", Table: httpx.ErrorTable{{errGone, http.StatusGone}, {errDown, http.StatusServiceUnavailable}},
		Message: func(err error) string { return apierr.Message(err, "fallback") }, Internal: "oops (%s)",
		Write: func(w http.ResponseWriter, r *http.Request, status int, msg string) {
			w.WriteHeader(status)
			fmt.Fprint(w, msg)
		},
		Log: slog.New(slog.NewTextHandler(&logs, nil))}
	cases := []struct {
		name       string
		err        error
		status     int
		body, log  string
		retryAfter string
	}{
		{"known kind", apierr.New(errGone, "it went"), http.StatusGone, "it went", "", ""},
		{"wrapped kind", fmt.Errorf("x: %w", errGone), http.StatusGone, "fallback", "", ""},
		{"unavailable", fmt.Errorf("db: %w", errDown), http.StatusServiceUnavailable, httpx.UnavailableMessage, "test request answered 503", httpx.RetryAfter},
		{"unavailable with message", apierr.New(errDown, "store x is down"), http.StatusServiceUnavailable, "store x is down", "answered 503", httpx.RetryAfter},
		{"unknown", errors.New("secret detail"), http.StatusInternalServerError, "oops ()", "test request failed", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			logs.Reset()
			rec := httptest.NewRecorder()
			httpx.Fail(rec, httptest.NewRequest("GET", "/x", nil), c.err, f)
			if rec.Code != c.status || rec.Body.String() != c.body || rec.Header().Get("Retry-After") != c.retryAfter {
				t.Fatalf("got %d %q (Retry-After %q)", rec.Code, rec.Body.String(), rec.Header().Get("Retry-After"))
			}
			if !strings.Contains(logs.String(), c.log) || (c.log == "" && logs.Len() != 0) {
				t.Fatalf("log %q, want %q", logs.String(), c.log)
			}
		})
	}
}
