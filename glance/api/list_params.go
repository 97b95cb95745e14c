package api

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"imagestack/glance"
)

const (
	defaultLimit = 25
	maxLimit     = 1000
	// maxInValues bounds an "in:" list, and maxMatchFilters the tag and
	// extra-property filters of one request: each becomes a term of the
	// query, and the engines refuse (or slow down on) very many of them.
	maxInValues     = 1000
	maxMatchFilters = 128
)

// paramError is a malformed list parameter (400).
type paramError string

func (e paramError) Error() string { return string(e) }

// controlParams are list parameters that are not property filters.
var controlParams = map[string]bool{"limit": true, "marker": true, "sort_key": true, "sort_dir": true, "sort": true}

// parseListQuery turns GET /v2/images parameters into a ListQuery: the
// paging and sorting parameters, then every other parameter as a filter.
func parseListQuery(v url.Values) (glance.ListQuery, error) {
	q := glance.ListQuery{Limit: defaultLimit, Properties: map[string]string{}}
	if err := parsePaging(v, &q); err != nil {
		return q, err
	}
	sort, err := parseSort(v)
	if err != nil {
		return q, err
	}
	if err := checkSortUnique(sort); err != nil {
		return q, err
	}
	q.Sort = sort
	for key, vals := range v {
		if controlParams[key] {
			continue
		}
		filter, ok := listFilters[key]
		if !ok {
			filter = propertyFilter
		}
		if err := filter(&q, key, vals); err != nil {
			return q, err
		}
	}
	return q, nil
}

// parsePaging reads limit and marker.
func parsePaging(v url.Values, q *glance.ListQuery) error {
	if s := v.Get("limit"); v.Has("limit") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return paramError("limit param must be positive")
		}
		q.Limit = min(n, maxLimit)
	}
	q.Marker = v.Get("marker")
	if v.Has("marker") && q.Marker == "" {
		return paramError("Invalid marker: it may not be empty")
	}
	return nil
}

// listFilter reads one filter parameter (all its values) into q.
type listFilter func(q *glance.ListQuery, key string, vals []string) error

// listFilters are the filters on the image's own fields; any other
// parameter filters on an extra property (propertyFilter). Filters read
// their first value unless they say otherwise.
var listFilters = map[string]listFilter{
	"id":               inFilter(func(q *glance.ListQuery) *[]string { return &q.IDs }),
	"name":             inFilter(func(q *glance.ListQuery) *[]string { return &q.Names }),
	"status":           inFilter(func(q *glance.ListQuery) *[]string { return &q.Statuses }),
	"container_format": inFilter(func(q *glance.ListQuery) *[]string { return &q.ContainerFormats }),
	"disk_format":      inFilter(func(q *glance.ListQuery) *[]string { return &q.DiskFormats }),
	"visibility":       visibilityFilter,
	"member_status":    memberStatusFilter,
	"os_hidden":        boolFilter(func(q *glance.ListQuery) **bool { return &q.OSHidden }),
	"protected":        boolFilter(func(q *glance.ListQuery) **bool { return &q.Protected }),
	"size_min":         sizeFilter(func(q *glance.ListQuery) **int64 { return &q.SizeMin }),
	"size_max":         sizeFilter(func(q *glance.ListQuery) **int64 { return &q.SizeMax }),
	"created_at":       timeFilter(func(q *glance.ListQuery) *[]glance.TimeFilter { return &q.CreatedAt }),
	"updated_at":       timeFilter(func(q *glance.ListQuery) *[]glance.TimeFilter { return &q.UpdatedAt }),
	"size":             intEqualsFilter,
	"virtual_size":     intEqualsFilter,
	"min_ram":          intEqualsFilter,
	"min_disk":         intEqualsFilter,
	"tag":              tagFilter,
	"owner":            stringFilter(func(q *glance.ListQuery) **string { return &q.Owner }),
	"checksum":         stringFilter(func(q *glance.ListQuery) **string { return &q.Checksum }),
	"os_hash_value":    stringFilter(func(q *glance.ListQuery) **string { return &q.OSHashValue }),
}

// inFilter reads an exact value, "eq:" or "in:" list into a column filter.
func inFilter(field func(*glance.ListQuery) *[]string) listFilter {
	return func(q *glance.ListQuery, key string, vals []string) error {
		list, err := parseIn(key, vals[0])
		*field(q) = list
		return err
	}
}

func visibilityFilter(q *glance.ListQuery, _ string, vals []string) error {
	if val := vals[0]; val != "all" && !slices.Contains(glance.Visibilities, val) {
		return paramError("Invalid visibility value: " + val)
	}
	q.Visibility = vals[0]
	return nil
}

func memberStatusFilter(q *glance.ListQuery, _ string, vals []string) error {
	if val := vals[0]; !slices.Contains([]string{"pending", "accepted", "rejected", "all"}, val) {
		return paramError("Invalid status value: " + val)
	}
	q.MemberStatus = vals[0]
	return nil
}

// boolFilter accepts true and false (capitalised or not), as Glance does.
func boolFilter(field func(*glance.ListQuery) **bool) listFilter {
	return func(q *glance.ListQuery, key string, vals []string) error {
		val := vals[0]
		b, err := strconv.ParseBool(val)
		if err != nil || (val != "true" && val != "false" && val != "True" && val != "False") {
			return paramError("Invalid value for " + key + ": " + val + " (want true or false)")
		}
		*field(q) = &b
		return nil
	}
}

func sizeFilter(field func(*glance.ListQuery) **int64) listFilter {
	return func(q *glance.ListQuery, key string, vals []string) error {
		n, err := strconv.ParseInt(vals[0], 10, 64)
		if err != nil || n < 0 {
			return paramError(key + " must be a non-negative integer")
		}
		*field(q) = &n
		return nil
	}
}

// timeFilter reads every value: created_at=gt:...&created_at=lt:... is a range.
func timeFilter(field func(*glance.ListQuery) *[]glance.TimeFilter) listFilter {
	return func(q *glance.ListQuery, key string, vals []string) error {
		for _, one := range vals {
			tf, err := parseTimeFilter(key, one)
			if err != nil {
				return err
			}
			*field(q) = append(*field(q), tf)
		}
		return nil
	}
}

func intEqualsFilter(q *glance.ListQuery, key string, vals []string) error {
	n, err := strconv.ParseInt(vals[0], 10, 64)
	if err != nil {
		return paramError("Invalid value for " + key + ": " + vals[0] + " is not an integer")
	}
	if q.IntEquals == nil {
		q.IntEquals = map[string]int64{}
	}
	q.IntEquals[key] = n
	return nil
}

// tagFilter reads every value: an image must carry all the tags.
func tagFilter(q *glance.ListQuery, _ string, vals []string) error {
	q.Tags = append(q.Tags, vals...)
	if len(q.Tags) > maxMatchFilters {
		return paramError(fmt.Sprintf("Too many tag filters: at most %d.", maxMatchFilters))
	}
	return nil
}

func stringFilter(field func(*glance.ListQuery) **string) listFilter {
	return func(q *glance.ListQuery, _ string, vals []string) error {
		val := vals[0]
		*field(q) = &val
		return nil
	}
}

func propertyFilter(q *glance.ListQuery, key string, vals []string) error {
	q.Properties[key] = vals[0]
	if len(q.Properties) > maxMatchFilters {
		return paramError(fmt.Sprintf("Too many property filters: at most %d.", maxMatchFilters))
	}
	return nil
}

// parseIn reads an exact value, "eq:value" or "in:a,"b,c"" for a column.
func parseIn(key, val string) ([]string, error) {
	op, rest, found := strings.Cut(val, ":")
	if !found {
		return []string{val}, nil
	}
	switch op {
	case "eq":
		return []string{rest}, nil
	case "in":
		return splitIn(rest)
	}
	if slices.Contains([]string{"neq", "gt", "gte", "lt", "lte"}, op) {
		return nil, paramError("Unable to filter on '" + key + "' with operator '" + op + "'")
	}
	return nil, paramError("Unable to filter by unknown operator '" + op + "'.")
}

// splitIn splits a comma list in which items may be double-quoted.
func splitIn(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '"':
			quoted = !quoted
		case ch == ',' && !quoted:
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(ch)
		}
	}
	if quoted {
		return nil, paramError("Invalid 'in' filter: unbalanced quotes")
	}
	if len(out) >= maxInValues {
		return nil, paramError(fmt.Sprintf("Invalid 'in' filter: at most %d values.", maxInValues))
	}
	return append(out, cur.String()), nil
}

func parseTimeFilter(key, val string) (glance.TimeFilter, error) {
	op, rest, found := strings.Cut(val, ":")
	if !found || !slices.Contains([]string{"gt", "gte", "lt", "lte", "eq", "neq"}, op) {
		op, rest = "eq", val // no operator means equality, as in Glance
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, rest); err == nil {
			return glance.TimeFilter{Op: op, Time: t.UTC()}, nil
		}
	}
	return glance.TimeFilter{}, paramError("Invalid date for " + key + ": " + rest)
}

// parseSort reads sort_key/sort_dir (repeatable) or sort=k1:dir,k2; mixing
// both syntaxes is an error, as in Glance. The default direction is desc.
func parseSort(v url.Values) ([]glance.SortKey, error) {
	keys, dirs := v["sort_key"], v["sort_dir"]
	if v.Has("sort") {
		if len(keys) > 0 || len(dirs) > 0 {
			return nil, paramError("Old and new sorting syntax cannot be combined")
		}
		var out []glance.SortKey
		for _, part := range strings.Split(v.Get("sort"), ",") {
			k, d, hasDir := strings.Cut(strings.TrimSpace(part), ":")
			sk, err := sortKey(k, d, hasDir)
			if err != nil {
				return nil, err
			}
			out = append(out, sk)
		}
		return out, nil
	}
	if len(dirs) > 1 && len(dirs) != len(keys) {
		return nil, paramError("Number of sort dirs does not match the number of sort keys")
	}
	if len(keys) == 0 && len(dirs) > 0 {
		keys = []string{"created_at"}
	}
	var out []glance.SortKey
	for i, k := range keys {
		d, hasDir := "", false
		if len(dirs) == 1 {
			d, hasDir = dirs[0], true
		} else if i < len(dirs) {
			d, hasDir = dirs[i], true
		}
		sk, err := sortKey(k, d, hasDir)
		if err != nil {
			return nil, err
		}
		out = append(out, sk)
	}
	return out, nil
}

// checkSortUnique refuses a key named twice: it orders nothing new, and
// every key adds a term to the marker condition of each key after it (the
// condition grows with the square of the number of keys).
func checkSortUnique(keys []glance.SortKey) error {
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		if seen[k.Key] {
			return paramError("Sort key " + k.Key + " is given more than once; each sort key may appear once.")
		}
		seen[k.Key] = true
	}
	return nil
}

func sortKey(k, dir string, hasDir bool) (glance.SortKey, error) {
	if !slices.Contains(glance.SortKeys, k) {
		return glance.SortKey{}, paramError("Invalid sort key: " + k + ". It must be one of: " + strings.Join(glance.SortKeys, ", "))
	}
	switch {
	case !hasDir, dir == "desc":
		return glance.SortKey{Key: k, Desc: true}, nil
	case dir == "asc":
		return glance.SortKey{Key: k}, nil
	}
	return glance.SortKey{}, paramError("Invalid sort direction: " + dir)
}

// pageLinks returns "first" and, for a full page, "next": the request's own
// parameters (marker excepted) in their original order and encoding, with the
// last image as the new marker.
func pageLinks(rawQuery string, full bool, lastID string) (first, next string) {
	return pageLinksAt("/v2/images", rawQuery, full, lastID)
}

// pageLinksAt is pageLinks for the collection at path.
func pageLinksAt(path, rawQuery string, full bool, lastID string) (first, next string) {
	var kept []string
	for _, pair := range strings.Split(rawQuery, "&") {
		if pair == "" || isMarkerPair(pair) {
			continue
		}
		// A raw "#" reaches the handler (the request line has no
		// fragment) but would end the link's query; %23 decodes the same.
		kept = append(kept, strings.ReplaceAll(pair, "#", "%23"))
	}
	first = path
	if len(kept) > 0 {
		first += "?" + strings.Join(kept, "&")
	}
	if full && lastID != "" {
		next = path + "?" + strings.Join(append(kept, "marker="+url.QueryEscape(lastID)), "&")
	}
	return first, next
}

// isMarkerPair reports whether one raw "key=value" pair of a query sets the
// marker, comparing the key as url.ParseQuery decodes it: a marker spelled
// "%6Darker" that stayed in the links would come first in the next link and
// send the client back to the same page forever.
func isMarkerPair(pair string) bool {
	key, _, _ := strings.Cut(pair, "=")
	if decoded, err := url.QueryUnescape(key); err == nil {
		key = decoded
	}
	return key == "marker"
}
