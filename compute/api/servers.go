package api

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/compute"
	"imagestack/compute/service"
)

func (a *API) listServers(w http.ResponseWriter, r *http.Request)       { a.serverPage(w, r, false) }
func (a *API) listServersDetail(w http.ResponseWriter, r *http.Request) { a.serverPage(w, r, true) }

// statusToVMState maps the status filter to vm_state values.
var statusToVMState = map[string]string{"ACTIVE": compute.VMActive, "BUILD": compute.VMBuilding, "SHUTOFF": compute.VMStopped,
	"ERROR": compute.VMError, "DELETED": compute.VMDeleted}

// serverPage answers GET /servers and /servers/detail: one page, with a
// next link when the page is full.
func (a *API) serverPage(w http.ResponseWriter, r *http.Request, detail bool) {
	c := a.caller(r)
	f, msg := a.parseServerQuery(r, c)
	if msg != "" {
		badRequest(w, r, msg)
		return
	}
	list, err := a.svc.ListServers(r.Context(), c, f, detail)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	next := nextLink(a, r, list, f.Limit, func(sv *compute.Server) string { return sv.ID })
	if detail {
		httpx.WriteJSON(w, http.StatusOK, serversBody[serverView]{Servers: httpx.ListOf(list, a.detailAt(r)), Links: next})
		return
	}
	httpx.WriteJSON(w, http.StatusOK, serversBody[serverBriefView]{Servers: httpx.ListOf(list, a.serverBrief), Links: next})
}

func (a *API) showServer(w http.ResponseWriter, r *http.Request) {
	sv, err := a.svc.Get(r.Context(), a.caller(r), mux.Vars(r)["server_id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, serverBody[serverView]{Server: a.detailAt(r)(sv)})
}

// serverCreate is the body of POST /servers.
type serverCreate struct {
	Server *struct {
		Name                string            `json:"name"`
		ImageRef            string            `json:"imageRef"`
		FlavorRef           json.RawMessage   `json:"flavorRef"`
		MinCount            json.RawMessage   `json:"min_count"`
		MaxCount            json.RawMessage   `json:"max_count"`
		Metadata            map[string]string `json:"metadata"`
		KeyName             string            `json:"key_name"`
		ReturnReservationID bool              `json:"return_reservation_id"`
		Tags                *[]string         `json:"tags"` // 2.52
		guestInputs
	} `json:"server"`
}

// createRequest turns the body into the service's request, or the
// message of a 400.
func (body *serverCreate) createRequest() (service.CreateRequest, string) {
	if body.Server == nil {
		return service.CreateRequest{}, "Invalid input for field/attribute server: 'server' is a required property"
	}
	s := body.Server
	req := service.CreateRequest{Name: s.Name, ImageRef: s.ImageRef, Metadata: s.Metadata, KeyName: s.KeyName, MinCount: 1, MaxCount: 1}
	if req.ImageRef == "" {
		return req, "Invalid input for field/attribute imageRef: a boot image is required (volume boot is not supported)."
	}
	ref, ok := stringOrNumber(s.FlavorRef)
	if !ok || ref == "" {
		return req, "Invalid input for field/attribute flavorRef."
	}
	req.FlavorRef = ref
	for _, c := range []struct {
		raw json.RawMessage
		dst *int
		key string
	}{{s.MinCount, &req.MinCount, "min_count"}, {s.MaxCount, &req.MaxCount, "max_count"}} {
		if len(c.raw) == 0 {
			continue
		}
		v, ok := stringOrNumber(c.raw)
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < 1 {
			return req, "Invalid input for field/attribute " + c.key + ": it must be an integer >= 1."
		}
		*c.dst = n
	}
	if len(s.MaxCount) == 0 && req.MinCount > 1 {
		req.MaxCount = req.MinCount
	}
	return req, s.guestInputs.apply(&req)
}

// createServer answers POST /servers with 202.
func (a *API) createServer(w http.ResponseWriter, r *http.Request) {
	var body serverCreate
	if !decodeBody(w, r, &body) {
		return
	}
	choice, isChoice := networkChoice(r, &body)
	req, msg := body.createRequest()
	if msg == "" {
		req.Tags, msg = createTags(r, body.Server.Tags)
	}
	if isChoice {
		req.Networks = choice
	}
	if msg != "" {
		badRequest(w, r, msg)
		return
	}
	res, err := a.svc.Create(r.Context(), a.caller(r), req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if body.Server.ReturnReservationID {
		httpx.WriteJSON(w, http.StatusAccepted, reservationBody{ReservationID: res.ReservationID})
		return
	}
	first := res.Servers[0]
	w.Header().Set("Location", a.baseURL+"/v2.1/servers/"+first.ID)
	httpx.WriteJSON(w, http.StatusAccepted, serverBody[serverCreatedView]{Server: serverCreatedView{
		ID: first.ID, Links: a.resourceLinks("servers", first.ID), DiskConfig: "MANUAL",
		SecurityGroups: requestedSecurityGroups(req.SecurityGroups), AdminPass: res.AdminPass,
	}})
}

func (a *API) deleteServer(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.Delete(r.Context(), a.caller(r), mux.Vars(r)["server_id"]); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
