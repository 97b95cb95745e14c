package api

import (
	"mime"
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/common/metrics"
	"imagestack/glance/service"
)

// stageData answers PUT /v2/images/{id}/stage (glance-direct staging).
func (a *API) stageData(w http.ResponseWriter, r *http.Request) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/octet-stream" {
		writeError(w, r, http.StatusUnsupportedMediaType, "The Content-Type of image data must be application/octet-stream.")
		return
	}
	defer metrics.UploadRunning()()
	body := uploadBody(w, r, a.svc.UploadIdleTimeout())
	if err := a.svc.Stage(r.Context(), a.caller(r), mux.Vars(r)["image_id"], body); err != nil {
		a.failUpload(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// importImage answers POST /v2/images/{id}/import with 202.
func (a *API) importImage(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Method *struct {
			Name string `json:"name"`
			URI  string `json:"uri"`
		} `json:"method"`
		Stores               []string `json:"stores"`
		AllStores            bool     `json:"all_stores"`
		AllStoresMustSucceed *bool    `json:"all_stores_must_succeed"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	if body.Method == nil || body.Method.Name == "" {
		badRequest(w, r, "Import request requires a 'method' with a 'name'.")
		return
	}
	req := service.ImportRequest{Method: body.Method.Name, URI: body.Method.URI, Stores: body.Stores, AllStores: body.AllStores,
		AllStoresMustSucceed: body.AllStoresMustSucceed, HeaderStore: r.Header.Get("X-Image-Meta-Store")}
	if _, err := a.svc.Import(r.Context(), a.caller(r), mux.Vars(r)["image_id"], req, httpx.RequestID(r.Context())); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// showImportInfo answers GET /v2/info/import.
func (a *API) showImportInfo(w http.ResponseWriter, r *http.Request) {
	methods := a.svc.ImportMethods()
	if methods == nil {
		methods = []string{}
	}
	var info importInfo
	info.ImportMethods.Description, info.ImportMethods.Type, info.ImportMethods.Value = "Import methods available.", "array", methods
	httpx.WriteJSON(w, http.StatusOK, info)
}

// showStores answers GET /v2/info/stores: 404 with a single store.
func (a *API) showStores(w http.ResponseWriter, r *http.Request) { a.writeStores(w, r, false) }

// showStoresDetail answers GET /v2/info/stores/detail (stores_info_detail,
// admin by default): each store's type and backend settings too.
func (a *API) showStoresDetail(w http.ResponseWriter, r *http.Request) { a.writeStores(w, r, true) }

func (a *API) writeStores(w http.ResponseWriter, r *http.Request, detail bool) {
	infos, def, err := a.svc.StoresInfo(a.caller(r), detail)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, storesView(infos, def, detail))
}

// deleteFromStore answers DELETE /v2/stores/{store_id}/{image_id} with 204.
func (a *API) deleteFromStore(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	if err := a.svc.DeleteFromStore(r.Context(), a.caller(r), v["store_id"], v["image_id"]); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// listImageTasks answers GET /v2/images/{id}/tasks.
func (a *API) listImageTasks(w http.ResponseWriter, r *http.Request) {
	ts, err := a.svc.ImageTasks(r.Context(), a.caller(r), mux.Vars(r)["image_id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, taskList{Tasks: httpx.ListOf(ts, taskView)})
}
