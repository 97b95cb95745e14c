package api

import (
	"errors"
	"net/http"

	"imagestack/common/apierr"
	"imagestack/common/httpx"
	"imagestack/compute"
)

// faultNames is Nova's status -> error body key table.
var faultNames = map[int]string{
	400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
	405: "badMethod", 409: "conflictingRequest", 413: "overLimit", 415: "badMediaType",
	429: "overLimit", 501: "notImplemented", 503: "serviceUnavailable",
}

// statusOf is the compute API's one error table: service error kind -> status.
var statusOf = []struct {
	kind   error
	status int
}{
	{compute.ErrBadRequest, http.StatusBadRequest},
	{compute.ErrForbidden, http.StatusForbidden},
	{compute.ErrNotFound, http.StatusNotFound},
	{compute.ErrConflict, http.StatusConflict},
	{compute.ErrOverQuota, http.StatusForbidden},
	{compute.ErrUnavailable, http.StatusServiceUnavailable},
}

// fail answers err with its Nova fault, or a logged 500.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	for _, e := range statusOf {
		if errors.Is(err, e.kind) {
			msg := compute.Message(err)
			if e.status == http.StatusServiceUnavailable {
				w.Header().Set("Retry-After", httpx.RetryAfter)
				a.log.Warn("compute request answered 503", "request_id", httpx.RequestID(r.Context()), "err", err)
				msg = apierr.Message(err, httpx.UnavailableMessage)
			}
			writeError(w, r, e.status, msg)
			return
		}
	}
	id := httpx.RequestID(r.Context())
	a.log.Error("compute request failed", "request_id", id, "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, r, http.StatusInternalServerError,
		"Unexpected API Error. Please report this at the operator's support channel and attach the request id "+id+".")
}

// writeError writes Nova's error body: {"<faultName>":{"code","message"}}.
func writeError(w http.ResponseWriter, r *http.Request, status int, message string) {
	name, ok := faultNames[status]
	if !ok {
		name = "computeFault"
	}
	httpx.WriteJSON(w, status, map[string]any{name: map[string]any{"code": status, "message": message}})
}

func badRequest(w http.ResponseWriter, r *http.Request, msg string) {
	writeError(w, r, http.StatusBadRequest, msg)
}
