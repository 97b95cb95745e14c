package api

import "net/http"

// listServices answers GET /v3/services from the configured catalog.
func (a *API) listServices(w http.ResponseWriter, r *http.Request) {
	cat, err := a.svc.ListServices(creds(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := []any{}
	for _, s := range cat {
		out = append(out, map[string]any{"id": s.ID, "type": s.Type, "name": s.Name, "enabled": true,
			"links": a.selfLink("/v3/services/" + s.ID)})
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"services": out, "links": a.collectionLinks(r)})
}

// listEndpoints answers GET /v3/endpoints from the configured catalog.
func (a *API) listEndpoints(w http.ResponseWriter, r *http.Request) {
	cat, err := a.svc.ListEndpoints(creds(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := []any{}
	for _, s := range cat {
		for _, e := range s.Endpoints {
			out = append(out, map[string]any{"id": e.ID, "interface": e.Interface, "region": e.Region,
				"region_id": e.RegionID, "url": e.URL, "service_id": s.ID, "enabled": true,
				"links": a.selfLink("/v3/endpoints/" + e.ID)})
		}
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"endpoints": out, "links": a.collectionLinks(r)})
}

// listRegions answers GET /v3/regions: the one configured region.
func (a *API) listRegions(w http.ResponseWriter, r *http.Request) {
	regions, err := a.svc.ListRegions(creds(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]any, len(regions))
	for i, region := range regions {
		out[i] = map[string]any{"id": region, "description": "", "parent_region_id": nil, "links": a.selfLink("/v3/regions/" + region)}
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"regions": out, "links": a.collectionLinks(r)})
}
