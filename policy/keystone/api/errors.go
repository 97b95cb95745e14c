package api

import (
	"errors"
	"net/http"

	"imagestack/common/apierr"
	"imagestack/common/httpx"
	"imagestack/policy/keystone"
)

// statusOf is the identity API's one error table: service error kind -> status.
var statusOf = []struct {
	kind   error
	status int
}{
	{keystone.ErrBadRequest, http.StatusBadRequest},
	{keystone.ErrUnauthorized, http.StatusUnauthorized},
	{keystone.ErrForbidden, http.StatusForbidden},
	{keystone.ErrNotFound, http.StatusNotFound},
	{keystone.ErrConflict, http.StatusConflict},
	{keystone.ErrUnavailable, http.StatusServiceUnavailable},
}

// fail answers err: known kinds with their status and message, anything else
// as a logged 500 whose body names only the request id.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	for _, e := range statusOf {
		if errors.Is(err, e.kind) {
			msg := keystone.Message(err)
			if e.status == http.StatusServiceUnavailable {
				w.Header().Set("Retry-After", httpx.RetryAfter)
				a.log.Warn("identity request answered 503", "request_id", httpx.RequestID(r.Context()), "err", err)
				msg = apierr.Message(err, httpx.UnavailableMessage)
			}
			a.writeError(w, r, e.status, msg)
			return
		}
	}
	id := httpx.RequestID(r.Context())
	a.log.Error("identity request failed", "request_id", id, "method", r.Method, "path", r.URL.Path, "err", err)
	a.writeError(w, r, http.StatusInternalServerError,
		"An unexpected error prevented the server from fulfilling your request (request id "+id+").")
}

// writeError writes Keystone's error body: {"error":{"code","message","title"}}.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, status int, message string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Keystone uri="`+a.baseURL+`"`)
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	httpx.WriteJSON(w, status, map[string]any{"error": map[string]any{
		"code": status, "message": message, "title": http.StatusText(status),
	}})
}

// badRequest answers a malformed request body or parameter.
func (a *API) badRequest(w http.ResponseWriter, r *http.Request, message string) {
	a.writeError(w, r, http.StatusBadRequest, message)
}
