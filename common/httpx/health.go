package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// HealthPath is where load balancers (HAProxy's option httpchk) ask each
// listener whether its process can serve: oslo.middleware's healthcheck
// path, which Glance and Nova deployments expose.
const HealthPath = "/healthcheck"

// HealthCheck is one engine the process cannot answer requests without.
type HealthCheck struct {
	Name string // "database": names the engine in the reason clients see
	// Check returns nil when the engine answers; ctx carries the deadline.
	Check func(ctx context.Context) error
}

// Health answers HealthPath as oslo.middleware's healthcheck application
// does: 200 "OK" (text/plain) when every check passes, 503 with one reason a
// line when one does not answer within Timeout; HEAD gets 204 or 503 with no
// body; a client preferring application/json gets {"detailed": false,
// "reasons": [...]}. Reasons never carry engine addresses (anyone may ask):
// the cause goes to Log, once per change of state.
type Health struct {
	Checks  []HealthCheck
	Timeout time.Duration
	Log     *slog.Logger
	down    atomic.Bool
}

func (h *Health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reasons, healthy := h.check(r.Context())
	status := http.StatusOK
	if !healthy {
		status = http.StatusServiceUnavailable
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/plain; charset=UTF-8")
	if r.Method == http.MethodHead {
		if healthy {
			status = http.StatusNoContent
		}
		w.WriteHeader(status)
		return
	}
	body := []byte(strings.Join(reasons, "\n"))
	if prefersJSON(r.Header.Get("Accept")) {
		hd.Set("Content-Type", "application/json; charset=UTF-8")
		body, _ = json.MarshalIndent(struct {
			Detailed bool     `json:"detailed"`
			Reasons  []string `json:"reasons"`
		}{false, reasons}, "", "    ")
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// check runs every check at once under one deadline.
func (h *Health) check(ctx context.Context) (reasons []string, healthy bool) {
	ctx, cancel := context.WithTimeout(ctx, h.Timeout)
	defer cancel()
	errs := make([]chan error, len(h.Checks))
	for i, c := range h.Checks {
		errs[i] = make(chan error, 1)
		go func() { errs[i] <- c.Check(ctx) }()
	}
	var failed []error
	for i, c := range h.Checks {
		var err error
		select {
		case err = <-errs[i]:
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err == nil {
			continue
		}
		failed = append(failed, fmt.Errorf("%s: %w", c.Name, err))
		if errors.Is(err, context.DeadlineExceeded) {
			reasons = append(reasons, fmt.Sprintf("%s did not answer within %s", c.Name, h.Timeout))
		} else {
			reasons = append(reasons, c.Name+" is unavailable")
		}
	}
	h.logChange(failed)
	if len(reasons) == 0 {
		return []string{"OK"}, true
	}
	return reasons, false
}

// logChange logs when the process becomes unhealthy and when it recovers,
// not at every probe (HAProxy asks every few seconds).
func (h *Health) logChange(failed []error) {
	if h.Log == nil {
		return
	}
	down := len(failed) > 0
	if h.down.Swap(down) == down {
		return
	}
	if down {
		h.Log.Warn("healthcheck failing: load balancers will stop sending requests here", "err", errors.Join(failed...))
	} else {
		h.Log.Info("healthcheck passing again")
	}
}

// prefersJSON reports whether accept ranks application/json above
// text/plain (the default, as oslo's middleware answers when nothing
// matches).
func prefersJSON(accept string) bool {
	if accept == "" {
		return false
	}
	return acceptQ(accept, "application", "json") > acceptQ(accept, "text", "plain")
}

// acceptQ is the quality accept gives typ/sub: that of its most specific
// matching media range, 0 if none matches.
func acceptQ(accept, typ, sub string) float64 {
	best, q := -1, 0.0
	for _, part := range strings.Split(accept, ",") {
		params := strings.Split(part, ";")
		t, s, _ := strings.Cut(strings.ToLower(strings.TrimSpace(params[0])), "/")
		specificity := 0
		if t != "*" {
			specificity++
		}
		if s != "*" {
			specificity++
		}
		if (t != "*" && t != typ) || (s != "*" && s != sub) || specificity <= best {
			continue
		}
		best, q = specificity, 1.0
		for _, p := range params[1:] {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.TrimSpace(k) == "q" {
				q, _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
			}
		}
	}
	return q
}

// WithHealth answers HealthPath with health before next sees the request:
// without a token, and outside the API's version discovery, access log and
// request metrics (a load balancer asks every few seconds).
func WithHealth(next, health http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == HealthPath {
			health.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
