// Package api serves the Nova-subset compute API. Handlers parse and render;
// rules live in compute/service; errors become Nova faults in errors.go.
package api

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/compute/service"
	"imagestack/policy/authn"
)

// API is the compute HTTP API.
type API struct {
	svc         *service.Service
	tokens      authn.Validator
	baseURL     string
	imageURL    string // image service root, for snapshot Location headers
	identityURL string
	log         *slog.Logger
}

// New returns the compute API; baseURL is its public root (without /v2.1).
func New(svc *service.Service, tokens authn.Validator, baseURL, imageURL, identityURL string, log *slog.Logger) *API {
	return &API{svc: svc, tokens: tokens, baseURL: strings.TrimRight(baseURL, "/"), imageURL: strings.TrimRight(imageURL, "/"),
		identityURL: identityURL, log: log}
}

// Handler returns the complete compute server handler: microversion
// negotiation around every route, request ids, logs and Nova-style errors.
func (a *API) Handler() http.Handler {
	r := mux.NewRouter()
	a.AddTo(r)
	return httpx.Wrap(r, httpx.Family{Name: "compute", Logger: a.log, WriteError: writeError,
		ExtraRequestIDHeaders: []string{"X-Compute-Request-Id"}, Middleware: withMicroversion})
}

// AddTo holds the whole compute route table.
func (a *API) AddTo(r *mux.Router) {
	r.HandleFunc("/", a.listVersions).Methods(http.MethodGet)
	r.HandleFunc("/v2.1", a.showVersion).Methods(http.MethodGet)
	r.HandleFunc("/v2.1/", a.showVersion).Methods(http.MethodGet)

	route := func(path string, h http.HandlerFunc, methods ...string) {
		r.Handle("/v2.1"+path, authn.RequireToken(a.tokens, a.identityURL, writeError)(h)).Methods(methods...)
	}
	a.addFlavorRoutes(route)
	a.addServerRoutes(route)
	a.addProjectRoutes(route)
	a.addAdminRoutes(route)
}

// routeFunc adds an authenticated route under /v2.1.
type routeFunc func(path string, h http.HandlerFunc, methods ...string)

// addFlavorRoutes: flavors, their access and extra specs.
func (a *API) addFlavorRoutes(route routeFunc) {
	route("/flavors", a.listFlavors, http.MethodGet)
	route("/flavors", a.createFlavor, http.MethodPost)
	route("/flavors/detail", a.listFlavorsDetail, http.MethodGet)
	route("/flavors/{flavor_id}", a.showFlavor, http.MethodGet)
	route("/flavors/{flavor_id}", a.deleteFlavor, http.MethodDelete)
	route("/flavors/{flavor_id}", a.updateFlavor, http.MethodPut)
	route("/flavors/{flavor_id}/os-flavor-access", a.listFlavorAccess, http.MethodGet)
	route("/flavors/{flavor_id}/action", a.flavorAction, http.MethodPost)
	route("/flavors/{flavor_id}/os-extra_specs", a.listExtraSpecs, http.MethodGet)
	route("/flavors/{flavor_id}/os-extra_specs", a.createExtraSpecs, http.MethodPost)
	route("/flavors/{flavor_id}/os-extra_specs/{key}", a.showExtraSpec, http.MethodGet)
	route("/flavors/{flavor_id}/os-extra_specs/{key}", a.updateExtraSpec, http.MethodPut)
	route("/flavors/{flavor_id}/os-extra_specs/{key}", a.deleteExtraSpec, http.MethodDelete)
}

// addServerRoutes: servers and their sub-resources.
func (a *API) addServerRoutes(route routeFunc) {
	route("/servers", a.listServers, http.MethodGet)
	route("/servers", a.createServer, http.MethodPost)
	route("/servers/detail", a.listServersDetail, http.MethodGet)
	route("/servers/{server_id}", a.showServer, http.MethodGet)
	route("/servers/{server_id}", a.deleteServer, http.MethodDelete)
	route("/servers/{server_id}", a.updateServer, http.MethodPut)
	route("/servers/{server_id}/action", a.serverAction, http.MethodPost)
	route("/servers/{server_id}/remote-consoles", a.createRemoteConsole, http.MethodPost)
	route("/servers/{server_id}/ips", a.listIPs, http.MethodGet)
	route("/servers/{server_id}/ips/{network}", a.showIPs, http.MethodGet)
	route("/servers/{server_id}/metadata", a.listMetadata, http.MethodGet)
	route("/servers/{server_id}/tags", tagsRoute(a.listTags), http.MethodGet)
	route("/servers/{server_id}/tags", tagsRoute(a.replaceTags), http.MethodPut)
	route("/servers/{server_id}/tags", tagsRoute(a.deleteTags), http.MethodDelete)
	route("/servers/{server_id}/tags/{tag}", tagsRoute(a.showTag), http.MethodGet)
	route("/servers/{server_id}/tags/{tag}", tagsRoute(a.addTag), http.MethodPut)
	route("/servers/{server_id}/tags/{tag}", tagsRoute(a.deleteTag), http.MethodDelete)
	route("/servers/{server_id}/os-volume_attachments", a.listVolumeAttachments, http.MethodGet)
	route("/servers/{server_id}/os-instance-actions", a.listInstanceActions, http.MethodGet)
	route("/servers/{server_id}/topology", a.showTopology, http.MethodGet)
	route("/servers/{server_id}/os-instance-actions/{request_id}", a.showInstanceAction, http.MethodGet)
	route("/servers/{server_id}/migrations", a.listServerMigrations, http.MethodGet)
	route("/servers/{server_id}/migrations/{migration_id}", a.showServerMigration, http.MethodGet)
	route("/servers/{server_id}/metadata", a.setMetadata, http.MethodPost, http.MethodPut)
	route("/servers/{server_id}/metadata/{key}", a.showMetadataItem, http.MethodGet)
	route("/servers/{server_id}/metadata/{key}", a.setMetadataItem, http.MethodPut)
	route("/servers/{server_id}/metadata/{key}", a.deleteMetadataItem, http.MethodDelete)
}

// addProjectRoutes: what a project has and may use (limits, quotas,
// usage, server groups, key pairs, zones).
func (a *API) addProjectRoutes(route routeFunc) {
	route("/limits", a.showLimits, http.MethodGet)
	route("/os-quota-sets/{project_id}", a.showQuotaSet, http.MethodGet)
	route("/os-quota-sets/{project_id}/detail", a.showQuotaSet, http.MethodGet)
	route("/os-quota-sets/{project_id}/defaults", a.showDefaultQuotaSet, http.MethodGet)
	route("/os-quota-sets/{project_id}", a.updateQuotaSet, http.MethodPut)
	route("/os-quota-sets/{project_id}", a.deleteQuotaSet, http.MethodDelete)
	route("/os-quota-class-sets/{class}", a.showQuotaClassSet, http.MethodGet)
	route("/os-quota-class-sets/{class}", a.updateQuotaClassSet, http.MethodPut)
	route("/os-simple-tenant-usage", a.listTenantUsages, http.MethodGet)
	route("/os-simple-tenant-usage/{project_id}", a.showTenantUsage, http.MethodGet)
	route("/os-server-groups", a.listServerGroups, http.MethodGet)
	route("/os-server-groups", a.createServerGroup, http.MethodPost)
	route("/os-server-groups/{group_id}", a.showServerGroup, http.MethodGet)
	route("/os-server-groups/{group_id}", a.deleteServerGroup, http.MethodDelete)
	route("/os-keypairs", a.listKeyPairs, http.MethodGet)
	route("/os-keypairs", a.createKeyPair, http.MethodPost)
	route("/os-keypairs/{name}", a.showKeyPair, http.MethodGet)
	route("/os-keypairs/{name}", a.deleteKeyPair, http.MethodDelete)
	route("/os-availability-zone", a.listAvailabilityZones, http.MethodGet)
}

// addAdminRoutes: services, hypervisors, aggregates, zone details and
// console tokens (admins by default).
func (a *API) addAdminRoutes(route routeFunc) {
	route("/os-services", a.listServices, http.MethodGet)
	route("/os-services/{service_id}", a.updateService, http.MethodPut)
	route("/os-services/{service_id}", a.deleteService, http.MethodDelete)
	route("/os-hypervisors", a.listHypervisors, http.MethodGet)
	route("/os-hypervisors/detail", a.listHypervisorsDetail, http.MethodGet)
	route("/os-hypervisors/statistics", a.hypervisorStatistics, http.MethodGet)
	route("/os-hypervisors/{hypervisor_id}", a.showHypervisor, http.MethodGet)
	route("/os-hypervisors/{hypervisor_id}/uptime", a.hypervisorUptime, http.MethodGet)
	route("/os-hypervisors/{hypervisor_id}/search", a.searchHypervisors, http.MethodGet)
	route("/os-hypervisors/{hypervisor_id}/servers", a.hypervisorServers, http.MethodGet)
	route("/os-aggregates", a.listAggregates, http.MethodGet)
	route("/os-aggregates", a.createAggregate, http.MethodPost)
	route("/os-aggregates/{id}", a.showAggregate, http.MethodGet)
	route("/os-aggregates/{id}", a.updateAggregate, http.MethodPut)
	route("/os-aggregates/{id}", a.deleteAggregate, http.MethodDelete)
	route("/os-aggregates/{id}/action", a.aggregateAction, http.MethodPost)
	route("/os-aggregates/{id}/images", a.cacheAggregateImages, http.MethodPost)
	route("/os-migrations", a.listMigrations, http.MethodGet)
	route("/os-availability-zone/detail", a.listAvailabilityZonesDetail, http.MethodGet)
	route("/os-console-auth-tokens/{token}", a.showConsoleAuthToken, http.MethodGet)
}

// caller is the authenticated caller of r.
func (a *API) caller(r *http.Request) service.Caller {
	c := a.svc.NewCaller(authn.CredentialsFrom(r.Context()))
	c.RequestID = httpx.RequestID(r.Context())
	return c
}
