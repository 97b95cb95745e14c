package api

import (
	"net/http"

	"imagestack/common/httpx"
)

// faultNames is Nova's status -> error body key table.
var faultNames = map[int]string{
	400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
	405: "badMethod", 409: "conflictingRequest", 413: "overLimit", 415: "badMediaType",
	429: "overLimit", 501: "notImplemented", 503: "serviceUnavailable",
}

// writeError writes Nova's error body: {"<faultName>":{"code","message"}}.
func writeError(w http.ResponseWriter, r *http.Request, status int, message string) {
	name, ok := faultNames[status]
	if !ok {
		name = "computeFault"
	}
	httpx.WriteJSON(w, status, map[string]any{name: map[string]any{"code": status, "message": message}})
}
