package api

import (
	"net/http"

	"imagestack/common/httpx"
	"imagestack/policy/keystone"
)

// statusOf is the identity API's one error table: service error kind -> status.
var statusOf = httpx.ErrorTable{
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
	httpx.Fail(w, r, err, httpx.Failure{Name: "identity", Table: statusOf, Message: keystone.Message, Write: a.writeError, Log: a.log,
		Internal: httpx.InternalMessage})
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
	httpx.WriteJSON(w, status, errorView{errorDetail{Code: status, Message: message, Title: http.StatusText(status)}})
}

// badRequest answers a malformed request body or parameter.
func (a *API) badRequest(w http.ResponseWriter, r *http.Request, message string) {
	a.writeError(w, r, http.StatusBadRequest, message)
}
