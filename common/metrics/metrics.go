// Package metrics owns the process's Prometheus registry and every metric
// imagestack exports. Other packages never touch prometheus types: they
// call the small functions below, whose label values are bounded sets
// (API names, route templates, methods, statuses, host names, lease kinds),
// never ids or raw URLs.
package metrics

import (
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// namespace prefixes every metric name.
const namespace = "imagestack"

// registry holds imagestack's metrics and the Go runtime's and process's,
// and nothing a library might register on the global default registry.
var registry = prometheus.NewRegistry()

// register adds c to the registry and returns it.
func register[C prometheus.Collector](c C) C {
	registry.MustRegister(c)
	return c
}

func counterVec(subsystem, name, help string, labels ...string) *prometheus.CounterVec {
	return register(prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: subsystem, Name: name, Help: help}, labels))
}

func gaugeVec(subsystem, name, help string, labels ...string) *prometheus.GaugeVec {
	return register(prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Subsystem: subsystem, Name: name, Help: help}, labels))
}

func gauge(subsystem, name, help string) prometheus.Gauge {
	return register(prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Subsystem: subsystem, Name: name, Help: help}))
}

func init() {
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// Handler serves the registry in Prometheus's exposition formats (/metrics).
func Handler() http.Handler {
	return promhttp.HandlerFor(registry, promhttp.HandlerOpts{Registry: registry})
}

// Gatherer gives tests and tools read access to the registry.
func Gatherer() prometheus.Gatherer { return registry }

// durationBuckets span quick reads to long uploads (seconds).
var durationBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800}

var requestDuration = register(prometheus.NewHistogramVec(prometheus.HistogramOpts{
	Namespace: namespace, Subsystem: "http", Name: "request_duration_seconds",
	Help:    "Time to answer API requests, by API, route template, method and status code.",
	Buckets: durationBuckets,
}, []string{"api", "route", "method", "code"}))

// OtherRoute is the route label of requests that matched no route.
const OtherRoute = "other"

// knownMethods are the methods kept as labels; others count as "OTHER".
var knownMethods = map[string]bool{http.MethodGet: true, http.MethodHead: true, http.MethodPost: true,
	http.MethodPut: true, http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true}

// ObserveRequest records one answered request of api ("identity", "image",
// "compute", "network"): route is the matched route's path template
// ("/v2/images/{image_id}"; "" for none, counted as OtherRoute).
func ObserveRequest(api, route, method string, code int, d time.Duration) {
	if route == "" {
		route = OtherRoute
	}
	if !knownMethods[method] {
		method = "OTHER"
	}
	requestDuration.WithLabelValues(api, route, method, strconv.Itoa(code)).Observe(d.Seconds())
}

// WatchDB exports the connection pool statistics of db (open, in use and
// idle connections, waits) under the name given.
func WatchDB(name string, db *sql.DB) error {
	return registry.Register(collectors.NewDBStatsCollector(db, name))
}
