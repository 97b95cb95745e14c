// Package api serves the Glance v2 image API. Handlers parse and render;
// the rules live in glance/service, and errors become statuses in errors.go.
package api

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/glance"
	"imagestack/glance/service"
	"imagestack/policy/authn"
)

// API is the image HTTP API.
type API struct {
	svc         *service.Service
	tokens      authn.Validator
	baseURL     string
	identityURL string
	log         *slog.Logger
}

// New returns the image API. baseURL is its public root; identityURL is sent
// in 401 challenges.
func New(svc *service.Service, tokens authn.Validator, baseURL, identityURL string, log *slog.Logger) *API {
	return &API{svc: svc, tokens: tokens, baseURL: strings.TrimRight(baseURL, "/"), identityURL: identityURL, log: log}
}

// Handler returns the complete image server handler.
func (a *API) Handler() http.Handler {
	r := mux.NewRouter()
	a.AddTo(r)
	return httpx.Wrap(r, httpx.Family{Name: "image", Logger: a.log, WriteError: writeError})
}

// authenticated wraps a handler with token validation.
func (a *API) authenticated(h http.HandlerFunc) http.Handler {
	return authn.RequireToken(a.tokens, a.identityURL, writeError)(h)
}

// AddTo holds the whole image route table.
func (a *API) AddTo(r *mux.Router) {
	r.HandleFunc("/", a.listVersions).Methods(http.MethodGet)
	r.HandleFunc("/versions", a.listVersions).Methods(http.MethodGet)
	r.HandleFunc("/versions/", a.listVersions).Methods(http.MethodGet)
	r.HandleFunc("/v2", a.listVersions).Methods(http.MethodGet)
	r.HandleFunc("/v2/", a.listVersions).Methods(http.MethodGet)

	route := func(path string, h http.HandlerFunc, methods ...string) {
		r.Handle("/v2"+path, a.authenticated(h)).Methods(methods...)
	}
	route("/images", a.listImages, http.MethodGet)
	route("/images", a.createImage, http.MethodPost)
	route("/images/{image_id}", a.showImage, http.MethodGet)
	route("/images/{image_id}", a.updateImage, http.MethodPatch)
	route("/images/{image_id}", a.deleteImage, http.MethodDelete)
	route("/images/{image_id}/actions/deactivate", a.deactivateImage, http.MethodPost)
	route("/images/{image_id}/actions/reactivate", a.reactivateImage, http.MethodPost)
	route("/images/{image_id}/file", a.uploadData, http.MethodPut)
	route("/images/{image_id}/file", a.downloadData, http.MethodGet)
	route("/images/{image_id}/tags/{tag}", a.addTag, http.MethodPut)
	route("/images/{image_id}/tags/{tag}", a.deleteTag, http.MethodDelete)
	route("/images/{image_id}/members", a.listMembers, http.MethodGet)
	route("/images/{image_id}/members", a.addMember, http.MethodPost)
	route("/images/{image_id}/members/{member_id}", a.showMember, http.MethodGet)
	route("/images/{image_id}/members/{member_id}", a.updateMember, http.MethodPut)
	route("/images/{image_id}/members/{member_id}", a.deleteMember, http.MethodDelete)
	route("/images/{image_id}/stage", a.stageData, http.MethodPut)
	route("/images/{image_id}/import", a.importImage, http.MethodPost)
	route("/images/{image_id}/tasks", a.listImageTasks, http.MethodGet)
	route("/info/import", a.showImportInfo, http.MethodGet)
	route("/info/stores", a.showStores, http.MethodGet)
	route("/info/stores/detail", a.showStoresDetail, http.MethodGet)
	route("/stores/{store_id}/{image_id}", a.deleteFromStore, http.MethodDelete)
	route("/tasks", a.listTasks, http.MethodGet)
	route("/tasks", a.createTask, http.MethodPost)
	route("/tasks/{task_id}", a.showTask, http.MethodGet)
	route("/tasks/{task_id}", a.deleteTask, http.MethodDelete)
	route("/schemas/{name}", a.showSchema, http.MethodGet)
	route("/schemas/metadefs/{name}", a.showMetadefSchema, http.MethodGet)
	a.addMetadefRoutes(route)
	route("/info/usage", a.showUsage, http.MethodGet)
	route("/images/{image_id}/locations", a.listLocations, http.MethodGet)
	route("/images/{image_id}/locations", a.addLocation, http.MethodPost)
	route("/cache", a.showCache, http.MethodGet)
	route("/cache", a.clearCache, http.MethodDelete)
	route("/cache/{image_id}", a.queueCache, http.MethodPut)
	route("/cache/{image_id}", a.deleteCached, http.MethodDelete)
}

// addMetadefRoutes holds the metadata definitions routes (/v2/metadefs).
func (a *API) addMetadefRoutes(route func(string, http.HandlerFunc, ...string)) {
	const ns = "/metadefs/namespaces/{namespace}"
	route("/metadefs/namespaces", a.listMetadefNamespaces, http.MethodGet)
	route("/metadefs/namespaces", a.createMetadefNamespace, http.MethodPost)
	route(ns, a.showMetadefNamespace, http.MethodGet)
	route(ns, a.updateMetadefNamespace, http.MethodPut)
	route(ns, a.deleteMetadefNamespace, http.MethodDelete)
	route(ns+"/properties", a.listMetadefProperties, http.MethodGet)
	route(ns+"/properties", a.createMetadefProperty, http.MethodPost)
	route(ns+"/properties", a.deleteMetadefContents(glance.MetadefProperties), http.MethodDelete)
	route(ns+"/properties/{name}", a.showMetadefProperty, http.MethodGet)
	route(ns+"/properties/{name}", a.updateMetadefProperty, http.MethodPut)
	route(ns+"/properties/{name}", a.deleteMetadefProperty, http.MethodDelete)
	route(ns+"/objects", a.listMetadefObjects, http.MethodGet)
	route(ns+"/objects", a.createMetadefObject, http.MethodPost)
	route(ns+"/objects", a.deleteMetadefContents(glance.MetadefObjects), http.MethodDelete)
	route(ns+"/objects/{name}", a.showMetadefObject, http.MethodGet)
	route(ns+"/objects/{name}", a.updateMetadefObject, http.MethodPut)
	route(ns+"/objects/{name}", a.deleteMetadefObject, http.MethodDelete)
	route(ns+"/tags", a.listMetadefTags, http.MethodGet)
	route(ns+"/tags", a.createMetadefTags, http.MethodPost)
	route(ns+"/tags", a.deleteMetadefContents(glance.MetadefTags), http.MethodDelete)
	route(ns+"/tags/{name}", a.showMetadefTag, http.MethodGet)
	route(ns+"/tags/{name}", a.createMetadefTag, http.MethodPost)
	route(ns+"/tags/{name}", a.updateMetadefTag, http.MethodPut)
	route(ns+"/tags/{name}", a.deleteMetadefTag, http.MethodDelete)
	route(ns+"/resource_types", a.listMetadefAssociations, http.MethodGet)
	route(ns+"/resource_types", a.createMetadefAssociation, http.MethodPost)
	route(ns+"/resource_types/{name}", a.deleteMetadefAssociation, http.MethodDelete)
	route("/metadefs/resource_types", a.listMetadefResourceTypes, http.MethodGet)
}

// caller is the authenticated caller of r.
func (a *API) caller(r *http.Request) service.Caller {
	return a.svc.NewCaller(authn.CredentialsFrom(r.Context()))
}
