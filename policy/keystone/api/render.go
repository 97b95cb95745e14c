package api

import (
	"encoding/json"
	"net/http"
	"strconv"

	"imagestack/common/httpx"
)

// maxBody bounds identity request bodies; none is legitimately near this.
const maxBody = 1 << 20

// writeJSON renders v, sending headers only for HEAD requests.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	if r.Method == http.MethodHead {
		body, _ := json.Marshal(v)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		return
	}
	httpx.WriteJSON(w, status, v)
}

// decode parses the JSON body into v; on failure it answers 400 and returns false.
func (a *API) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := httpx.DecodeJSON(r, maxBody, v); err != nil {
		a.badRequest(w, r, "The request body is not valid JSON for this request: "+err.Error())
		return false
	}
	return true
}

// boolParam parses an optional boolean query parameter the way Keystone does
// ("true"/"1"/"yes" vs "false"/"0"/"no"); ok=false means malformed.
func boolParam(r *http.Request, name string) (val *bool, ok bool) {
	s, present := r.URL.Query()[name]
	if !present {
		return nil, true
	}
	var b bool
	switch v := s[0]; v {
	case "", "1", "true", "True", "yes", "on":
		b = true
	case "0", "false", "False", "no", "off":
		b = false
	default:
		return nil, false
	}
	return &b, true
}

// noContent answers 204, or err.
func (a *API) noContent(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
