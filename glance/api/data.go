package api

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"imagestack/common/iox"
	"imagestack/common/metrics"
	"imagestack/glance/service"
)

// uploadData answers PUT /v2/images/{id}/file: the body (Content-Length or
// chunked) streams straight into the store.
func (a *API) uploadData(w http.ResponseWriter, r *http.Request) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/octet-stream" {
		writeError(w, r, http.StatusUnsupportedMediaType, "The Content-Type of image data must be application/octet-stream.")
		return
	}
	defer metrics.UploadRunning()()
	body := uploadBody(w, r, a.svc.UploadIdleTimeout())
	if _, err := a.svc.Upload(r.Context(), a.caller(r), mux.Vars(r)["image_id"], body, r.Header.Get("X-Image-Meta-Store")); err != nil {
		a.failUpload(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// uploadBody is the image data of an upload or stage: read with the
// upload idle timeout, and counted in the uploaded bytes as it arrives.
func uploadBody(w http.ResponseWriter, r *http.Request, idle time.Duration) io.Reader {
	return countedReader{iox.IdleBody(w, r, idle)}
}

// countedReader counts what it reads as uploaded image data.
type countedReader struct{ r io.Reader }

func (c countedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	metrics.ImageBytesUploaded(int64(n))
	return n, err
}

// failUpload answers a refused or failed upload. The rest of the body is
// not read: the connection closes after the answer (otherwise the server
// would wait for the client to send up to 256 KiB more before answering,
// and forever for a client that sends nothing).
func (a *API) failUpload(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("Connection", "close")
	a.fail(w, r, err)
}

// downloadData answers GET /v2/images/{id}/file, with Range support.
func (a *API) downloadData(w http.ResponseWriter, r *http.Request) {
	im, err := a.svc.Downloadable(r.Context(), a.caller(r), mux.Vars(r)["image_id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if !service.HasData(im) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	size := *im.Size
	start, end, partial, ok := parseRange(r.Header.Get("Range"), size)
	if !ok {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", size))
		writeError(w, r, http.StatusRequestedRangeNotSatisfiable, "Requested range not satisfiable.")
		return
	}
	rc, err := a.svc.ReadData(r.Context(), im, start, end-start)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	if im.Checksum != nil {
		h.Set("Content-MD5", *im.Checksum)
	}
	h.Set("Content-Length", strconv.FormatInt(end-start, 10))
	status := http.StatusOK
	if partial {
		status = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end-1, size))
	}
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	n, err := io.Copy(w, rc)
	metrics.ImageBytesDownloaded(n)
	if err != nil {
		a.log.InfoContext(r.Context(), "image download ended early", "image", im.ID, "err", err)
	}
}

// parseRange reads a single "bytes=a-b", "bytes=a-" or "bytes=-n" range.
// It returns the half-open interval [start, end), whether a range applies,
// and ok=false when the range cannot be satisfied or is malformed.
func parseRange(h string, size int64) (start, end int64, partial, ok bool) {
	if h == "" {
		return 0, size, false, true
	}
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, false
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false, false
	}
	if a == "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 || size == 0 {
			return 0, 0, false, false
		}
		return max(0, size-n), size, true, true
	}
	s, err := strconv.ParseInt(a, 10, 64)
	if err != nil || s < 0 || s >= size {
		return 0, 0, false, false
	}
	e := size - 1
	if b != "" {
		e, err = strconv.ParseInt(b, 10, 64)
		if err != nil || e < s {
			return 0, 0, false, false
		}
		e = min(e, size-1)
	}
	return s, e + 1, true, true
}
