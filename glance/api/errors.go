package api

import (
	"html"
	"net/http"
	"strconv"
	"strings"

	"imagestack/common/httpx"
	"imagestack/glance"
)

// statusOf is the image API's one error table: service error kind -> status.
var statusOf = httpx.ErrorTable{
	{glance.ErrBadRequest, http.StatusBadRequest},
	{glance.ErrForbidden, http.StatusForbidden},
	{glance.ErrNotFound, http.StatusNotFound},
	{glance.ErrConflict, http.StatusConflict},
	{glance.ErrTooLarge, http.StatusRequestEntityTooLarge},
	{glance.ErrGone, http.StatusGone},
	{glance.ErrUnsupported, http.StatusUnsupportedMediaType},
	{glance.ErrUnsatisfiable, http.StatusRequestedRangeNotSatisfiable},
	{glance.ErrUnavailable, http.StatusServiceUnavailable},
	{glance.ErrPrecondition, http.StatusPreconditionFailed},
	{glance.ErrTimeout, http.StatusRequestTimeout},
}

// fail answers err: known kinds with their status and message, anything else
// as a logged 500 naming only the request id.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpx.Fail(w, r, err, httpx.Failure{Name: "image", Table: statusOf, Message: glance.Message, Write: writeError, Log: a.log,
		Internal: httpx.InternalMessage})
}

// badRequest answers a malformed request.
func badRequest(w http.ResponseWriter, r *http.Request, msg string) {
	writeError(w, r, http.StatusBadRequest, msg)
}

// writeError writes an error the way Glance (webob 1.8) does, choosing the
// format from Accept: an HTML page when it mentions html or */*, JSON
// {"code","title","message"} when it mentions application/json, plain text
// otherwise (no Accept at all included). glanceclient and openstacksdk read
// any of them.
func writeError(w http.ResponseWriter, r *http.Request, status int, message string) {
	title := http.StatusText(status)
	code := strconv.Itoa(status) + " " + title
	var body, ctype string
	switch accept := strings.Join(r.Header.Values("Accept"), ","); {
	case strings.Contains(accept, "html") || strings.Contains(accept, "*/*"):
		body = "<html>\n <head>\n  <title>" + code + "</title>\n </head>\n <body>\n  <h1>" + code + "</h1>\n  " +
			html.EscapeString(message) + "<br /><br />\n\n\n\n </body>\n</html>"
		ctype = "text/html; charset=UTF-8"
	case strings.Contains(accept, "application/json"):
		httpx.WriteJSON(w, status, map[string]any{"code": code, "title": title, "message": message})
		return
	default:
		body, ctype = code+"\n\n"+message+"\n\n   ", "text/plain; charset=UTF-8"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(body))
	}
}
