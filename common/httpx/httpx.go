// Package httpx holds the HTTP behaviour every API family shares: request ids,
// structured access logs, request metrics, panic recovery, health checks, and
// 404/405 answers in the family's own error format.
package httpx

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"imagestack/common/iox"
	"imagestack/common/metrics"
	"imagestack/common/reqid"
)

// BodyIdleTimeout ends the reading of a request body whose client has sent
// nothing for that long; handlers that stream large bodies set their own.
var BodyIdleTimeout = 60 * time.Second

// ErrorWriter writes one error response in an API family's wire format
// (Keystone, Glance and Nova error bodies differ).
type ErrorWriter func(w http.ResponseWriter, r *http.Request, status int, message string)

// Family describes one API (identity, image, compute) for Wrap.
type Family struct {
	Name       string       // "identity", "image", "compute": appears in logs
	Logger     *slog.Logger // access and error log
	WriteError ErrorWriter
	// ExtraRequestIDHeaders are set to the request id as well (Nova also sends
	// x-compute-request-id).
	ExtraRequestIDHeaders []string
	// Middleware, if set, wraps the router inside the request-id, logging and
	// recovery layer, so that it applies to every response, 404s included
	// (Nova's microversion headers).
	Middleware func(http.Handler) http.Handler
}

type ctxKey int

const infoKey ctxKey = 0

// RequestInfo is what the access log reports about a request; inner layers
// fill in the project once the caller is authenticated.
type RequestInfo struct {
	ID      string
	Project string
	User    string
	// Route is the path template of the route that matched ("" for none).
	Route string
}

// Info returns the request's RequestInfo (never nil inside Wrap).
func Info(ctx context.Context) *RequestInfo {
	if ri, ok := ctx.Value(infoKey).(*RequestInfo); ok {
		return ri
	}
	return &RequestInfo{}
}

// RequestID returns the request's id, "req-<uuid>".
func RequestID(ctx context.Context) string { return Info(ctx).ID }

// Wrap installs the family's 404 and 405 handlers on router and returns the
// handler that gives each request its ids (see common/reqid), recovers
// panics, logs every request and records its duration by route template.
func Wrap(router *mux.Router, fam Family) http.Handler {
	router.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fam.WriteError(w, r, http.StatusNotFound, "The resource could not be found.")
	})
	router.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", strings.Join(AllowedMethods(router, r), ", "))
		fam.WriteError(w, r, http.StatusMethodNotAllowed, "The method "+r.Method+" is not allowed for this resource.")
	})
	router.Use(recordRoute)
	var inner http.Handler = router
	if fam.Middleware != nil {
		inner = fam.Middleware(router)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ids := reqid.Inbound(r.Header)
		ri := &RequestInfo{ID: ids.Request}
		rec := &recorder{ResponseWriter: w}
		h := w.Header()
		h.Set(reqid.Header, ri.ID)
		for _, name := range fam.ExtraRequestIDHeaders {
			h.Set(name, ri.ID)
		}
		r = r.WithContext(reqid.WithIDs(context.WithValue(r.Context(), infoKey, ri), ids))
		if r.Body != nil && r.Body != http.NoBody {
			// A client that stops sending its body must not hold the
			// request (and what it allocated) forever.
			r.Body = iox.IdleBody(rec, r, BodyIdleTimeout)
		}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				fam.Logger.ErrorContext(r.Context(), "panic serving request", "api", fam.Name, "request_id", ri.ID,
					"method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				if !rec.wrote {
					fam.WriteError(rec, r, http.StatusInternalServerError, fmt.Sprintf(InternalMessage, ri.ID))
				}
			}
			fam.finish(r, rec, time.Since(start))
		}()
		inner.ServeHTTP(rec, r)
	})
}

// recordRoute notes the matched route's path template for the access log
// and the request metrics: one label per route, whatever the ids in the URL.
func recordRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if route := mux.CurrentRoute(r); route != nil {
			if tmpl, err := route.GetPathTemplate(); err == nil {
				Info(r.Context()).Route = tmpl
			}
		}
		next.ServeHTTP(w, r)
	})
}

// finish logs the answered request and records its duration.
func (fam Family) finish(r *http.Request, rec *recorder, d time.Duration) {
	ri, status := Info(r.Context()), rec.statusOr200()
	route := ri.Route
	if route == "" {
		route = metrics.OtherRoute
	}
	metrics.ObserveRequest(fam.Name, route, r.Method, status, d)
	attrs := []any{"api", fam.Name, "method", r.Method, "path", r.URL.Path, "route", route, "status", status,
		"bytes", rec.bytes, "duration_ms", float64(d.Microseconds()) / 1000, "request_id", ri.ID}
	if g := reqid.FromContext(r.Context()).Global; g != "" {
		attrs = append(attrs, reqid.GlobalKey, g)
	}
	attrs = append(attrs, "project", ri.Project, "user", ri.User, "remote", r.RemoteAddr)
	fam.Logger.InfoContext(r.Context(), "request", attrs...)
}

// AllowedMethods lists the methods some route of router accepts for r's path.
func AllowedMethods(router *mux.Router, r *http.Request) []string {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		var match mux.RouteMatch
		if router.Match(probe, &match) && match.MatchErr == nil {
			allowed = append(allowed, m)
		}
	}
	sort.Strings(allowed)
	return allowed
}

// recorder remembers the status and byte count for the access log, and whether
// anything was written (a panic after that cannot send an error body).
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status = code
		r.wrote = true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if !r.wrote {
		r.status = http.StatusOK
		r.wrote = true
	}
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) statusOr200() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

// ReadFrom keeps the server's zero-copy path (sendfile) for file downloads.
func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	if !r.wrote {
		r.status, r.wrote = http.StatusOK, true
	}
	if rf, ok := r.ResponseWriter.(io.ReaderFrom); ok {
		n, err := rf.ReadFrom(src)
		r.bytes += n
		return n, err
	}
	n, err := io.Copy(onlyWriter{r.ResponseWriter}, src)
	r.bytes += n
	return n, err
}

// onlyWriter hides a writer's other methods from io.Copy.
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }

// Flush lets streaming handlers push data through the recorder.
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap exposes the underlying writer to http.ResponseController.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// WriteJSON writes v as a JSON response with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "response encoding failed", http.StatusInternalServerError)
		return
	}
	WriteJSONBytes(w, status, body)
}

// WriteJSONBytes writes body, already encoded JSON, as WriteJSON does.
func WriteJSONBytes(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// DecodeJSON reads a JSON request body of at most limit bytes into v.
func DecodeJSON(r *http.Request, limit int64, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, limit))
	if err := dec.Decode(v); err != nil {
		return err
	}
	return nil
}
