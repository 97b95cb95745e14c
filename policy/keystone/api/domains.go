package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/policy/keystone"
)

func (a *API) domainView(d keystone.Domain) domainView {
	return domainView{ID: d.ID, Name: d.Name, Description: d.Description, Enabled: d.Enabled,
		Tags: []string{}, Options: options{}, Links: a.selfLink("/v3/domains/" + d.ID)}
}

func (a *API) listDomains(w http.ResponseWriter, r *http.Request) {
	ds, err := a.svc.ListDomains(r.Context(), creds(r), r.URL.Query().Get("name"))
	a.renderDomains(w, r, ds, err)
}

// renderDomains answers a domain list, or err.
func (a *API) renderDomains(w http.ResponseWriter, r *http.Request, ds []keystone.Domain, err error) {
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, struct {
		Domains []domainView `json:"domains"`
		Links   listLinks    `json:"links"`
	}{httpx.ListOf(ds, a.domainView), a.collectionLinks(r)})
}

func (a *API) showDomain(w http.ResponseWriter, r *http.Request) {
	d, err := a.svc.GetDomain(r.Context(), creds(r), mux.Vars(r)["domain_id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, struct {
		Domain domainView `json:"domain"`
	}{a.domainView(d)})
}
