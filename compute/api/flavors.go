package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

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

var flavorSortKeys = []string{"flavorid", "id", "name", "memory_mb", "vcpus", "root_gb", "swap", "ephemeral_gb", "rxtx_factor", "created_at", "disabled", "is_public"}

func flavorSortKeyValid(k string) bool {
	for _, s := range flavorSortKeys {
		if s == k {
			return true
		}
	}
	return false
}

func (a *API) flavorPage(w http.ResponseWriter, r *http.Request, detail bool) {
	f, scope, msg := parseFlavorQuery(r.URL.Query())
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
	if detail {
		httpx.WriteJSON(w, http.StatusOK, flavorsBody[flavorView]{Flavors: httpx.ListOf(fl, a.flavorDetail), Links: next})
		return
	}
	httpx.WriteJSON(w, http.StatusOK, flavorsBody[flavorBriefView]{Flavors: httpx.ListOf(fl, a.flavorBrief), Links: next})
}

func (a *API) listFlavors(w http.ResponseWriter, r *http.Request)       { a.flavorPage(w, r, false) }
func (a *API) listFlavorsDetail(w http.ResponseWriter, r *http.Request) { a.flavorPage(w, r, true) }

func (a *API) showFlavor(w http.ResponseWriter, r *http.Request) {
	f, err := a.svc.GetFlavor(r.Context(), a.caller(r), mux.Vars(r)["flavor_id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, flavorBody{Flavor: a.flavorDetail(f)})
}

// createFlavor answers POST /flavors (admin).
func (a *API) createFlavor(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Flavor map[string]any `json:"flavor"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	f, msg := newFlavor(body.Flavor)
	if msg != "" {
		badRequest(w, r, msg)
		return
	}
	f, err := a.svc.CreateFlavor(r.Context(), a.caller(r), f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, flavorBody{Flavor: a.flavorDetail(f)})
}

// newFlavor reads a POST /flavors body's "flavor" object, or returns the
// message of a 400. Nova's defaults: rxtx_factor 1, public.
func newFlavor(m map[string]any) (compute.Flavor, string) {
	f := compute.Flavor{RxTxFactor: 1.0, IsPublic: true}
	if m == nil {
		return f, "Invalid input for field/attribute flavor: 'flavor' is a required property"
	}
	name, ok := m["name"].(string)
	if !ok {
		return f, "Invalid input for field/attribute name: a string is required"
	}
	f.Name = strings.TrimSpace(name)
	for _, fld := range []struct {
		key      string
		dst      *int
		required bool
	}{{"ram", &f.RAM, true}, {"vcpus", &f.VCPUs, true}, {"disk", &f.Disk, true}, {"swap", &f.Swap, false}, {"OS-FLV-EXT-DATA:ephemeral", &f.Ephemeral, false}} {
		if _, present := m[fld.key]; fld.required && !present {
			return f, "Invalid input for field/attribute flavor: '" + fld.key + "' is a required property"
		}
		n, ok := intField(m, fld.key, 0)
		if !ok {
			return f, "Invalid input for field/attribute " + fld.key + ": an integer is required"
		}
		*fld.dst = n
	}
	if id, present := m["id"]; present && id != nil {
		switch t := id.(type) {
		case string:
			f.ID = t
		case json.Number:
			f.ID = t.String()
		default:
			return f, "Invalid input for field/attribute id"
		}
	}
	if v, present := m["rxtx_factor"]; present {
		n, ok := v.(json.Number)
		x, err := n.Float64()
		if !ok || err != nil {
			return f, "Invalid input for field/attribute rxtx_factor: a number is required"
		}
		f.RxTxFactor = x
	}
	if v, present := m["os-flavor-access:is_public"]; present {
		b, ok := v.(bool)
		if !ok {
			return f, "Invalid input for field/attribute os-flavor-access:is_public: a boolean is required"
		}
		f.IsPublic = b
	}
	return f, ""
}

func (a *API) deleteFlavor(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.DeleteFlavor(r.Context(), a.caller(r), mux.Vars(r)["flavor_id"]); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
