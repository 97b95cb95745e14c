package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
)

func (a *API) listMetadata(w http.ResponseWriter, r *http.Request) {
	md, err := a.svc.Metadata(r.Context(), a.caller(r), mux.Vars(r)["server_id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, metadataBody{Metadata: md})
}

// setMetadata answers POST (merge) and PUT (replace) .../metadata.
func (a *API) setMetadata(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Metadata map[string]any `json:"metadata"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	md, ok := stringMap(body.Metadata, false)
	if body.Metadata == nil || !ok {
		badRequest(w, r, "Invalid input for field/attribute metadata: an object of strings is required")
		return
	}
	set := a.svc.SetMetadata
	if r.Method == http.MethodPut {
		set = a.svc.ReplaceMetadata
	}
	out, err := set(r.Context(), a.caller(r), mux.Vars(r)["server_id"], md)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, metadataBody{Metadata: out})
}

func (a *API) showMetadataItem(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	md, err := a.svc.Metadata(r.Context(), a.caller(r), v["server_id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	val, ok := md[v["key"]]
	if !ok {
		writeError(w, r, http.StatusNotFound, "Metadata item was not found")
		return
	}
	httpx.WriteJSON(w, http.StatusOK, metaItemBody{Meta: map[string]string{v["key"]: val}})
}

// setMetadataItem answers PUT .../metadata/{key} {"meta": {key: value}}.
func (a *API) setMetadataItem(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	var body struct {
		Meta map[string]any `json:"meta"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	md, ok := stringMap(body.Meta, false)
	if !ok || len(md) != 1 {
		badRequest(w, r, "Request body must contain exactly one meta item")
		return
	}
	if _, match := md[v["key"]]; !match {
		badRequest(w, r, "Request body and URI mismatch")
		return
	}
	if err := a.svc.SetMetadataItem(r.Context(), a.caller(r), v["server_id"], v["key"], md[v["key"]]); err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, metaItemBody{Meta: md})
}

func (a *API) deleteMetadataItem(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	if err := a.svc.DeleteMetadata(r.Context(), a.caller(r), v["server_id"], v["key"]); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
