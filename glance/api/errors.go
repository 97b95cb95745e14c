package api

import (
	"html"
	"net/http"
	"strconv"
	"strings"

	"imagestack/common/httpx"
)

// writeError writes an error the way Glance (webob) does: JSON
// {"code","title","message"} when the client accepts JSON, else a small HTML
// page. glanceclient and openstacksdk read either.
func writeError(w http.ResponseWriter, r *http.Request, status int, message string) {
	title := http.StatusText(status)
	code := strconv.Itoa(status) + " " + title
	if acceptsJSON(r) {
		httpx.WriteJSON(w, status, map[string]any{"code": code, "title": title, "message": message})
		return
	}
	body := "<html>\n <head>\n  <title>" + code + "</title>\n </head>\n <body>\n  <h1>" + code + "</h1>\n  " +
		html.EscapeString(message) + "<br /><br />\n\n\n\n </body>\n</html>"
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(body))
	}
}

func acceptsJSON(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		if strings.Contains(v, "application/json") {
			return true
		}
	}
	return false
}
