package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

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

// parseServerQuery reads a server listing's query: its filter, whether
// all projects are asked for, or the message of a 400.
func parseServerQuery(q url.Values) (compute.ServerFilter, bool, string) {
	f := compute.ServerFilter{Limit: maxLimit}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return f, false, "limit param must be an integer"
		}
		f.Limit = min(n, maxLimit)
	}
	f.Marker, f.ImageID, f.FlavorID, f.ReservationID = q.Get("marker"), q.Get("image"), q.Get("flavor"), q.Get("reservation_id")
	f.Name = q.Get("name")
	if st := q.Get("status"); st != "" {
		vm, ok := statusToVMState[st]
		if !ok {
			vm = "nonexistent-status" // Nova answers an unknown status with an empty list
		}
		f.Status = vm
	}
	if cs := q.Get("changes-since"); cs != "" {
		t, err := time.Parse(time.RFC3339, cs)
		if err != nil {
			if t, err = time.Parse("2006-01-02T15:04:05", cs); err != nil {
				return f, false, "Invalid filter field: changes-since."
			}
		}
		f.ChangesSince = &t
	}
	v := q.Get("all_tenants")
	return f, v != "" && v != "0" && v != "false" && v != "False", ""
}

// serverPage answers GET /servers and /servers/detail: one page, with a
// next link when the page is full.
func (a *API) serverPage(w http.ResponseWriter, r *http.Request, detail bool) {
	f, allTenants, msg := parseServerQuery(r.URL.Query())
	if msg != "" {
		badRequest(w, r, msg)
		return
	}
	list, err := a.svc.List(r.Context(), a.caller(r), f, allTenants, detail)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	next := nextLink(a, r, list, f.Limit, func(sv *compute.Server) string { return sv.ID })
	if detail {
		show := a.detailShow(r)
		render := func(sv *compute.Server) serverView { return a.serverAt(r, sv, show) }
		httpx.WriteJSON(w, http.StatusOK, serversBody[serverView]{Servers: httpx.ListOf(list, render), Links: next})
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
	httpx.WriteJSON(w, http.StatusOK, serverBody[serverView]{Server: a.serverAt(r, sv, a.showOf(r, sv))})
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
		Description         nullableString    `json:"description"`
		Hostname            *string           `json:"hostname"`
		Host                *string           `json:"host"`
		HypervisorHostname  *string           `json:"hypervisor_hostname"`
		TrustedCerts        json.RawMessage   `json:"trusted_image_certificates"`
		guestInputs
	} `json:"server"`
	SchedulerHints       json.RawMessage `json:"os:scheduler_hints"`
	LegacySchedulerHints json.RawMessage `json:"OS-SCH-HNT:scheduler_hints"`
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
	if req.Group, ok = schedulerGroup(body.SchedulerHints, body.LegacySchedulerHints); !ok {
		return req, "Invalid input for field/attribute os:scheduler_hints. The group hint must be a server group's uuid."
	}
	return req, s.guestInputs.apply(&req)
}

// decodeCreate reads POST /servers' body as Nova's schema at r's
// microversion allows it, or answers 400 and returns false.
func decodeCreate(w http.ResponseWriter, r *http.Request) (serverCreate, service.CreateRequest, bool) {
	var raw json.RawMessage
	var body serverCreate
	if !decodeBody(w, r, &raw) {
		return body, service.CreateRequest{}, false
	}
	msg := unexpectedKeys(r, "body", raw, createTopKeys)
	if server := memberOf(raw, "server"); msg == "" && server != nil {
		msg = unexpectedKeys(r, "server", server, createKeys)
	}
	if msg == "" && json.Unmarshal(raw, &body) != nil {
		msg = "Invalid input for field/attribute server. Value: " + clip(string(raw)) + "."
	}
	var req service.CreateRequest
	if msg == "" {
		req, msg = body.createRequest()
	}
	if msg == "" {
		msg = body.versioned(r, &req)
	}
	if msg != "" {
		badRequest(w, r, msg)
		return body, req, false
	}
	return body, req, true
}

// versioned applies what later microversions add to a create request.
func (body *serverCreate) versioned(r *http.Request, req *service.CreateRequest) string {
	s := body.Server
	if !atLeast(r, "2.19") {
		name := req.Name
		req.Description = &name // Nova's description before 2.19 is the name
	} else if msg := s.Description.checkDescription(); msg != "" {
		return msg
	} else {
		req.Description = s.Description.value
	}
	if msg := checkHostname(s.Hostname); msg != "" {
		return msg
	}
	req.Hostname = deref(s.Hostname)
	if len(s.TrustedCerts) > 0 && string(s.TrustedCerts) != "null" && string(s.TrustedCerts) != "[]" {
		return "Image certificate validation is not supported here: trusted_image_certificates must be null or empty."
	}
	req.Host, req.Node = deref(s.Host), deref(s.HypervisorHostname)
	if atLeast(r, "2.37") && len(s.Networks) == 0 {
		return "Invalid input for field/attribute server. 'networks' is a required property"
	}
	if !atLeast(r, "2.37") && len(s.Networks) > 0 && s.Networks[0] == '"' {
		return "Invalid input for field/attribute networks. Value: " + clip(string(s.Networks)) + ". It is not of type 'array'"
	}
	return ""
}

// createServer answers POST /servers with 202.
func (a *API) createServer(w http.ResponseWriter, r *http.Request) {
	body, req, ok := decodeCreate(w, r)
	if !ok {
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
