// Package api serves the Glance v2 image API. Handlers parse and render;
// the rules live in glance/service, and errors become statuses in errors.go.
package api

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
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
	r.HandleFunc("/healthcheck", healthcheck).Methods(http.MethodGet, http.MethodHead)
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
	route("/metadefs/namespaces", a.listMetadefNamespaces, http.MethodGet)
	route("/info/usage", a.showUsage, http.MethodGet)
	route("/images/{image_id}/locations", a.listLocations, http.MethodGet)
	route("/images/{image_id}/locations", a.addLocation, http.MethodPost)
	route("/cache", a.showCache, http.MethodGet)
	route("/cache", a.clearCache, http.MethodDelete)
	route("/cache/{image_id}", a.queueCache, http.MethodPut)
	route("/cache/{image_id}", a.deleteCached, http.MethodDelete)
}

// caller is the authenticated caller of r.
func (a *API) caller(r *http.Request) service.Caller {
	return a.svc.NewCaller(authn.CredentialsFrom(r.Context()))
}

// healthcheck answers load balancers as Glance's healthcheck middleware does.
func healthcheck(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte("OK"))
	}
}
