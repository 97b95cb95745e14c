package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"gorm.io/gorm"

	"imagestack/common/db"
	"imagestack/common/httpx"
	"imagestack/common/metrics"
)

// healthTimeout bounds a health check: below HAProxy's default check
// timeout (its 2 s interval), so that a silent database is reported as
// such rather than as a timed-out check.
const healthTimeout = 1500 * time.Millisecond

// newHealth is every listener's /healthcheck: this process can serve while
// the shared database answers.
func newHealth(gdb *gorm.DB, log *slog.Logger) *httpx.Health {
	return &httpx.Health{Timeout: healthTimeout, Log: log, Checks: []httpx.HealthCheck{
		{Name: "database", Check: func(ctx context.Context) error { return db.Ping(ctx, gdb) }},
	}}
}

// observe puts /healthcheck in front of each API listener and gives the
// metrics listener its handler (/metrics and /healthcheck), and exports the
// database pool's statistics.
func observe(handlers map[string]http.Handler, health http.Handler, gdb *gorm.DB, log *slog.Logger) {
	for _, name := range []string{"identity", "image", "compute", "network"} {
		if h, ok := handlers[name]; ok {
			handlers[name] = httpx.WithHealth(h, health)
		}
	}
	handlers["metrics"] = metricsHandler(health)
	if sqlDB, err := gdb.DB(); err == nil {
		if err := metrics.WatchDB("main", sqlDB); err != nil {
			log.Warn("database pool statistics are not exported", "err", err)
		}
	}
}

// metricsHandler serves the metrics listener.
func metricsHandler(health http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", metrics.Handler())
	mux.Handle(httpx.HealthPath, health)
	return mux
}
