package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/policy"
	"imagestack/policy/keystone"
)

func (a *API) domainView(d keystone.Domain) map[string]any {
	return map[string]any{
		"id": d.ID, "name": d.Name, "description": d.Description, "enabled": d.Enabled,
		"tags": []string{}, "options": map[string]any{}, "links": a.selfLink("/v3/domains/" + d.ID),
	}
}

func (a *API) listDomains(w http.ResponseWriter, r *http.Request) {
	if !a.authorize(w, r, "identity:list_domains", nil) {
		return
	}
	ds, err := a.svc.Repository().ListDomains(r.Context(), r.URL.Query().Get("name"))
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
	id := mux.Vars(r)["domain_id"]
	if !a.authorize(w, r, "identity:get_domain", policy.Target{"target.domain.id": id}) {
		return
	}
	d, err := a.svc.Repository().GetDomain(r.Context(), id)
	if err != nil {
		a.fail(w, r, notFoundMsg(err, "domain", id))
		return
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"domain": a.domainView(d)})
}
