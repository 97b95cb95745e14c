package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/policy/keystone"
)

// listServices answers GET /v3/services from the configured catalog.
func (a *API) listServices(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cat, err := a.svc.ListServices(creds(r), q.Get("name"), q.Get("type"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, struct {
		Services []serviceView `json:"services"`
		Links    listLinks     `json:"links"`
	}{httpx.ListOf(cat, a.serviceView), a.collectionLinks(r)})
}

func (a *API) serviceView(s keystone.CatalogEntry) serviceView {
	return serviceView{ID: s.ID, Type: s.Type, Name: s.Name, Enabled: true, Links: a.selfLink("/v3/services/" + s.ID)}
}

// showService answers GET /v3/services/{service_id}.
func (a *API) showService(w http.ResponseWriter, r *http.Request) {
	s, err := a.svc.GetService(creds(r), mux.Vars(r)["service_id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, struct {
		Service serviceView `json:"service"`
	}{a.serviceView(s)})
}

// showRegion answers GET /v3/regions/{region_id}: the one configured region.
func (a *API) showRegion(w http.ResponseWriter, r *http.Request) {
	id, err := a.svc.GetRegion(creds(r), mux.Vars(r)["region_id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, struct {
		Region regionView `json:"region"`
	}{regionView{ID: id, Links: a.selfLink("/v3/regions/" + id)}})
}

// listEndpoints answers GET /v3/endpoints from the configured catalog.
func (a *API) listEndpoints(w http.ResponseWriter, r *http.Request) {
	cat, err := a.svc.ListEndpoints(creds(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := []endpointView{}
	for _, s := range cat {
		for _, e := range s.Endpoints {
			out = append(out, endpointView{ID: e.ID, Interface: e.Interface, Region: e.Region,
				RegionID: e.RegionID, URL: e.URL, ServiceID: s.ID, Enabled: true,
				Links: a.selfLink("/v3/endpoints/" + e.ID)})
		}
	}
	writeJSON(w, r, http.StatusOK, struct {
		Endpoints []endpointView `json:"endpoints"`
		Links     listLinks      `json:"links"`
	}{out, a.collectionLinks(r)})
}

// listRegions answers GET /v3/regions: the one configured region.
func (a *API) listRegions(w http.ResponseWriter, r *http.Request) {
	regions, err := a.svc.ListRegions(creds(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	view := func(region string) regionView {
		return regionView{ID: region, Links: a.selfLink("/v3/regions/" + region)}
	}
	writeJSON(w, r, http.StatusOK, struct {
		Regions []regionView `json:"regions"`
		Links   listLinks    `json:"links"`
	}{httpx.ListOf(regions, view), a.collectionLinks(r)})
}
