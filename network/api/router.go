// Package api serves the Neutron-compatible network API (v2.0 subset).
// Handlers parse and render (one generic resource answers the CRUD of every
// collection); rules live in network/service; errors become
// NeutronError bodies in errors.go; lists are filtered, sorted, paged and
// trimmed to fields= in query.go.
package api

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/network/service"
	"imagestack/policy/authn"
)

// API is the network HTTP API.
type API struct {
	svc         *service.Service
	tokens      authn.Validator
	baseURL     string // public root, without /v2.0
	identityURL string
	log         *slog.Logger
}

// New returns the network API; baseURL is its public root (without /v2.0,
// as Neutron publishes it in the catalog).
func New(svc *service.Service, tokens authn.Validator, baseURL, identityURL string, log *slog.Logger) *API {
	return &API{svc: svc, tokens: tokens, baseURL: strings.TrimRight(baseURL, "/"), identityURL: identityURL, log: log}
}

// Handler returns the complete network server handler: request ids, logs
// and Neutron-style errors, 404 for any path outside the routes.
func (a *API) Handler() http.Handler {
	r := mux.NewRouter()
	a.AddTo(r)
	return httpx.Wrap(r, httpx.Family{Name: "network", Logger: a.log, WriteError: writeError})
}

// AddTo holds the whole network route table. Paths take an optional
// ".json" suffix, as Neutron's do.
func (a *API) AddTo(r *mux.Router) {
	r.HandleFunc("/", a.listVersions).Methods(http.MethodGet)
	r.HandleFunc("/v2.0", a.showVersion).Methods(http.MethodGet)
	r.HandleFunc("/v2.0/", a.showVersion).Methods(http.MethodGet)

	route := func(path string, h http.HandlerFunc, methods ...string) {
		handler := authn.RequireToken(a.tokens, a.identityURL, writeError)(h)
		r.Handle("/v2.0"+path, handler).Methods(methods...)
		r.Handle("/v2.0"+path+".json", handler).Methods(methods...)
	}
	route("/extensions", a.listExtensions, http.MethodGet)
	route("/extensions/{alias:[^/.]+}", a.showExtension, http.MethodGet)
	// Each collection's handlers come from its resource (resource.go).
	nets, subnets, ports := a.networks(), a.subnets(), a.ports()
	groups, rules, avail := a.groups(), a.rules(), a.availabilities()
	route("/networks", nets.List, http.MethodGet)
	route("/networks", nets.Create, http.MethodPost)
	route("/networks/{id:[^/.]+}", nets.Show, http.MethodGet)
	route("/networks/{id:[^/.]+}", nets.Update, http.MethodPut)
	route("/networks/{id:[^/.]+}", nets.Delete, http.MethodDelete)
	route("/subnets", subnets.List, http.MethodGet)
	route("/subnets", subnets.Create, http.MethodPost)
	route("/subnets/{id:[^/.]+}", subnets.Show, http.MethodGet)
	route("/subnets/{id:[^/.]+}", subnets.Update, http.MethodPut)
	route("/subnets/{id:[^/.]+}", subnets.Delete, http.MethodDelete)
	route("/ports", ports.List, http.MethodGet)
	route("/ports", ports.Create, http.MethodPost)
	route("/ports/{id:[^/.]+}", ports.Show, http.MethodGet)
	route("/ports/{id:[^/.]+}", ports.Update, http.MethodPut)
	route("/ports/{id:[^/.]+}", ports.Delete, http.MethodDelete)
	route("/security-groups", groups.List, http.MethodGet)
	route("/security-groups", groups.Create, http.MethodPost)
	route("/security-groups/{id:[^/.]+}", groups.Show, http.MethodGet)
	route("/security-groups/{id:[^/.]+}", groups.Update, http.MethodPut)
	route("/security-groups/{id:[^/.]+}", groups.Delete, http.MethodDelete)
	route("/security-group-rules", rules.List, http.MethodGet)
	route("/security-group-rules", rules.Create, http.MethodPost)
	route("/security-group-rules/{id:[^/.]+}", rules.Show, http.MethodGet)
	route("/security-group-rules/{id:[^/.]+}", rules.Delete, http.MethodDelete)
	route("/quotas", a.listQuotas, http.MethodGet)
	route("/quotas/{project_id:[^/.]+}", a.showQuota, http.MethodGet)
	route("/quotas/{project_id:[^/.]+}", a.updateQuota, http.MethodPut)
	route("/quotas/{project_id:[^/.]+}", a.deleteQuota, http.MethodDelete)
	route("/quotas/{project_id:[^/.]+}/default", a.showDefaultQuota, http.MethodGet)
	route("/quotas/{project_id:[^/.]+}/details", a.showQuotaDetails, http.MethodGet)
	route("/network-ip-availabilities", avail.List, http.MethodGet)
	route("/network-ip-availabilities/{id:[^/.]+}", avail.Show, http.MethodGet)
	route("/floatingips", a.listFloatingIPs, http.MethodGet)
	route("/floatingips", a.createFloatingIP, http.MethodPost)
	route("/routers", a.listRouters, http.MethodGet)
}
