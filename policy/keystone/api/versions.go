package api

import "net/http"

// versionDoc describes the one identity API version served, v3.14.
func (a *API) versionDoc() map[string]any {
	return map[string]any{
		"id":      "v3.14",
		"status":  "stable",
		"updated": "2020-04-07T00:00:00Z",
		"links":   []map[string]string{{"rel": "self", "href": a.baseURL + "/v3/"}},
		"media-types": []map[string]string{{
			"base": "application/json",
			"type": "application/vnd.openstack.identity-v3+json",
		}},
	}
}

// listVersions answers GET / with 300 Multiple Choices, as Keystone does.
func (a *API) listVersions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, r, http.StatusMultipleChoices, map[string]any{
		"versions": map[string]any{"values": []any{a.versionDoc()}},
	})
}

// showVersion answers GET /v3.
func (a *API) showVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, r, http.StatusOK, map[string]any{"version": a.versionDoc()})
}
