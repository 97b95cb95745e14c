package httpx_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"imagestack/common/httpx"
)

// database is a health check whose answer the test sets.
type database struct{ err error }

func (d *database) check(ctx context.Context) error {
	if d.err == context.DeadlineExceeded { // a database that does not answer
		<-ctx.Done()
		return ctx.Err()
	}
	return d.err
}

func healthSetup() (http.Handler, *database, *bool) {
	db := &database{}
	health := &httpx.Health{Timeout: 100 * time.Millisecond, Checks: []httpx.HealthCheck{{Name: "database", Check: db.check}}}
	apiCalled := new(bool)
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { *apiCalled = true; w.WriteHeader(401) })
	return httpx.WithHealth(api, health), db, apiCalled
}

func ask(h http.Handler, method, accept string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/healthcheck", nil)
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// Answers as oslo.middleware's healthcheck: 200 OK, HEAD 204, 503 with a
// reason, JSON on request; no token needed, the API never sees it.
func TestHealthcheck(t *testing.T) {
	h, db, apiCalled := healthSetup()
	cases := []struct {
		name, method, accept string
		dbErr                error
		status               int
		contentType, body    string
	}{
		{"Healthy", "GET", "", nil, 200, "text/plain; charset=UTF-8", "OK"},
		{"HealthyHEAD", "HEAD", "", nil, 204, "text/plain; charset=UTF-8", ""},
		{"HealthyBrowser", "GET", "text/html,application/xhtml+xml,*/*;q=0.8", nil, 200, "text/plain; charset=UTF-8", "OK"},
		// The reason never shows the database's address: anyone may ask.
		{"DatabaseDown", "GET", "", errors.New("dial tcp 10.1.2.3:3306: connection refused"), 503, "text/plain; charset=UTF-8", "database is unavailable"},
		{"DatabaseSilent", "GET", "", context.DeadlineExceeded, 503, "text/plain; charset=UTF-8", "database did not answer within 100ms"},
		{"DatabaseDownHEAD", "HEAD", "", errors.New("down"), 503, "text/plain; charset=UTF-8", ""},
		{"JSON", "GET", "application/json", errors.New("down"), 503, "application/json; charset=UTF-8",
			"{\n    \"detailed\": false,\n    \"reasons\": [\n        \"database is unavailable\"\n    ]\n}"},
		{"TextPreferred", "GET", "application/json;q=0.5, text/plain", nil, 200, "text/plain; charset=UTF-8", "OK"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db.err = c.dbErr
			rec := ask(h, c.method, c.accept)
			if rec.Code != c.status || rec.Header().Get("Content-Type") != c.contentType || rec.Body.String() != c.body {
				t.Errorf("%d %q %q, want %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String(),
					c.status, c.contentType, c.body)
			}
		})
	}
	if *apiCalled {
		t.Error("the API handler saw /healthcheck")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v2/images", nil))
	if !*apiCalled || rec.Code != 401 {
		t.Error("other paths must reach the API")
	}
}
