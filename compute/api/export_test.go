package api

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"
)

// HandlerAt serves the API's routes as if every request had negotiated
// microversion v, even one above what the API announces: tests of
// behaviour written ahead of its microversion.
func (a *API) HandlerAt(v string) http.Handler {
	r := mux.NewRouter()
	a.AddTo(r)
	ver, ok := parseVersion(v)
	if !ok {
		panic("malformed microversion " + v)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), versionKey{}, ver)))
	})
}
