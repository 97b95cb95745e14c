// Package reqid carries a request's ids in its context, as oslo.context
// does: request_id, this process's id for the request, and
// global_request_id, the id of the request of another service (or of an
// API replica, for a compute host) that caused it. Log lines written with a
// context name both (see Handler), so one grep follows a request across
// replicas and hosts.
package reqid

import (
	"context"
	"net/http"
	"regexp"

	"github.com/google/uuid"
)

// Header is where OpenStack services send their request id, and where a
// caller sends the id that becomes our global_request_id.
const Header = "X-Openstack-Request-Id"

// IDs are a request's ids.
type IDs struct {
	// Request is this process's id for the request, "req-<uuid>".
	Request string
	// Global is the caller's request id when it sent a valid one, else "".
	Global string
}

// format is oslo.middleware's: lower-case hex only.
var format = regexp.MustCompile(`^req-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$`)

// New returns a fresh request id, "req-<uuid>".
func New() string { return "req-" + uuid.NewString() }

// Valid reports whether id has the form of an OpenStack request id.
func Valid(id string) bool { return format.MatchString(id) }

// Inbound returns the ids of a request arriving with h: a fresh request
// id, and the caller's X-OpenStack-Request-ID as the global id when it is
// a valid request id (anything else is ignored, as oslo.middleware does, so
// clients cannot put arbitrary text into the logs).
func Inbound(h http.Header) IDs {
	ids := IDs{Request: New()}
	if g := h.Get(Header); Valid(g) {
		ids.Global = g
	}
	return ids
}

type ctxKey struct{}

// WithIDs returns ctx carrying ids. Code that hands work to another process
// (a compute host) sends FromContext's ids along, and the receiver puts
// them into the work's context with WithIDs.
func WithIDs(ctx context.Context, ids IDs) context.Context {
	return context.WithValue(ctx, ctxKey{}, ids)
}

// FromContext returns the ids ctx carries (zero IDs for none).
func FromContext(ctx context.Context) IDs {
	ids, _ := ctx.Value(ctxKey{}).(IDs)
	return ids
}

// GlobalID is what a request sends on to another service as its
// X-OpenStack-Request-ID (oslo.context's global_id): the global id it came
// with, which so stays the same along the whole chain, else its own.
func (ids IDs) GlobalID() string {
	if ids.Global != "" {
		return ids.Global
	}
	return ids.Request
}
