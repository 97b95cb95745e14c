package api

import (
	"net/http"

	"imagestack/common/httpx"
)

func (a *API) versionDocs() []map[string]any {
	link := func(path string) []map[string]string {
		return []map[string]string{{"rel": "self", "href": a.baseURL + path}}
	}
	return []map[string]any{
		{"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "", "updated": "2011-01-21T11:33:21Z", "links": link("/v2/")},
		{"id": "v2.1", "status": "CURRENT", "version": maxMicroversion, "min_version": minMicroversion, "updated": "2013-07-23T11:33:21Z", "links": link("/v2.1/")},
	}
}

// listVersions answers GET / with 200, as Nova does.
func (a *API) listVersions(w http.ResponseWriter, r *http.Request) {
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"versions": a.versionDocs()})
}

// showVersion answers GET /v2.1.
func (a *API) showVersion(w http.ResponseWriter, r *http.Request) {
	v := a.versionDocs()[1]
	v["media-types"] = []map[string]string{{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"version": v})
}
