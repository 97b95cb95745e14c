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

// parseListQuery turns GET /v2/images parameters into a ListQuery.
func parseListQuery(v url.Values) (glance.ListQuery, error) {
	q := glance.ListQuery{Limit: defaultLimit, Properties: map[string]string{}}
	if s := v.Get("limit"); v.Has("limit") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return q, paramError("limit param must be positive")
		}
		q.Limit = min(n, maxLimit)
	}
	q.Marker = v.Get("marker")
	if v.Has("marker") && q.Marker == "" {
		return q, paramError("Invalid marker: it may not be empty")
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
		val := vals[0]
		switch key {
		case "id", "name", "status", "container_format", "disk_format":
			list, err := parseIn(key, val)
			if err != nil {
				return q, err
			}
			switch key {
			case "id":
				q.IDs = list
			case "name":
				q.Names = list
			case "status":
				q.Statuses = list
			case "container_format":
				q.ContainerFormats = list
			case "disk_format":
				q.DiskFormats = list
			}
		case "visibility":
			if val != "all" && !slices.Contains(glance.Visibilities, val) {
				return q, paramError("Invalid visibility value: " + val)
			}
			q.Visibility = val
		case "member_status":
			if !slices.Contains([]string{"pending", "accepted", "rejected", "all"}, val) {
				return q, paramError("Invalid status value: " + val)
			}
			q.MemberStatus = val
		case "os_hidden", "protected":
			b, err := strconv.ParseBool(val)
			if err != nil || (val != "true" && val != "false" && val != "True" && val != "False") {
				return q, paramError("Invalid value for " + key + ": " + val + " (want true or false)")
			}
			if key == "os_hidden" {
				q.OSHidden = &b
			} else {
				q.Protected = &b
			}
		case "size_min", "size_max":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || n < 0 {
				return q, paramError(key + " must be a non-negative integer")
			}
			if key == "size_min" {
				q.SizeMin = &n
			} else {
				q.SizeMax = &n
			}
		case "created_at", "updated_at":
			for _, one := range vals {
				tf, err := parseTimeFilter(key, one)
				if err != nil {
					return q, err
				}
				if key == "created_at" {
					q.CreatedAt = append(q.CreatedAt, tf)
				} else {
					q.UpdatedAt = append(q.UpdatedAt, tf)
				}
			}
		case "size", "virtual_size", "min_ram", "min_disk":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return q, paramError("Invalid value for " + key + ": " + val + " is not an integer")
			}
			if q.IntEquals == nil {
				q.IntEquals = map[string]int64{}
			}
			q.IntEquals[key] = n
		case "tag":
			q.Tags = append(q.Tags, vals...)
			if len(q.Tags) > maxMatchFilters {
				return q, paramError(fmt.Sprintf("Too many tag filters: at most %d.", maxMatchFilters))
			}
		case "owner":
			q.Owner = &val
		case "checksum":
			q.Checksum = &val
		case "os_hash_value":
			q.OSHashValue = &val
		default:
			q.Properties[key] = val
			if len(q.Properties) > maxMatchFilters {
				return q, paramError(fmt.Sprintf("Too many property filters: at most %d.", maxMatchFilters))
			}
		}
	}
	return q, nil
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
	var kept []string
	for _, pair := range strings.Split(rawQuery, "&") {
		if pair == "" || isMarkerPair(pair) {
			continue
		}
		// A raw "#" reaches the handler (the request line has no
		// fragment) but would end the link's query; %23 decodes the same.
		kept = append(kept, strings.ReplaceAll(pair, "#", "%23"))
	}
	first = "/v2/images"
	if len(kept) > 0 {
		first += "?" + strings.Join(kept, "&")
	}
	if full && lastID != "" {
		next = "/v2/images?" + strings.Join(append(kept, "marker="+url.QueryEscape(lastID)), "&")
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
