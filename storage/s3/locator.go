package s3

import (
	"net/url"
	"strings"

	"imagestack/storage"
)

// scheme is s3, or s3+https for a store reached over TLS (glance_store's
// names for the two).
func (s *Store) scheme() string {
	if s.cfg.UseTLS {
		return "s3+https"
	}
	return "s3"
}

// URL implements storage.Locator: scheme://endpoint/bucket/key, without
// the credentials glance_store puts in its URLs.
func (s *Store) URL(key string) string {
	return (&url.URL{Scheme: s.scheme(), Host: s.cfg.Endpoint, Path: "/" + s.cfg.Bucket + "/" + key}).String()
}

// KeyOf implements storage.Locator: the store's own scheme, endpoint and
// bucket, and a valid key directly in the bucket. Credentials in the URL
// are refused rather than ignored, so that none is ever recorded.
func (s *Store) KeyOf(u *url.URL) (string, bool) {
	if u.Scheme != s.scheme() || !strings.EqualFold(u.Host, s.cfg.Endpoint) || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", false
	}
	key, ok := strings.CutPrefix(u.Path, "/"+s.cfg.Bucket+"/")
	if !ok || !storage.ValidKey(key) {
		return "", false
	}
	return key, true
}
