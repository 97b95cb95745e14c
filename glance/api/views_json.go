package api

import (
	"encoding/json"
	"slices"
	"strconv"
)

// The image views are written by hand rather than by encoding/json's
// reflection: a list page holds a thousand images, and walking their
// structs, then re-scanning each MarshalJSON result, took most of its
// time. The bytes are those encoding/json writes for the same structs
// (views_json_test.go compares the two on crafted and random images).

// appendJSON appends the image as one JSON object: the core fields in
// struct order, null when unset, then the extra properties sorted by name.
func (b *imageBody) appendJSON(dst []byte) []byte {
	dst = appendKey(dst, '{', "id")
	dst = appendString(dst, b.ID)
	dst = appendKey(dst, ',', "name")
	dst = appendStringPtr(dst, b.Name)
	dst = appendKey(dst, ',', "status")
	dst = appendString(dst, b.Status)
	dst = appendKey(dst, ',', "visibility")
	dst = appendString(dst, b.Visibility)
	dst = appendKey(dst, ',', "protected")
	dst = strconv.AppendBool(dst, b.Protected)
	dst = appendKey(dst, ',', "os_hidden")
	dst = strconv.AppendBool(dst, b.OSHidden)
	for _, f := range []struct {
		key string
		val *string
	}{{"checksum", b.Checksum}, {"os_hash_algo", b.OSHashAlgo}, {"os_hash_value", b.OSHashValue}, {"owner", b.Owner}} {
		dst = appendKey(dst, ',', f.key)
		dst = appendStringPtr(dst, f.val)
	}
	dst = appendKey(dst, ',', "size")
	dst = appendIntPtr(dst, b.Size)
	dst = appendKey(dst, ',', "virtual_size")
	dst = appendIntPtr(dst, b.VirtualSize)
	dst = appendKey(dst, ',', "container_format")
	dst = appendStringPtr(dst, b.ContainerFormat)
	dst = appendKey(dst, ',', "disk_format")
	dst = appendStringPtr(dst, b.DiskFormat)
	dst = appendKey(dst, ',', "min_ram")
	dst = strconv.AppendInt(dst, int64(b.MinRAM), 10)
	dst = appendKey(dst, ',', "min_disk")
	dst = strconv.AppendInt(dst, int64(b.MinDisk), 10)
	for _, f := range [...]struct{ key, val string }{{"created_at", b.CreatedAt}, {"updated_at", b.UpdatedAt}} {
		dst = appendKey(dst, ',', f.key)
		dst = appendString(dst, f.val)
	}
	dst = appendKey(dst, ',', "tags")
	dst = appendStrings(dst, b.Tags)
	for _, f := range [...]struct{ key, val string }{{"self", b.Self}, {"file", b.File}, {"schema", b.Schema}} {
		dst = appendKey(dst, ',', f.key)
		dst = appendString(dst, f.val)
	}
	return append(b.appendOptional(dst), '}')
}

// appendOptional appends the fields shown only when set, and the extra
// properties that neither a core field nor "stores" hides.
func (b *imageBody) appendOptional(dst []byte) []byte {
	if b.Stores != "" {
		dst = appendKey(dst, ',', "stores")
		dst = appendString(dst, b.Stores)
	}
	if b.Locations != nil {
		locs, _ := json.Marshal(*b.Locations) // rare, and holds free-form metadata
		dst = append(appendKey(dst, ',', "locations"), locs...)
	}
	if b.DirectURL != "" {
		dst = appendKey(dst, ',', "direct_url")
		dst = appendString(dst, b.DirectURL)
	}
	if len(b.Properties) == 0 {
		return dst
	}
	keys := make([]string, 0, len(b.Properties))
	for k := range b.Properties {
		if !coreField[k] && (k != "stores" || b.Stores == "") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		dst = append(appendString(append(dst, ','), k), ':')
		dst = appendString(dst, b.Properties[k])
	}
	return dst
}

// coreField holds imageFields, for lookups.
var coreField = func() map[string]bool {
	m := make(map[string]bool, len(imageFields))
	for _, f := range imageFields {
		m[f] = true
	}
	return m
}()

// appendJSON appends the page as one JSON object.
func (l *imageList) appendJSON(dst []byte) []byte {
	dst = appendKey(dst, '{', "images")
	if l.Images == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range l.Images {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = l.Images[i].appendJSON(dst)
		}
		dst = append(dst, ']')
	}
	dst = appendKey(dst, ',', "first")
	dst = appendString(dst, l.First)
	if l.Next != "" {
		dst = appendKey(dst, ',', "next")
		dst = appendString(dst, l.Next)
	}
	dst = appendKey(dst, ',', "schema")
	return append(appendString(dst, l.Schema), '}')
}

// appendKey appends sep and a key that needs no escaping, with its colon.
func appendKey(dst []byte, sep byte, key string) []byte {
	dst = append(dst, sep, '"')
	return append(append(dst, key...), '"', ':')
}

// appendString appends s as a JSON string. Printable ASCII other than
// what encoding/json escapes (" \ < > &) is copied; anything else goes
// through encoding/json, so that escapes and invalid UTF-8 come out as
// it writes them.
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(dst, q...)
		}
	}
	dst = append(dst, '"')
	return append(append(dst, s...), '"')
}

func appendStringPtr(dst []byte, s *string) []byte {
	if s == nil {
		return append(dst, "null"...)
	}
	return appendString(dst, *s)
}

func appendIntPtr(dst []byte, n *int64) []byte {
	if n == nil {
		return append(dst, "null"...)
	}
	return strconv.AppendInt(dst, *n, 10)
}

func appendStrings(dst []byte, ss []string) []byte {
	if ss == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, s)
	}
	return append(dst, ']')
}
