package cors

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// tokenOnly stands for an API: it answers 401 without X-Auth-Token, as
// every API but the token and version routes does.
var tokenOnly = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Auth-Token") == "" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.Header().Set("X-Openstack-Request-Id", "req-1")
	w.WriteHeader(http.StatusNoContent)
})

const horizon = "http://dashboard.example.com:8080"

func serve(h http.Handler, method, origin string, header map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/v2/images/abc/file", nil)
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// preflight is what Chromium sends before Horizon's direct upload PUT.
func preflight(h http.Handler, origin string) *httptest.ResponseRecorder {
	return serve(h, http.MethodOptions, origin, map[string]string{
		"Access-Control-Request-Method":  "PUT",
		"Access-Control-Request-Headers": "content-type,x-auth-token",
	})
}

// corsHeaders are the Access-Control-* headers of an answer.
func corsHeaders(w *httptest.ResponseRecorder) map[string]string {
	got := map[string]string{}
	for k, v := range w.Header() {
		if strings.HasPrefix(k, "Access-Control-") {
			got[k] = strings.Join(v, ", ")
		}
	}
	return got
}

func allowing(origins ...string) Config {
	c := Defaults()
	c.AllowedOrigins = origins
	return c
}

func TestPreflightAnsweredBeforeAuthentication(t *testing.T) {
	w := preflight(allowing(horizon).Wrap(tokenOnly), horizon)
	if w.Code != http.StatusNoContent {
		t.Fatalf("preflight answered %d, want 204 (it must not reach authentication)", w.Code)
	}
	want := map[string]string{
		"Access-Control-Allow-Origin":      horizon,
		"Access-Control-Allow-Methods":     "PUT",
		"Access-Control-Allow-Headers":     "content-type,x-auth-token",
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Max-Age":           "3600",
	}
	if got := corsHeaders(w); len(got) != len(want) {
		t.Fatalf("preflight headers %v, want %v", got, want)
	}
	for k, v := range want {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
}

func TestOriginNotAllowedGetsNoCORSHeaders(t *testing.T) {
	h := allowing(horizon, "https://*.example.org").Wrap(tokenOnly)
	for _, origin := range []string{"http://evil.example.com", horizon + ".evil.net", "http://dashboard.example.com:8081"} {
		if got := corsHeaders(preflight(h, origin)); len(got) != 0 {
			t.Errorf("preflight from %s: %v, want no CORS header", origin, got)
		}
		w := serve(h, http.MethodPut, origin, map[string]string{"X-Auth-Token": "t"})
		if got := corsHeaders(w); len(got) != 0 || w.Code != http.StatusNoContent {
			t.Errorf("PUT from %s: %d %v, want 204 with no CORS header", origin, w.Code, got)
		}
	}
	if got := corsHeaders(preflight(h, "https://horizon.example.org")); got["Access-Control-Allow-Origin"] != "https://horizon.example.org" {
		t.Errorf("a wildcard origin: %v", got)
	}
}

func TestHeaderNotAllowedFailsPreflight(t *testing.T) {
	w := serve(allowing(horizon).Wrap(tokenOnly), http.MethodOptions, horizon, map[string]string{
		"Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "x-auth-token,x-secret",
	})
	if got := corsHeaders(w); len(got) != 0 {
		t.Fatalf("a preflight asking for an unlisted header: %v, want no CORS header", got)
	}
	w = serve(allowing(horizon).Wrap(tokenOnly), http.MethodOptions, horizon, map[string]string{
		"Access-Control-Request-Method": "TRACE",
	})
	if got := corsHeaders(w); len(got) != 0 {
		t.Fatalf("a preflight asking for TRACE: %v, want no CORS header", got)
	}
}

func TestActualRequestExposesHeaders(t *testing.T) {
	w := serve(allowing(horizon).Wrap(tokenOnly), http.MethodPut, horizon, map[string]string{"X-Auth-Token": "t"})
	if w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Origin") != horizon {
		t.Fatalf("PUT from Horizon: %d %v", w.Code, corsHeaders(w))
	}
	if exposed := w.Header().Get("Access-Control-Expose-Headers"); !strings.Contains(exposed, "X-Openstack-Request-Id") ||
		!strings.Contains(exposed, "X-Subject-Token") {
		t.Errorf("Access-Control-Expose-Headers %q lacks the request id or X-Subject-Token", exposed)
	}
	if vary := w.Header().Values("Vary"); len(vary) == 0 || vary[0] != "Origin" {
		t.Errorf("Vary %v, want Origin (answers differ by origin)", vary)
	}
}

func TestNoOriginsMeansOff(t *testing.T) {
	h := Defaults().Wrap(tokenOnly)
	w := preflight(h, horizon)
	if got := corsHeaders(w); len(got) != 0 || w.Code != http.StatusUnauthorized {
		t.Fatalf("with no allowed origin a preflight reaches the API: %d %v, want 401 and no CORS header", w.Code, got)
	}
}

func TestCheck(t *testing.T) {
	if err := allowing(horizon, "*", "https://*.example.org").Check(); err != nil {
		t.Fatalf("valid settings: %v", err)
	}
	bad := map[string]func(*Config){
		"origin with a path":   func(c *Config) { c.AllowedOrigins = []string{"https://h.example.com/"} },
		"origin no scheme":     func(c *Config) { c.AllowedOrigins = []string{"h.example.com"} },
		"partial header glob":  func(c *Config) { c.AllowHeaders = []string{"X-Image-Meta-*"} },
		"lower-case method":    func(c *Config) { c.AllowMethods = []string{"put"} },
		"negative max_age":     func(c *Config) { c.MaxAge = -1 },
		"empty expose header":  func(c *Config) { c.ExposeHeaders = []string{""} },
		"two wildcards origin": func(c *Config) { c.AllowedOrigins = []string{"https://*.*.example.com"} },
	}
	for name, change := range bad {
		c := allowing(horizon)
		change(&c)
		if err := c.Check(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
