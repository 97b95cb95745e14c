package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
)

func (a *API) listMembers(w http.ResponseWriter, r *http.Request) {
	ms, err := a.svc.ListMembers(r.Context(), a.caller(r), mux.Vars(r)["image_id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	views := make([]memberBody, len(ms))
	for i, m := range ms {
		views[i] = memberView(m)
	}
	httpx.WriteJSON(w, http.StatusOK, memberList{Members: views, Schema: "/v2/schemas/members"})
}

// addMember answers POST .../members {"member": "<project>"} with 200, as Glance does.
func (a *API) addMember(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if !decodeJSON(w, r, &body) {
		return
	}
	member, ok := body["member"].(string)
	if !ok {
		badRequest(w, r, "Member to be added not specified")
		return
	}
	m, err := a.svc.AddMember(r.Context(), a.caller(r), mux.Vars(r)["image_id"], member)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, memberView(m))
}

func (a *API) showMember(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	m, err := a.svc.GetMember(r.Context(), a.caller(r), v["image_id"], v["member_id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, memberView(m))
}

// updateMember answers PUT .../members/{m} {"status": "accepted"}.
func (a *API) updateMember(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if !decodeJSON(w, r, &body) {
		return
	}
	status, ok := body["status"].(string)
	if !ok {
		badRequest(w, r, "Status not specified")
		return
	}
	v := mux.Vars(r)
	m, err := a.svc.UpdateMember(r.Context(), a.caller(r), v["image_id"], v["member_id"], status)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, memberView(m))
}

func (a *API) deleteMember(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	if err := a.svc.DeleteMember(r.Context(), a.caller(r), v["image_id"], v["member_id"]); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
