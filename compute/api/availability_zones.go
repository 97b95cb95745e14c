package api

import (
	"net/http"
	"os"
	"time"

	"imagestack/common/httpx"
)

// zoneName is the one availability zone, named as Nova's default.
const zoneName = "nova"

// listAvailabilityZones answers GET /os-availability-zone.
func (a *API) listAvailabilityZones(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.Authorize(a.caller(r), "os_compute_api:os-availability-zone:list"); err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"availabilityZoneInfo": []any{map[string]any{
		"zoneName": zoneName, "zoneState": map[string]bool{"available": true}, "hosts": nil,
	}}})
}

// listAvailabilityZonesDetail answers GET /os-availability-zone/detail
// (admin): the zone with this host and its compute service.
func (a *API) listAvailabilityZonesDetail(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.Authorize(a.caller(r), "os_compute_api:os-availability-zone:detail"); err != nil {
		a.fail(w, r, err)
		return
	}
	host, _ := os.Hostname()
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"availabilityZoneInfo": []any{map[string]any{
		"zoneName": zoneName, "zoneState": map[string]bool{"available": true},
		"hosts": map[string]any{host: map[string]any{"nova-compute": map[string]any{
			"available": true, "active": true, "updated_at": time.Now().UTC().Format("2006-01-02T15:04:05.000000"),
		}}},
	}}})
}
