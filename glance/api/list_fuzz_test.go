package api

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"imagestack/glance"
)

// fuzzBudget is the time one input may take in the parsers below; they are
// linear in their input, so anything near it is a complexity bug (on a busy
// 2-core machine a slow input still finishes in microseconds).
const fuzzBudget = 500 * time.Millisecond

// requestQuery returns the raw query of /v2/images?raw as net/http would
// hand it to the handler, or false when no request could carry it (control
// characters, which the server refuses before any handler runs).
func requestQuery(raw string) (string, bool) {
	u, err := url.ParseRequestURI("/v2/images?" + raw)
	if err != nil {
		return "", false
	}
	return u.RawQuery, true
}

// FuzzListQuery feeds GET /v2/images query strings to parseListQuery: it
// must answer any of them with a ListQuery or a paramError (400), and what
// it accepts must be a query the database layer can run cheaply.
func FuzzListQuery(f *testing.F) {
	f.Add("limit=20&sort_key=name&sort_dir=asc")
	f.Fuzz(func(t *testing.T, raw string) {
		raw, ok := requestQuery(raw)
		if !ok {
			return
		}
		v, _ := url.ParseQuery(raw) // what r.URL.Query() gives the handler
		start := time.Now()
		q, err := parseListQuery(v)
		if d := time.Since(start); d > fuzzBudget {
			t.Fatalf("parseListQuery took %v for %d bytes", d, len(raw))
		}
		if err != nil {
			var pe paramError
			if !errors.As(err, &pe) || pe.Error() == "" {
				t.Fatalf("error %v (%T) is not a 400 paramError", err, err)
			}
			return
		}
		checkListQuery(t, v, q)
	})
}

// checkListQuery asserts what an accepted query promises the repository.
func checkListQuery(t *testing.T, v url.Values, q glance.ListQuery) {
	t.Helper()
	if q.Limit < 0 || q.Limit > maxLimit {
		t.Fatalf("limit %d outside [0, %d]", q.Limit, maxLimit)
	}
	if v.Has("marker") && q.Marker == "" {
		t.Fatalf("an empty marker was accepted")
	}
	seen := map[string]bool{}
	for _, k := range q.Sort {
		if !slices.Contains(glance.SortKeys, k.Key) || seen[k.Key] {
			t.Fatalf("sort keys %v: %q unknown or repeated", q.Sort, k.Key)
		}
		seen[k.Key] = true
	}
	if len(q.Sort) > len(glance.SortKeys) {
		t.Fatalf("%d sort keys accepted, only %d exist", len(q.Sort), len(glance.SortKeys))
	}
	for name, list := range map[string][]string{"id": q.IDs, "name": q.Names, "status": q.Statuses,
		"container_format": q.ContainerFormats, "disk_format": q.DiskFormats} {
		if len(list) > maxInValues {
			t.Fatalf("%s filter with %d values accepted", name, len(list))
		}
	}
	if len(q.Tags) > maxMatchFilters || len(q.Properties) > maxMatchFilters {
		t.Fatalf("%d tag and %d property filters accepted", len(q.Tags), len(q.Properties))
	}
	for k := range q.Properties {
		if controlParams[k] {
			t.Fatalf("control parameter %q taken as a property filter", k)
		}
	}
	if q.SizeMin != nil && *q.SizeMin < 0 || q.SizeMax != nil && *q.SizeMax < 0 {
		t.Fatalf("negative size bound accepted: %v %v", q.SizeMin, q.SizeMax)
	}
	if q.Visibility != "" && q.Visibility != "all" && !slices.Contains(glance.Visibilities, q.Visibility) {
		t.Fatalf("visibility %q accepted", q.Visibility)
	}
}

// FuzzPageLinks checks that the first and next links of a list page are
// URLs that carry every parameter of the request (marker excepted) and,
// for next, exactly one marker: the last image of the page. A link that
// loses a filter shows the client other images; one with two markers
// sends it back to the same page forever.
func FuzzPageLinks(f *testing.F) {
	f.Add("limit=2&sort=name:asc", "2f1c3a36-0c1d-4e2e-9b7c-2f5a7c3e9d10")
	f.Fuzz(func(t *testing.T, raw, lastID string) {
		raw, ok := requestQuery(raw)
		if !ok || lastID == "" {
			return
		}
		want, _ := url.ParseQuery(raw)
		want.Del("marker")
		start := time.Now()
		first, next := pageLinks(raw, true, lastID)
		if d := time.Since(start); d > fuzzBudget {
			t.Fatalf("pageLinks took %v for %d bytes", d, len(raw))
		}
		checkLink(t, "first", first, want)
		want.Set("marker", lastID)
		checkLink(t, "next", next, want)
		if _, none := pageLinks(raw, false, lastID); none != "" {
			t.Fatalf("a page that is not full has a next link: %q", none)
		}
	})
}

// checkLink asserts that link is /v2/images with exactly the parameters want.
func checkLink(t *testing.T, name, link string, want url.Values) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatalf("%s link %q does not parse: %v", name, link, err)
	}
	if u.Path != "/v2/images" || u.Host != "" || u.Fragment != "" {
		t.Fatalf("%s link %q is not /v2/images", name, link)
	}
	got, _ := url.ParseQuery(u.RawQuery)
	if len(got) != len(want) {
		t.Fatalf("%s link %q has parameters %v, want %v", name, link, got, want)
	}
	for k, vals := range want {
		if !slices.Equal(got[k], vals) {
			t.Fatalf("%s link %q: %q = %q, want %q", name, link, k, got[k], vals)
		}
	}
}

// FuzzParseRange checks the Range header parser: it never panics, and a
// range it accepts is a non-empty slice of the image.
func FuzzParseRange(f *testing.F) {
	f.Add("bytes=0-99", int64(1000))
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			return // sizes come from the database, never negative
		}
		start, end, partial, ok := parseRange(h, size)
		switch {
		case !ok:
			if h == "" {
				t.Fatalf("no Range header refused for size %d", size)
			}
		case !partial:
			if h != "" || start != 0 || end != size {
				t.Fatalf("whole-image answer [%d,%d) for %q, size %d", start, end, h, size)
			}
		default:
			if !(0 <= start && start < end && end <= size) {
				t.Fatalf("range %q on %d bytes gave [%d,%d)", h, size, start, end)
			}
			if !strings.HasPrefix(h, "bytes=") || strings.Contains(h, ",") {
				t.Fatalf("%q accepted: not a single bytes range", h)
			}
		}
	})
}
