package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/compute"
	"imagestack/compute/service"
)

const maxLimit = 1000

// parseFlavorQuery reads minRam, minDisk, is_public, sort_key/sort_dir, limit and marker.
func parseFlavorQuery(q url.Values) (compute.FlavorFilter, service.FlavorScope, string) {
	var f compute.FlavorFilter
	for _, p := range []struct {
		name string
		dst  *int
	}{{"minRam", &f.MinRAM}, {"minDisk", &f.MinDisk}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return f, 0, "Invalid " + p.name + " filter [" + v + "]"
			}
			*p.dst = n
		}
	}
	scope := service.FlavorsDefault
	if v, ok := q["is_public"]; ok {
		switch strings.ToLower(v[0]) {
		case "none":
			scope = service.FlavorsAll
		case "true", "t", "1", "yes", "y", "on":
			scope = service.FlavorsPublic
		case "false", "f", "0", "no", "n", "off":
			scope = service.FlavorsPrivate
		default:
			return f, 0, "Invalid is_public filter [" + v[0] + "]"
		}
	}
	if k := q.Get("sort_key"); k != "" {
		if !flavorSortKeyValid(k) {
			return f, 0, "Invalid sort_key " + k
		}
		f.SortKey = k
	}
	switch d := q.Get("sort_dir"); d {
	case "", "asc":
	case "desc":
		f.SortDesc = true
	default:
		return f, 0, "Invalid sort_dir " + d
	}
	f.Limit = maxLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return f, 0, "limit param must be an integer"
		}
		f.Limit = min(n, maxLimit)
	}
	f.Marker = q.Get("marker")
	return f, scope, ""
}

var flavorSortKeys = []string{"flavorid", "id", "name", "memory_mb", "vcpus", "root_gb", "swap", "ephemeral_gb", "rxtx_factor", "created_at", "disabled", "is_public", "description"}

func flavorSortKeyValid(k string) bool {
	for _, s := range flavorSortKeys {
		if s == k {
			return true
		}
	}
	return false
}

func (a *API) flavorPage(w http.ResponseWriter, r *http.Request, detail bool) {
	q := r.URL.Query()
	if atLeast(r, "2.75") {
		// From 2.75 unknown query parameters are refused.
		for k := range q {
			if !slices.Contains(flavorQueryKeys, k) {
				badRequest(w, r, "Invalid input for query parameters "+clip(k)+". Additional properties are not allowed ('"+clip(k)+"' was unexpected)")
				return
			}
		}
	}
	f, scope, msg := parseFlavorQuery(q)
	if msg != "" {
		badRequest(w, r, msg)
		return
	}
	fl, err := a.svc.ListFlavors(r.Context(), a.caller(r), f, scope)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	next := nextLink(a, r, fl, f.Limit, func(f compute.Flavor) string { return f.ID })
	if !detail {
		views := httpx.ListOf(fl, func(f compute.Flavor) flavorBriefView {
			v := a.flavorBrief(f)
			if atLeast(r, "2.55") {
				v.Description = &f.Description
			}
			return v
		})
		httpx.WriteJSON(w, http.StatusOK, flavorsBody[flavorBriefView]{Flavors: views, Links: next})
		return
	}
	views := make([]flavorView, 0, len(fl))
	for _, f := range fl {
		v, err := a.flavorViewAt(r, f)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		views = append(views, v)
	}
	httpx.WriteJSON(w, http.StatusOK, flavorsBody[flavorView]{Flavors: views, Links: next})
}

var flavorQueryKeys = []string{"limit", "marker", "is_public", "minRam", "minDisk", "sort_key", "sort_dir"}

// flavorViewAt renders a full flavor at the request's microversion:
// description from 2.55, extra_specs from 2.61 (for callers allowed to
// list them), swap 0 rather than "" from 2.75.
func (a *API) flavorViewAt(r *http.Request, f compute.Flavor) (flavorView, error) {
	v := a.flavorDetail(f)
	if atLeast(r, "2.55") {
		v.Description = &f.Description
	}
	if atLeast(r, "2.61") {
		specs, ok, err := a.svc.EmbeddedExtraSpecs(r.Context(), a.caller(r), f.ID)
		if err != nil {
			return v, err
		}
		if ok {
			v.ExtraSpecs = &specs
		}
	}
	if atLeast(r, "2.75") {
		v.Swap = f.Swap
	}
	return v, nil
}

// writeFlavor answers with {"flavor": ...} at the request's microversion.
func (a *API) writeFlavor(w http.ResponseWriter, r *http.Request, f compute.Flavor, err error) {
	var v flavorView
	if err == nil {
		v, err = a.flavorViewAt(r, f)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, flavorBody{Flavor: v})
}

func (a *API) listFlavors(w http.ResponseWriter, r *http.Request)       { a.flavorPage(w, r, false) }
func (a *API) listFlavorsDetail(w http.ResponseWriter, r *http.Request) { a.flavorPage(w, r, true) }

func (a *API) showFlavor(w http.ResponseWriter, r *http.Request) {
	f, err := a.svc.GetFlavor(r.Context(), a.caller(r), mux.Vars(r)["flavor_id"])
	a.writeFlavor(w, r, f, err)
}

// createFlavor answers POST /flavors (admin).
func (a *API) createFlavor(w http.ResponseWriter, r *http.Request) {
	m, ok := decodeObject(w, r, "flavor")
	if !ok {
		return
	}
	f, msg := newFlavor(m, atLeast(r, "2.55"))
	if msg != "" {
		badRequest(w, r, msg)
		return
	}
	f, err := a.svc.CreateFlavor(r.Context(), a.caller(r), f)
	a.writeFlavor(w, r, f, err)
}

// updateFlavor answers PUT /flavors/{id} (admin, from 2.55): only the
// description may change.
func (a *API) updateFlavor(w http.ResponseWriter, r *http.Request) {
	if !atLeast(r, "2.55") {
		writeError(w, r, http.StatusNotFound, "The resource could not be found.")
		return
	}
	m, ok := decodeObject(w, r, "flavor")
	if !ok {
		return
	}
	if msg := onlyKeys("flavor", m, "description"); msg != "" {
		badRequest(w, r, msg)
		return
	}
	raw, present := m["description"]
	if !present {
		badRequest(w, r, "Invalid input for field/attribute flavor. Value: {}. 'description' is a required property")
		return
	}
	desc, msg := flavorDescription(raw)
	if msg != "" {
		badRequest(w, r, msg)
		return
	}
	f, err := a.svc.UpdateFlavorDescription(r.Context(), a.caller(r), mux.Vars(r)["flavor_id"], desc)
	a.writeFlavor(w, r, f, err)
}

// flavorDescription reads 2.55's description: a string of at most 65535
// printable characters, or null.
func flavorDescription(v any) (*string, string) {
	s, msg := stringParam("description", v, 65535, true)
	if msg != "" || v == nil {
		return nil, msg
	}
	for _, c := range s {
		if !unicode.IsPrint(c) && !unicode.IsSpace(c) {
			return nil, invalidInput("description", clip(s), "It has characters that are not printable.")
		}
	}
	return &s, ""
}

// flavorFields are what POST /flavors may hold (additionalProperties false).
var flavorFields = []string{"name", "id", "ram", "vcpus", "disk", "OS-FLV-EXT-DATA:ephemeral", "swap", "rxtx_factor", "os-flavor-access:is_public"}

// newFlavor reads a POST /flavors body's "flavor" object, or returns the
// message of a 400. Nova's defaults: rxtx_factor 1, public.
func newFlavor(m map[string]any, withDescription bool) (compute.Flavor, string) {
	f := compute.Flavor{RxTxFactor: 1.0, IsPublic: true}
	allowed := flavorFields
	if withDescription {
		allowed = append(slices.Clip(allowed), "description")
	}
	if msg := onlyKeys("flavor", m, allowed...); msg != "" {
		return f, msg
	}
	name, ok := m["name"].(string)
	if !ok {
		return f, invalidInput("name", m["name"], "'name' is a required property of type 'string'")
	}
	f.Name = strings.TrimSpace(name)
	if msg := flavorAmounts(m, &f); msg != "" {
		return f, msg
	}
	if id, present := m["id"]; present && id != nil {
		s, ok := stringOrNumberValue(id)
		if !ok {
			return f, invalidInput("id", id, "It is not of type 'string', 'number', 'null'")
		}
		f.ID = s
	}
	if v, present := m["rxtx_factor"]; present {
		x, msg := rxtxFactor(v)
		if msg != "" {
			return f, msg
		}
		f.RxTxFactor = x
	}
	if v, present := m["os-flavor-access:is_public"]; present {
		b, msg := boolParam("os-flavor-access:is_public", v)
		if msg != "" {
			return f, msg
		}
		f.IsPublic = b
	}
	if v, present := m["description"]; present && withDescription {
		d, msg := flavorDescription(v)
		if msg != "" {
			return f, msg
		}
		f.Description = d
	}
	return f, ""
}

// flavorAmounts reads ram, vcpus, disk, swap and ephemeral (Nova's
// flavor_param_positive and flavor_param_non_negative).
func flavorAmounts(m map[string]any, f *compute.Flavor) string {
	for _, fld := range []struct {
		key      string
		dst      *int
		rg       intRange
		required bool
	}{{"ram", &f.RAM, flavorPositive, true}, {"vcpus", &f.VCPUs, flavorPositive, true}, {"disk", &f.Disk, flavorNonNeg, true},
		{"swap", &f.Swap, flavorNonNeg, false}, {"OS-FLV-EXT-DATA:ephemeral", &f.Ephemeral, flavorNonNeg, false}} {
		v, present := m[fld.key]
		if !present {
			if fld.required {
				return "Invalid input for field/attribute flavor. '" + fld.key + "' is a required property"
			}
			continue
		}
		n, msg := intParam(fld.key, v, fld.rg)
		if msg != "" {
			return msg
		}
		*fld.dst = int(n)
	}
	return ""
}

// rxtxFactor reads Nova's rxtx_factor: a positive number, or a string of
// one (digits, an optional fraction).
func rxtxFactor(v any) (float64, string) {
	var s string
	switch t := v.(type) {
	case json.Number:
		s = t.String()
	case string:
		if !rxtxPattern.MatchString(t) {
			return 0, invalidInput("rxtx_factor", v, fmt.Sprintf("'%s' does not match '^[0-9]+(\\.[0-9]+)?$'", clip(t)))
		}
		s = t
	default:
		return 0, invalidInput("rxtx_factor", v, fmt.Sprintf("%v is not of type 'number', 'string'", v))
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || x <= 0 || x > 3.40282e+38 {
		return 0, invalidInput("rxtx_factor", v, s+" must be greater than 0 and at most 3.40282e+38")
	}
	return x, ""
}

var rxtxPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

func (a *API) deleteFlavor(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.DeleteFlavor(r.Context(), a.caller(r), mux.Vars(r)["flavor_id"]); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
