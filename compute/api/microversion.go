package api

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// Microversions served: 2.1 to 2.90. What each one changes here, or why it
// does not apply, is the README's microversion table; handlers ask
// atLeast(r, "2.x") where behaviour changed at 2.x.
const (
	minMicroversion = "2.1"
	maxMicroversion = "2.90"
)

// versionPattern is Nova's: no leading zeros ("2.01" is malformed, 400).
var versionPattern = regexp.MustCompile(`^([1-9][0-9]*)\.([1-9][0-9]*|0)$`)

type version struct{ major, minor int }

func parseVersion(s string) (version, bool) {
	m := versionPattern.FindStringSubmatch(s)
	if m == nil {
		return version{}, false
	}
	maj, _ := strconv.Atoi(m[1])
	mnr, _ := strconv.Atoi(m[2])
	return version{maj, mnr}, true
}

func (v version) less(o version) bool {
	return v.major < o.major || v.major == o.major && v.minor < o.minor
}

func (v version) String() string { return fmt.Sprintf("%d.%d", v.major, v.minor) }

// requestedVersion reads the microversion a request asks for: the
// OpenStack-API-Version header (for "compute") wins over the legacy
// X-OpenStack-Nova-API-Version; none means the minimum.
func requestedVersion(r *http.Request) string {
	for _, h := range r.Header.Values("OpenStack-API-Version") {
		for _, part := range strings.Split(h, ",") {
			fields := strings.Fields(part)
			if len(fields) == 2 && strings.EqualFold(fields[0], "compute") {
				return fields[1]
			}
		}
	}
	if v := strings.TrimSpace(r.Header.Get("X-OpenStack-Nova-API-Version")); v != "" {
		return v
	}
	return minMicroversion
}

// withMicroversion validates the requested microversion (400 malformed, 406
// out of range) and echoes it with Vary on every response.
func withMicroversion(next http.Handler) http.Handler {
	minV, _ := parseVersion(minMicroversion)
	maxV, _ := parseVersion(maxMicroversion)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Vary", "OpenStack-API-Version, X-OpenStack-Nova-API-Version")
		req := requestedVersion(r)
		if strings.EqualFold(req, "latest") {
			req = maxMicroversion
		}
		v, ok := parseVersion(req)
		if !ok {
			setVersionHeaders(h, minMicroversion)
			writeError(w, r, http.StatusBadRequest, "API Version String "+req+" is of invalid format. Must be of format MajorNum.MinorNum.")
			return
		}
		if v.less(minV) || maxV.less(v) {
			setVersionHeaders(h, minMicroversion)
			writeError(w, r, http.StatusNotAcceptable, fmt.Sprintf("Version %s is not supported by the API. Minimum is %s and maximum is %s.", v, minMicroversion, maxMicroversion))
			return
		}
		setVersionHeaders(h, v.String())
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), versionKey{}, v)))
	})
}

func setVersionHeaders(h http.Header, v string) {
	h.Set("OpenStack-API-Version", "compute "+v)
	h.Set("X-OpenStack-Nova-API-Version", v)
}

// versionKey keys the request's negotiated microversion in its context.
type versionKey struct{}

// atLeast reports whether the request's microversion is min or above:
// what a handler asks of behaviour that changed at min.
func atLeast(r *http.Request, min string) bool {
	v, ok := r.Context().Value(versionKey{}).(version)
	m, _ := parseVersion(min)
	return ok && !v.less(m)
}
