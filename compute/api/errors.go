package api

import (
	"net/http"

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
var statusOf = httpx.ErrorTable{
	{compute.ErrBadRequest, http.StatusBadRequest},
	{compute.ErrForbidden, http.StatusForbidden},
	{compute.ErrNotFound, http.StatusNotFound},
	{compute.ErrConflict, http.StatusConflict},
	{compute.ErrOverQuota, http.StatusForbidden},
	{compute.ErrUnavailable, http.StatusServiceUnavailable},
}

// fail answers err with its Nova fault, or a logged 500.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpx.Fail(w, r, err, httpx.Failure{Name: "compute", Table: statusOf, Message: compute.Message, Write: writeError, Log: a.log,
		Internal: "Unexpected API Error. Please report this at the operator's support channel and attach the request id %s."})
}

// writeError writes Nova's error body: {"<faultName>":{"code","message"}}.
func writeError(w http.ResponseWriter, r *http.Request, status int, message string) {
	name, ok := faultNames[status]
	if !ok {
		name = "computeFault"
	}
	httpx.WriteJSON(w, status, map[string]faultBody{name: {Code: status, Message: message}})
}

// faultBody is a Nova error, under a key that names its kind.
type faultBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func badRequest(w http.ResponseWriter, r *http.Request, msg string) {
	writeError(w, r, http.StatusBadRequest, msg)
}
