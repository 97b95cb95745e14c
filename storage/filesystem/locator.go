package filesystem

import (
	"net/url"
	"path/filepath"

	"imagestack/storage"
)

// URL implements storage.Locator: file:// and the blob's absolute path, as
// Glance's file store names its images.
func (s *Store) URL(key string) string {
	dir, err := filepath.Abs(s.blobDir())
	if err != nil {
		dir = s.blobDir()
	}
	return (&url.URL{Scheme: "file", Path: filepath.Join(dir, key)}).String()
}

// KeyOf implements storage.Locator: a file URL without host, query or
// fragment whose cleaned path is a valid key directly inside the blob
// directory (never the temporary directory, a subdirectory, or anything
// reached through "..").
func (s *Store) KeyOf(u *url.URL) (string, bool) {
	if u.Scheme != "file" || u.Host != "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", false
	}
	dir, err := filepath.Abs(s.blobDir())
	if err != nil || u.Path != filepath.Clean(u.Path) {
		return "", false
	}
	key := filepath.Base(u.Path)
	if filepath.Dir(u.Path) != dir || !storage.ValidKey(key) {
		return "", false
	}
	return key, true
}
