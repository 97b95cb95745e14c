package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/policy/keystone"
)

func (a *API) domainView(d keystone.Domain) map[string]any {
	return map[string]any{
		"id": d.ID, "name": d.Name, "description": d.Description, "enabled": d.Enabled,
		"tags": []string{}, "options": map[string]any{}, "links": a.selfLink("/v3/domains/" + d.ID),
	}
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
	out := make([]any, len(ds))
	for i, d := range ds {
		out[i] = a.domainView(d)
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"domains": out, "links": a.collectionLinks(r)})
}

func (a *API) showDomain(w http.ResponseWriter, r *http.Request) {
	d, err := a.svc.GetDomain(r.Context(), creds(r), mux.Vars(r)["domain_id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"domain": a.domainView(d)})
}
