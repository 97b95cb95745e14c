package api

import (
	"net/http"

	"imagestack/common/httpx"
)

// supportedVersions are the Glance v2 versions advertised, newest first: the
// same list real Glance 25 answers with a single store and an image cache
// configured (2.14 brings /v2/cache, which is always served here; without
// it glanceclient refuses its cache-* commands).
var supportedVersions = []string{"2.16", "2.15", "2.14", "2.9", "2.7", "2.6", "2.5", "2.4", "2.3", "2.2", "2.1", "2.0"}

// listVersions answers GET / (300, as Glance does for the root and unknown
// versions) and GET /versions (200).
func (a *API) listVersions(w http.ResponseWriter, r *http.Request) {
	versions := make([]versionBody, 0, len(supportedVersions))
	for i, v := range supportedVersions {
		status := "SUPPORTED"
		if i == 0 {
			status = "CURRENT"
		}
		versions = append(versions, versionBody{ID: "v" + v, Status: status,
			Links: []link{{Rel: "self", Href: a.baseURL + "/v2/"}}})
	}
	status := http.StatusMultipleChoices
	if r.URL.Path == "/versions" || r.URL.Path == "/versions/" {
		status = http.StatusOK
	}
	writeJSON(w, status, versionList{Versions: versions})
}

func writeJSON(w http.ResponseWriter, status int, v any) { httpx.WriteJSON(w, status, v) }

// versionBody is one API version of the version document.
type versionBody struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Links  []link `json:"links"`
}

// link is a JSON link object.
type link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

// versionList is the version document.
type versionList struct {
	Versions []versionBody `json:"versions"`
}
