package api

import (
	"net/http"

	"imagestack/common/httpx"
)

// listAvailabilityZones answers GET /os-availability-zone.
func (a *API) listAvailabilityZones(w http.ResponseWriter, r *http.Request) {
	a.availabilityZones(w, r, false)
}

// listAvailabilityZonesDetail answers GET /os-availability-zone/detail
// (admin): the zone with this host and its compute service.
func (a *API) listAvailabilityZonesDetail(w http.ResponseWriter, r *http.Request) {
	a.availabilityZones(w, r, true)
}

func (a *API) availabilityZones(w http.ResponseWriter, r *http.Request, detail bool) {
	zones, err := a.svc.AvailabilityZones(r.Context(), a.caller(r), detail)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	views := make([]any, len(zones))
	for i, z := range zones {
		var hosts any
		if detail {
			hosts = map[string]any{z.Host: map[string]any{"nova-compute": map[string]any{
				"available": true, "active": true, "updated_at": z.Updated.Format("2006-01-02T15:04:05.000000"),
			}}}
		}
		views[i] = map[string]any{"zoneName": z.Name, "zoneState": map[string]bool{"available": true}, "hosts": hosts}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"availabilityZoneInfo": views})
}
