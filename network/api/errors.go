package api

import (
	"errors"
	"net/http"

	"imagestack/common/httpx"
	"imagestack/network"
)

// statusOf is the network API's one error table: service error kind ->
// status.
var statusOf = httpx.ErrorTable{
	{network.ErrBadRequest, http.StatusBadRequest},
	{network.ErrForbidden, http.StatusForbidden},
	{network.ErrNotFound, http.StatusNotFound},
	{network.ErrConflict, http.StatusConflict},
	{network.ErrUnavailable, http.StatusServiceUnavailable},
}

// statusTypes name errors without a Neutron exception of their own, as
// Neutron's webob faults are named.
var statusTypes = map[int]string{
	400: "HTTPBadRequest", 401: "HTTPUnauthorized", 403: "HTTPForbidden", 404: "HTTPNotFound",
	405: "HTTPMethodNotAllowed", 409: "HTTPConflict", 413: "HTTPRequestEntityTooLarge", 415: "HTTPUnsupportedMediaType",
	500: "HTTPInternalServerError", 503: "HTTPServiceUnavailable",
}

// errorView is Neutron's error body.
type errorView struct {
	NeutronError neutronError `json:"NeutronError"`
}

type neutronError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Detail  string `json:"detail"`
}

// writeError writes a NeutronError named after the status.
func writeError(w http.ResponseWriter, r *http.Request, status int, message string) {
	writeTyped(w, status, "", message)
}

func writeTyped(w http.ResponseWriter, status int, typ, message string) {
	if typ == "" {
		typ = statusTypes[status]
	}
	if typ == "" {
		typ = "HTTPError"
	}
	httpx.WriteJSON(w, status, errorView{neutronError{Type: typ, Message: message}})
}

// fail answers err with its NeutronError, or a logged 500.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	typ := network.TypeOf(err)
	var ne *network.Error
	if !errors.As(err, &ne) {
		typ = ""
	}
	httpx.Fail(w, r, err, httpx.Failure{Name: "network", Table: statusOf, Message: network.Message, Log: a.log,
		Internal: "Request Failed: internal server error while processing your request (request id %s).",
		Write: func(w http.ResponseWriter, r *http.Request, status int, msg string) {
			if status >= 500 {
				typ = ""
			}
			writeTyped(w, status, typ, msg)
		}})
}

// badRequest answers a request the API could not read.
func badRequest(w http.ResponseWriter, msg string) {
	writeTyped(w, http.StatusBadRequest, "HTTPBadRequest", msg)
}
