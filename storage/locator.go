package storage

import "net/url"

// Locator is implemented by stores whose blobs have a URL that names them,
// as Glance shows an image's locations (file:///dir/key, s3://host/bucket/key).
// The URL only describes a blob; the image service never fetches it: it
// maps a URL back to a key of one of its own stores, so a location can
// never point outside them.
type Locator interface {
	// URL is the location URL of the blob under key.
	URL(key string) string
	// KeyOf returns the key that u names in this store, and false when u
	// does not name a blob of this store (another scheme, host, bucket or
	// directory, a nested or escaping path, or an invalid key).
	KeyOf(u *url.URL) (string, bool)
}

// URLOf returns the location URL of key in s, or "" when s has none.
func URLOf(s Store, key string) string {
	if l, ok := s.(Locator); ok {
		return l.URL(key)
	}
	return ""
}

// KeyOf returns the key u names in s; false when s is no Locator or u is
// not one of its blobs.
func KeyOf(s Store, u *url.URL) (string, bool) {
	if l, ok := s.(Locator); ok {
		return l.KeyOf(u)
	}
	return "", false
}
