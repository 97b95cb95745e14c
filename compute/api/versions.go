package api

import (
	"net/http"

	"imagestack/common/httpx"
)

// versionDocs are the API's versions: the legacy v2.0 and v2.1.
func (a *API) versionDocs() []versionView {
	link := func(path string) []linkView {
		return []linkView{{Rel: "self", Href: a.baseURL + path}}
	}
	return []versionView{
		{ID: "v2.0", Status: "SUPPORTED", Updated: "2011-01-21T11:33:21Z", Links: link("/v2/")},
		{ID: "v2.1", Status: "CURRENT", Version: maxMicroversion, MinVersion: minMicroversion, Updated: "2013-07-23T11:33:21Z", Links: link("/v2.1/")},
	}
}

// listVersions answers GET / with 200, as Nova does.
func (a *API) listVersions(w http.ResponseWriter, r *http.Request) {
	httpx.WriteJSON(w, http.StatusOK, struct {
		Versions []versionView `json:"versions"`
	}{a.versionDocs()})
}

// showVersion answers GET /v2.1.
func (a *API) showVersion(w http.ResponseWriter, r *http.Request) {
	v := a.versionDocs()[1]
	v.MediaTypes = []mediaTypeView{{Base: "application/json", Type: "application/vnd.openstack.compute+json;version=2.1"}}
	httpx.WriteJSON(w, http.StatusOK, struct {
		Version versionView `json:"version"`
	}{v})
}
