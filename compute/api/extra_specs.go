package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
)

func (a *API) listExtraSpecs(w http.ResponseWriter, r *http.Request) {
	specs, err := a.svc.ExtraSpecs(r.Context(), a.caller(r), mux.Vars(r)["flavor_id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, extraSpecsBody{ExtraSpecs: specs})
}

func (a *API) createExtraSpecs(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ExtraSpecs map[string]any `json:"extra_specs"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	specs, ok := stringMap(body.ExtraSpecs, true)
	if body.ExtraSpecs == nil || !ok {
		badRequest(w, r, "Invalid input for field/attribute extra_specs: an object of strings is required")
		return
	}
	if err := a.svc.CreateExtraSpecs(r.Context(), a.caller(r), mux.Vars(r)["flavor_id"], specs); err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, extraSpecsBody{ExtraSpecs: specs})
}

func (a *API) showExtraSpec(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	val, err := a.svc.ExtraSpec(r.Context(), a.caller(r), v["flavor_id"], v["key"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]string{v["key"]: val})
}

// updateExtraSpec answers PUT .../os-extra_specs/{key} {"key": "value"}.
func (a *API) updateExtraSpec(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	var body map[string]any
	if !decodeBody(w, r, &body) {
		return
	}
	specs, ok := stringMap(body, true)
	if !ok || len(specs) != 1 {
		badRequest(w, r, "Request body must contain exactly one string item")
		return
	}
	if _, match := specs[v["key"]]; !match {
		badRequest(w, r, "Request body and URI mismatch")
		return
	}
	if err := a.svc.UpdateExtraSpec(r.Context(), a.caller(r), v["flavor_id"], v["key"], specs[v["key"]]); err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, specs)
}

func (a *API) deleteExtraSpec(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	if err := a.svc.DeleteExtraSpec(r.Context(), a.caller(r), v["flavor_id"], v["key"]); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
