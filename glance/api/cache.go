package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/glance/cache"
)

// showCache answers GET /v2/cache: cached and queued images.
func (a *API) showCache(w http.ResponseWriter, r *http.Request) {
	st, err := a.svc.CacheState(a.caller(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := cacheStateView{Cached: make([]cachedImageView, 0, len(st.Cached)), Queued: st.Queued}
	for _, e := range st.Cached {
		out.Cached = append(out.Cached, cachedView(e))
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

// queueCache answers PUT /v2/cache/{image_id}: 202, cached in the background.
func (a *API) queueCache(w http.ResponseWriter, r *http.Request) {
	a.answer(w, r, http.StatusAccepted, nil, a.svc.QueueCache(r.Context(), a.caller(r), mux.Vars(r)["image_id"]))
}

// deleteCached answers DELETE /v2/cache/{image_id}.
func (a *API) deleteCached(w http.ResponseWriter, r *http.Request) {
	a.answer(w, r, http.StatusNoContent, nil, a.svc.DeleteCached(r.Context(), a.caller(r), mux.Vars(r)["image_id"]))
}

// clearCache answers DELETE /v2/cache, x-image-cache-clear-target naming
// "cache", "queue" or (empty, or no header) both.
func (a *API) clearCache(w http.ResponseWriter, r *http.Request) {
	_, err := a.svc.ClearCache(a.caller(r), strings.ToLower(r.Header.Get("X-Image-Cache-Clear-Target")))
	a.answer(w, r, http.StatusNoContent, nil, err)
}

// cacheStateView is GET /v2/cache's body.
type cacheStateView struct {
	Cached []cachedImageView `json:"cached_images"`
	Queued []string          `json:"queued_images"`
}

// cachedImageView is one cached image as Glance's cache driver lists it:
// times are seconds since the epoch (glanceclient's cache-list reads them so).
type cachedImageView struct {
	ImageID      string  `json:"image_id"`
	Hits         int64   `json:"hits"`
	LastAccessed float64 `json:"last_accessed"`
	LastModified float64 `json:"last_modified"`
	Size         int64   `json:"size"`
}

func cachedView(e cache.Entry) cachedImageView {
	return cachedImageView{ImageID: e.ImageID, Hits: e.Hits, LastAccessed: unixSeconds(e.LastAccessed),
		LastModified: unixSeconds(e.LastModified), Size: e.Size}
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixMicro()) / 1e6 }
