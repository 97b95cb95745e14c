package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
)

// addressesBody answers GET /servers/{id}/ips.
type addressesBody struct {
	Addresses map[string][]addressView `json:"addresses"`
}

// listIPs answers GET /servers/{id}/ips: every network's addresses.
func (a *API) listIPs(w http.ResponseWriter, r *http.Request) {
	nics, err := a.svc.Addresses(r.Context(), a.caller(r), mux.Vars(r)["server_id"], "")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, addressesBody{Addresses: addresses(nics, false)})
}

// showIPs answers GET /servers/{id}/ips/{network}: {"<network>": [...]}.
func (a *API) showIPs(w http.ResponseWriter, r *http.Request) {
	nics, err := a.svc.Addresses(r.Context(), a.caller(r), mux.Vars(r)["server_id"], mux.Vars(r)["network"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, addresses(nics, false))
}
