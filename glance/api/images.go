package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/glance"
	"imagestack/glance/service"
)

// maxJSONBody bounds JSON request bodies (Glance's max_request_body_size is 110 KB... ours is generous).
const maxJSONBody = 1 << 20

// decodeJSON reads a JSON body keeping numbers exact; 413 past the limit.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxJSONBody+1))
	if err != nil {
		badRequest(w, r, "Could not read the request body.")
		return false
	}
	if len(raw) > maxJSONBody {
		writeError(w, r, http.StatusRequestEntityTooLarge, "The request body is too large.")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		badRequest(w, r, "Malformed JSON in request body.")
		return false
	}
	if dec.More() {
		badRequest(w, r, "Malformed JSON in request body: trailing data.")
		return false
	}
	return true
}

func (a *API) createImage(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if !decodeJSON(w, r, &body) {
		return
	}
	if body == nil {
		badRequest(w, r, "The request body must be a JSON object.")
		return
	}
	n, err := glance.NewImageFromJSON(body)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	im, err := a.svc.Create(r.Context(), a.caller(r), n)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", a.baseURL+"/v2/images/"+im.ID)
	if methods := a.svc.ImportMethods(); len(methods) > 0 {
		w.Header().Set("OpenStack-image-import-methods", strings.Join(methods, ","))
	}
	if a.svc.MultiStore() {
		w.Header().Set("OpenStack-image-store-ids", strings.Join(a.svc.StoreIDs(), ","))
	}
	httpx.WriteJSON(w, http.StatusCreated, a.viewAs(a.caller(r), im))
}

func (a *API) showImage(w http.ResponseWriter, r *http.Request) {
	im, err := a.svc.Get(r.Context(), a.caller(r), mux.Vars(r)["image_id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	setETag(w, im)
	httpx.WriteJSON(w, http.StatusOK, a.viewAs(a.caller(r), im))
}

func (a *API) listImages(w http.ResponseWriter, r *http.Request) {
	q, err := parseListQuery(r.URL.Query())
	if err != nil {
		var pe paramError
		if errors.As(err, &pe) {
			badRequest(w, r, pe.Error())
			return
		}
		a.fail(w, r, err)
		return
	}
	var ims []*glance.Image
	if q.Limit > 0 { // limit=0 asks for an empty page, as in Glance
		ims, err = a.svc.List(r.Context(), a.caller(r), q)
		if err != nil {
			a.fail(w, r, err)
			return
		}
	}
	views := make([]imageBody, len(ims))
	last := ""
	c := a.caller(r)
	for i, im := range ims {
		views[i] = a.viewAs(c, im)
		last = im.ID
	}
	first, next := pageLinks(r.URL.RawQuery, q.Limit > 0 && len(ims) == q.Limit, last)
	page := imageList{Images: views, First: first, Next: next, Schema: "/v2/schemas/images"}
	// About 1 KiB per image with a few properties: one allocation, mostly.
	httpx.WriteJSONBytes(w, http.StatusOK, page.appendJSON(make([]byte, 0, 256+1024*len(views))))
}

// Patch media types.
const (
	patchV21 = "application/openstack-images-v2.1-json-patch"
	patchV20 = "application/openstack-images-v2.0-json-patch"
)

func (a *API) updateImage(w http.ResponseWriter, r *http.Request) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != patchV21 && mt != patchV20 {
		w.Header().Set("Accept-Patch", patchV21+", "+patchV20)
		writeError(w, r, http.StatusUnsupportedMediaType, "Unsupported Content-Type for PATCH: use "+patchV21)
		return
	}
	var raw []map[string]any
	if !decodeJSON(w, r, &raw) {
		return
	}
	ops, err := parsePatch(raw, mt == patchV20)
	if err != nil {
		badRequest(w, r, err.Error())
		return
	}
	im, err := a.svc.Update(r.Context(), a.caller(r), mux.Vars(r)["image_id"], ops, ifMatch(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	setETag(w, im)
	httpx.WriteJSON(w, http.StatusOK, a.viewAs(a.caller(r), im))
}

// setETag names the image's version, which a client may send back in
// If-Match to change the image only if nobody changed it meanwhile.
func setETag(w http.ResponseWriter, im *glance.Image) {
	w.Header().Set("ETag", `"`+strconv.FormatInt(im.Version, 10)+`"`)
}

// ifMatch reads If-Match (RFC 9110: "*" or a list of entity tags; weak tags
// never match) into a version test; nil when the header is absent.
func ifMatch(r *http.Request) func(int64) bool {
	values := r.Header.Values("If-Match")
	if len(values) == 0 {
		return nil
	}
	var tags []string
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			tags = append(tags, strings.TrimSpace(t))
		}
	}
	return func(version int64) bool {
		want := `"` + strconv.FormatInt(version, 10) + `"`
		for _, t := range tags {
			if t == "*" || t == want {
				return true
			}
		}
		return false
	}
}

// parsePatch reads both PATCH dialects into service operations.
func parsePatch(raw []map[string]any, v20 bool) ([]service.PatchOp, error) {
	if raw == nil {
		return nil, paramError("The PATCH body must be a JSON array of operations.")
	}
	ops := make([]service.PatchOp, 0, len(raw))
	for _, m := range raw {
		var op service.PatchOp
		op.V20 = v20
		var path any
		if v20 {
			for _, name := range []string{"add", "replace", "remove"} {
				if p, ok := m[name]; ok {
					if op.Op != "" {
						return nil, paramError("Operation objects must contain exactly one of add, replace or remove.")
					}
					op.Op, path = name, p
				}
			}
		} else {
			name, _ := m["op"].(string)
			op.Op, path = name, m["path"]
		}
		switch op.Op {
		case "add", "replace", "remove":
		default:
			return nil, paramError("Operation objects must contain an op of add, replace or remove.")
		}
		p, ok := path.(string)
		if !ok {
			return nil, paramError("Unable to find 'path' in JSON Schema change")
		}
		if tokens := locationPointer(p); tokens != nil {
			value, has := m["value"]
			if op.Op != "remove" && !has {
				return nil, paramError("Operation \"" + op.Op + "\" requires a member named \"value\".")
			}
			if err := parseLocationOp(&op, tokens, value); err != nil {
				return nil, err
			}
			ops = append(ops, op)
			continue
		}
		attr, err := decodePointer(p)
		if err != nil {
			return nil, err
		}
		op.Path = attr
		if op.Op != "remove" {
			v, has := m["value"]
			if !has {
				return nil, paramError("Operation \"" + op.Op + "\" requires a member named \"value\".")
			}
			op.Value = v
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// decodePointer reads a depth-1 JSON pointer ("/name"), undoing ~1 and ~0.
func decodePointer(p string) (string, error) {
	if !strings.HasPrefix(p, "/") || len(p) < 2 {
		return "", paramError("Pointer `" + p + "` does not start with \"/\".")
	}
	rest := p[1:]
	if strings.Contains(rest, "/") {
		return "", paramError("Nested paths are not allowed: " + p)
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] == '~' && (i+1 >= len(rest) || (rest[i+1] != '0' && rest[i+1] != '1')) {
			return "", paramError("Pointer `" + p + "` contains \"~\" not part of a recognized escape sequence.")
		}
	}
	return strings.ReplaceAll(strings.ReplaceAll(rest, "~1", "/"), "~0", "~"), nil
}

func (a *API) deleteImage(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.Delete(r.Context(), a.caller(r), mux.Vars(r)["image_id"]); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) deactivateImage(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.Deactivate(r.Context(), a.caller(r), mux.Vars(r)["image_id"]); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) reactivateImage(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.Reactivate(r.Context(), a.caller(r), mux.Vars(r)["image_id"]); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) addTag(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	if err := a.svc.AddTag(r.Context(), a.caller(r), v["image_id"], v["tag"]); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) deleteTag(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	if err := a.svc.DeleteTag(r.Context(), a.caller(r), v["image_id"], v["tag"]); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
