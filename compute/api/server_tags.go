package api

import (
	"net/http"
	"net/url"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/compute"
	"imagestack/compute/service"
)

// tagsBody is {"tags": [...]} (GET and PUT /servers/{id}/tags).
type tagsBody struct {
	Tags []string `json:"tags"`
}

// tagsRoute serves a 2.26 route; earlier microversions do not have it
// (404, as Nova's unversioned routes).
func tagsRoute(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !atLeast(r, "2.26") {
			writeError(w, r, http.StatusNotFound, "The resource could not be found.")
			return
		}
		h(w, r)
	}
}

func (a *API) listTags(w http.ResponseWriter, r *http.Request) {
	tags, err := a.svc.Tags(r.Context(), a.caller(r), mux.Vars(r)["server_id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, tagsBody{Tags: tags})
}

// replaceTags answers PUT /servers/{id}/tags {"tags": [...]}.
func (a *API) replaceTags(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Tags *[]string `json:"tags"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	if body.Tags == nil {
		badRequest(w, r, "Invalid input for field/attribute tags. Value: None. 'tags' is a required property")
		return
	}
	tags, err := a.svc.SetTags(r.Context(), a.caller(r), mux.Vars(r)["server_id"], *body.Tags)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, tagsBody{Tags: tags})
}

func (a *API) deleteTags(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.DeleteTags(r.Context(), a.caller(r), mux.Vars(r)["server_id"]); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// showTag answers 204 when the server has the tag, else 404.
func (a *API) showTag(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	if err := a.svc.HasTag(r.Context(), a.caller(r), v["server_id"], v["tag"]); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// addTag answers 201 with the tag's Location when it is new, 204 when
// the server had it.
func (a *API) addTag(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	added, err := a.svc.AddTag(r.Context(), a.caller(r), v["server_id"], v["tag"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if !added {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Location", a.baseURL+"/v2.1/servers/"+v["server_id"]+"/tags/"+url.PathEscape(v["tag"]))
	w.WriteHeader(http.StatusCreated)
}

func (a *API) deleteTag(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	if err := a.svc.DeleteTag(r.Context(), a.caller(r), v["server_id"], v["tag"]); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// createTags checks the tags of a create body (2.52; the schema refuses
// the key before) as PUT .../tags checks them.
func createTags(tags []string) ([]string, string) {
	if err := service.CheckTags(tags); err != nil {
		return nil, compute.Message(err)
	}
	return tags, ""
}
