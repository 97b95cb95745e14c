// Package api serves the Glance v2 image API.
package api

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/policy"
	"imagestack/policy/keystone"
)

// API is the image HTTP API.
type API struct {
	tokens      keystone.TokenValidator
	policy      *policy.Enforcer
	baseURL     string
	identityURL string
	log         *slog.Logger
}

// New returns the image API. baseURL is its public root; identityURL is sent
// in 401 challenges.
func New(tokens keystone.TokenValidator, enforcer *policy.Enforcer, baseURL, identityURL string, log *slog.Logger) *API {
	return &API{tokens: tokens, policy: enforcer, baseURL: strings.TrimRight(baseURL, "/"), identityURL: identityURL, log: log}
}

// Handler returns the complete image server handler.
func (a *API) Handler() http.Handler {
	r := mux.NewRouter()
	a.AddTo(r)
	return httpx.Wrap(r, httpx.Family{Name: "image", Logger: a.log, WriteError: writeError})
}

// authenticated wraps a handler with token validation.
func (a *API) authenticated(h http.HandlerFunc) http.Handler {
	return keystone.RequireToken(a.tokens, a.identityURL, writeError)(h)
}

// AddTo holds the whole image route table.
func (a *API) AddTo(r *mux.Router) {
	r.HandleFunc("/", a.listVersions).Methods(http.MethodGet)
	r.HandleFunc("/versions", a.listVersions).Methods(http.MethodGet)
}
