package api

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"imagestack/common/httpx"
)

// Neutron's list queries work on any attribute a resource shows, so they
// work here on the views' JSON form: every query key other than the
// paging and field keys filters by that attribute (a repeated key matches
// any of its values), sort_key/sort_dir sort, limit/marker page with
// <collection>_links, and fields= keeps only the named attributes.

// object is a view in its JSON form.
type object = map[string]any

// reserved are the query keys that are not filters.
var reserved = map[string]bool{"fields": true, "limit": true, "marker": true, "sort_key": true, "sort_dir": true,
	"page_reverse": true, "verbose": true}

// toObject is v's JSON form.
func toObject(v any) object {
	b, _ := json.Marshal(v)
	var o object
	_ = json.Unmarshal(b, &o)
	return o
}

// listRequest is what a list query asks for.
type listRequest struct {
	filters  map[string][]string
	fields   []string
	sortKeys []string
	sortDirs []string
	limit    int
	marker   string
}

// parseList reads a list query; attributes the resource does not have
// are 400, as Neutron's filter validation answers.
func parseList(q url.Values, known object) (listRequest, error) {
	lr := listRequest{filters: map[string][]string{}, fields: q["fields"], sortKeys: q["sort_key"], sortDirs: q["sort_dir"],
		marker: q.Get("marker")}
	for k, vs := range q {
		if reserved[k] {
			continue
		}
		if _, ok := known[k]; !ok {
			return lr, fmt.Errorf("[%s] is invalid attribute for filtering", k)
		}
		lr.filters[k] = vs
	}
	for _, k := range lr.sortKeys {
		if _, ok := known[k]; !ok {
			return lr, fmt.Errorf("%s is invalid attribute for sort_keys", k)
		}
	}
	for _, d := range lr.sortDirs {
		if d != "asc" && d != "desc" {
			return lr, fmt.Errorf("%s is invalid value for sort_dirs, valid values are 'asc' and 'desc'", d)
		}
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			return lr, fmt.Errorf("Bad limit request: Limit must be an integer 0 or greater and not '%s'.", l)
		}
		lr.limit = n
	}
	return lr, nil
}

// matches reports whether the attribute value v equals the query value
// want: booleans as Neutron spells them, numbers, strings, an element of a
// list, and key=value for a list of objects (fixed_ips=ip_address=...).
func matches(v any, want string) bool {
	switch x := v.(type) {
	case nil:
		return want == "" || want == "None"
	case bool:
		b, err := strconv.ParseBool(want)
		return err == nil && b == x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64) == want
	case string:
		return x == want
	case []any:
		for _, el := range x {
			if matches(el, want) {
				return true
			}
		}
	case map[string]any:
		k, val, ok := strings.Cut(want, "=")
		return ok && matches(x[k], val)
	}
	return false
}

func (lr listRequest) keep(o object) bool {
	for k, wants := range lr.filters {
		ok := false
		for _, w := range wants {
			ok = ok || matches(o[k], w)
		}
		if !ok {
			return false
		}
	}
	return true
}

// compare orders two attribute values of the same attribute.
func compare(a, b any) int {
	switch x := a.(type) {
	case float64:
		y, _ := b.(float64)
		return cmp.Compare(x, y)
	case bool:
		y, _ := b.(bool)
		return cmp.Compare(fmt.Sprint(x), fmt.Sprint(y))
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

func (lr listRequest) sort(items []object) {
	sort.SliceStable(items, func(i, j int) bool {
		for n, k := range lr.sortKeys {
			c := compare(items[i][k], items[j][k])
			if n < len(lr.sortDirs) && lr.sortDirs[n] == "desc" {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
		}
		return false
	})
}

// page cuts items after the marker to the limit; more reports items
// beyond the page.
func (lr listRequest) page(items []object) (out []object, more bool) {
	if lr.marker != "" {
		for i, o := range items {
			if o["id"] == lr.marker {
				items = items[i+1:]
				break
			}
		}
	}
	if lr.limit > 0 && len(items) > lr.limit {
		return items[:lr.limit], true
	}
	return items, false
}

// pick keeps the named fields of o (all without fields=).
func pick(o object, fields []string) object {
	if len(fields) == 0 {
		return o
	}
	out := object{}
	for _, f := range fields {
		if v, ok := o[f]; ok {
			out[f] = v
		}
	}
	return out
}

// writeList answers a list request for views under collection, with
// Neutron's <collection>_links when a limit cut the list.
func writeList[V any](a *API, w http.ResponseWriter, r *http.Request, collection string, views []V, zero V) {
	lr, err := parseList(r.URL.Query(), toObject(zero))
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	items := []object{}
	for _, v := range views {
		if o := toObject(v); lr.keep(o) {
			items = append(items, o)
		}
	}
	lr.sort(items)
	items, more := lr.page(items)
	body := map[string]any{collection: httpx.ListOf(items, func(o object) object { return pick(o, lr.fields) })}
	if links := a.pageLinks(r, collection, items, more, lr); links != nil {
		body[collection+"_links"] = links
	}
	httpx.WriteJSON(w, http.StatusOK, body)
}

func (a *API) pageLinks(r *http.Request, collection string, items []object, more bool, lr listRequest) []linkView {
	if lr.limit == 0 || len(items) == 0 {
		return nil
	}
	link := func(marker, rel string, reverse bool) linkView {
		q := r.URL.Query()
		q.Set("marker", marker)
		q.Del("page_reverse")
		if reverse {
			q.Set("page_reverse", "True")
		}
		return linkView{Href: a.baseURL + "/v2.0/" + strings.ReplaceAll(collection, "_", "-") + "?" + q.Encode(), Rel: rel}
	}
	var links []linkView
	if more {
		links = append(links, link(fmt.Sprint(items[len(items)-1]["id"]), "next", false))
	}
	if lr.marker != "" {
		links = append(links, link(fmt.Sprint(items[0]["id"]), "previous", true))
	}
	return links
}

// writeOne answers a show, create or update with the view under its
// singular key, trimmed to fields=.
func writeOne(w http.ResponseWriter, r *http.Request, status int, key string, v any) {
	fields := r.URL.Query()["fields"]
	if len(fields) == 0 {
		httpx.WriteJSON(w, status, map[string]any{key: v})
		return
	}
	httpx.WriteJSON(w, status, map[string]any{key: pick(toObject(v), fields)})
}
