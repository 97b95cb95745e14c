package api

import "net/http"

// versionDoc describes the one identity API version served, v3.14.
func (a *API) versionDoc() versionView {
	return versionView{ID: "v3.14", Status: "stable", Updated: "2020-04-07T00:00:00Z",
		Links:      []versionLink{{Rel: "self", Href: a.baseURL + "/v3/"}},
		MediaTypes: []mediaType{{Base: "application/json", Type: "application/vnd.openstack.identity-v3+json"}},
	}
}

// listVersions answers GET / with 300 Multiple Choices, as Keystone does.
func (a *API) listVersions(w http.ResponseWriter, r *http.Request) {
	type values struct {
		Values []versionView `json:"values"`
	}
	writeJSON(w, r, http.StatusMultipleChoices, struct {
		Versions values `json:"versions"`
	}{values{[]versionView{a.versionDoc()}}})
}

// showVersion answers GET /v3.
func (a *API) showVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, r, http.StatusOK, struct {
		Version versionView `json:"version"`
	}{a.versionDoc()})
}
