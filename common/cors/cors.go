// Package cors answers browsers' cross-origin requests for every API, as
// oslo.middleware's [cors] section does for OpenStack services: Horizon's
// "direct" image upload mode has the browser PUT the file straight to the
// image API, from Horizon's origin. The work is done by github.com/rs/cors;
// this package holds the configuration and its OpenStack defaults.
package cors

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/rs/cors"
)

// Config is the `cors:` section of the configuration. With no allowed
// origin (the default) nothing changes: no response gets a CORS header and
// browsers keep other origins out.
type Config struct {
	// AllowedOrigins are the origins (scheme://host[:port]) whose pages may
	// call the APIs, e.g. Horizon's https://dashboard.example.com; "*" allows
	// any, and one "*" inside an origin matches any characters
	// (https://*.example.com). oslo.middleware's allowed_origin.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// AllowHeaders are the request headers such pages may send besides the
	// always-safe ones (exact names, case-insensitive; "*" for any).
	AllowHeaders []string `yaml:"allow_headers"`
	// ExposeHeaders are the response headers such pages may read.
	ExposeHeaders []string `yaml:"expose_headers"`
	// AllowMethods are the methods such pages may use.
	AllowMethods []string `yaml:"allow_methods"`
	// MaxAge is how many seconds a browser may cache a preflight answer
	// (0: the browser's default of a few seconds).
	MaxAge int `yaml:"max_age"`
	// AllowCredentials lets pages send cookies and TLS client certificates
	// (Access-Control-Allow-Credentials); tokens in X-Auth-Token need no such
	// permission.
	AllowCredentials bool `yaml:"allow_credentials"`
}

// Defaults are Glance's oslo.middleware CORS defaults (glance/common/config.py)
// with the headers the other families and Horizon's direct upload send
// (Content-Type application/octet-stream is not a CORS-safe value; the
// microversion headers), and no allowed origin.
func Defaults() Config {
	return Config{
		AllowHeaders: []string{"Content-Type", "Content-MD5", "Content-Range", "Accept-Encoding",
			"X-Auth-Token", "X-Storage-Token", "X-Identity-Status", "X-Roles", "X-Service-Catalog",
			"X-User-Id", "X-Tenant-Id", "X-OpenStack-Request-ID", "X-Subject-Token",
			"X-Image-Meta-Checksum", "X-Image-Meta-Store", "X-Image-Meta-Name",
			"OpenStack-API-Version", "X-OpenStack-Nova-API-Version"},
		ExposeHeaders: []string{"X-Image-Meta-Checksum", "X-Auth-Token", "X-Subject-Token",
			"X-Service-Token", "X-OpenStack-Request-ID", "X-Compute-Request-ID", "Location",
			"Content-Range", "Content-MD5", "OpenStack-API-Version", "X-OpenStack-Nova-API-Version"},
		AllowMethods:     []string{"GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"},
		MaxAge:           3600,
		AllowCredentials: true,
	}
}

// Check reports settings that would not do what they say: header names
// with a partial wildcard (only "*" alone means any), malformed origins,
// unknown methods, a negative max_age.
func (c Config) Check() error {
	for _, o := range c.AllowedOrigins {
		if o != "*" && (!strings.Contains(o, "://") || strings.HasSuffix(o, "/") || strings.Count(o, "*") > 1) {
			return fmt.Errorf("allowed_origins: %q is not an origin such as https://dashboard.example.com (no path, at most one *)", o)
		}
	}
	for _, list := range [][]string{c.AllowHeaders, c.ExposeHeaders} {
		for _, h := range list {
			if h == "" || (h != "*" && strings.ContainsAny(h, "*: ")) {
				return fmt.Errorf("header %q: give exact header names (or \"*\" alone for any)", h)
			}
		}
	}
	for _, m := range c.AllowMethods {
		if m != strings.ToUpper(m) || m == "" || strings.ContainsAny(m, " ,") {
			return fmt.Errorf("allow_methods: %q is not an upper-case HTTP method", m)
		}
	}
	if c.MaxAge < 0 {
		return fmt.Errorf("max_age: %d is negative", c.MaxAge)
	}
	return nil
}

// Wrap returns h answering CORS for c: a preflight (OPTIONS with
// Access-Control-Request-Method) is answered here, before authentication,
// and never reaches h; other requests get the CORS headers their origin
// allows and go on to h. Without allowed origins it returns h itself.
func (c Config) Wrap(h http.Handler) http.Handler {
	if len(c.AllowedOrigins) == 0 {
		return h
	}
	return cors.New(cors.Options{
		AllowedOrigins:   c.AllowedOrigins,
		AllowedHeaders:   c.AllowHeaders,
		ExposedHeaders:   c.ExposeHeaders,
		AllowedMethods:   c.AllowMethods,
		MaxAge:           c.MaxAge,
		AllowCredentials: c.AllowCredentials,
	}).Handler(h)
}
