package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gorm.io/gorm"

	"imagestack/common/db/dbtest"
)

// Every API listener and the metrics listener answer /healthcheck from the
// shared database's state; the metrics listener serves /metrics.
func TestHealthcheckFollowsDatabase(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnauthorized) })
		handlers := map[string]http.Handler{"identity": api, "image": api, "compute": api, "network": api}
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		observe(handlers, newHealth(gdb, log), gdb, log)
		get := func(listener, path string) (int, string) {
			rec := httptest.NewRecorder()
			handlers[listener].ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
			return rec.Code, rec.Body.String()
		}
		if code, body := get("metrics", "/metrics"); code != 200 || !strings.Contains(body, "imagestack_image_bytes_total") {
			t.Fatalf("/metrics = %d %.200s", code, body)
		}
		listeners := []string{"identity", "image", "compute", "network", "metrics"}
		for _, l := range listeners {
			if code, body := get(l, "/healthcheck"); code != 200 || body != "OK" {
				t.Errorf("%s /healthcheck = %d %q with the database up", l, code, body)
			}
		}
		if code, _ := get("image", "/v2/images"); code != http.StatusUnauthorized {
			t.Errorf("API paths must reach the API: %d", code)
		}
		sqlDB, _ := gdb.DB()
		sqlDB.Close()
		for _, l := range listeners {
			if code, body := get(l, "/healthcheck"); code != 503 || body != "database is unavailable" {
				t.Errorf("%s /healthcheck = %d %q with the database closed", l, code, body)
			}
		}
	})
}
