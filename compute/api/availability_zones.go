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
	views := make([]zoneView, len(zones))
	for i, z := range zones {
		views[i] = zoneView{ZoneName: z.Name, ZoneState: zoneStateView{Available: z.Available}}
		if !detail || !z.Available {
			continue
		}
		views[i].Hosts = map[string]map[string]zoneServiceState{}
		for host, services := range z.Hosts {
			states := map[string]zoneServiceState{}
			for _, sv := range services {
				states[sv.Binary] = zoneServiceState{Available: sv.Up, Active: sv.Enabled,
					UpdatedAt: sv.Updated.Format("2006-01-02T15:04:05.000000")}
			}
			views[i].Hosts[host] = states
		}
	}
	httpx.WriteJSON(w, http.StatusOK, zonesBody{AvailabilityZoneInfo: views})
}
