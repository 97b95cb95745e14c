package reqid

import (
	"context"
	"log/slog"
)

// Log attribute names, oslo.log's.
const (
	RequestKey = "request_id"
	GlobalKey  = "global_request_id"
)

// Handler wraps a slog.Handler so that every record logged with a context
// (log.InfoContext(ctx, ...)) that carries ids gets request_id, and
// global_request_id when set. A record that names them itself keeps its own.
func Handler(inner slog.Handler) slog.Handler { return handler{inner} }

type handler struct{ inner slog.Handler }

func (h handler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	ids := FromContext(ctx)
	if ids.Request == "" {
		return h.inner.Handle(ctx, r)
	}
	hasRequest, hasGlobal := false, false
	r.Attrs(func(a slog.Attr) bool {
		hasRequest = hasRequest || a.Key == RequestKey
		hasGlobal = hasGlobal || a.Key == GlobalKey
		return true
	})
	if !hasRequest {
		r.AddAttrs(slog.String(RequestKey, ids.Request))
	}
	if !hasGlobal && ids.Global != "" {
		r.AddAttrs(slog.String(GlobalKey, ids.Global))
	}
	return h.inner.Handle(ctx, r)
}

func (h handler) WithAttrs(as []slog.Attr) slog.Handler { return handler{h.inner.WithAttrs(as)} }

func (h handler) WithGroup(name string) slog.Handler { return handler{h.inner.WithGroup(name)} }
