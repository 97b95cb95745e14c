package api

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"imagestack/glance"
)

// refBody encodes an image the way the views did before appendJSON:
// encoding/json's reflection over the struct, then the extra properties,
// sorted, each through json.Marshal. appendJSON must write the same bytes.
type refBody imageBody

func (b refBody) MarshalJSON() ([]byte, error) {
	type core imageBody // the struct without its methods
	out, err := json.Marshal(core(b))
	if err != nil || len(b.Properties) == 0 {
		return out, err
	}
	var keys []string
	for k := range b.Properties {
		if !slices.Contains(imageFields, k) && (k != "stores" || b.Stores == "") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var buf bytes.Buffer
	buf.Write(out[:len(out)-1])
	for _, k := range keys {
		name, _ := json.Marshal(k)
		value, _ := json.Marshal(b.Properties[k])
		buf.WriteByte(',')
		buf.Write(name)
		buf.WriteByte(':')
		buf.Write(value)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// refList is imageList with refBody images, encoded by encoding/json.
type refList struct {
	Images []refBody `json:"images"`
	First  string    `json:"first"`
	Next   string    `json:"next,omitempty"`
	Schema string    `json:"schema"`
}

// sameAsReflection fails unless the page of bodies encodes, and each body
// alone encodes, to the bytes encoding/json writes.
func sameAsReflection(t *testing.T, bodies []imageBody, next string) {
	t.Helper()
	page := imageList{Images: bodies, First: "/v2/images?limit=2", Next: next, Schema: "/v2/schemas/images"}
	ref := refList{First: page.First, Next: next, Schema: page.Schema}
	if bodies != nil {
		ref.Images = []refBody{}
	}
	for _, b := range bodies {
		ref.Images = append(ref.Images, refBody(b))
	}
	want, err := json.Marshal(ref)
	if err != nil {
		t.Fatal(err)
	}
	if got := page.appendJSON(nil); !bytes.Equal(got, want) {
		t.Fatalf("page differs from encoding/json's:\n got %s\nwant %s", got, want)
	}
	for _, b := range bodies {
		want, _ := json.Marshal(refBody(b))
		if got, _ := json.Marshal(b); !bytes.Equal(got, want) {
			t.Fatalf("image differs from encoding/json's:\n got %s\nwant %s", got, want)
		}
	}
}

// TestImageJSONAsEncodingJSON covers what the hand-written encoder must
// get right: nulls, escapes (HTML characters, control characters, U+2028,
// invalid UTF-8), properties hidden by core fields and by stores, and the
// optional fields.
func TestImageJSONAsEncodingJSON(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	odd := "<a href=\"x\">&amp;</a>\\\t\n\b\f\x01\x7f é \u2028\u2029 \xff\xfe end"
	full := &glance.Image{
		ID: "0f3c5c1e-6c2b-4d43-9d1e-2b1b7a0c9a11", Name: ptr(odd), Status: glance.StatusActive,
		Visibility: glance.VisibilityPublic, Protected: true, OSHidden: true, Owner: ptr("P1"),
		ContainerFormat: ptr("bare"), DiskFormat: ptr("qcow2"), MinRAM: -64, MinDisk: 1 << 30,
		Size: ptr(int64(-1)), VirtualSize: ptr(int64(1 << 62)), Checksum: ptr(""), OSHashAlgo: ptr("sha512"),
		OSHashValue: ptr("def"), CreatedAt: at, UpdatedAt: at.Add(time.Hour),
		Tags:       []string{odd, "b", ""},
		Properties: map[string]string{odd: odd, "status": "hidden", "stores": "s", "z": "", "": "empty key", "A": "1"},
		Locations:  []glance.Location{{Store: "fast", Status: glance.LocationActive}},
	}
	bare := &glance.Image{ID: "id1", Status: glance.StatusQueued, Visibility: glance.VisibilityShared, CreatedAt: at, UpdatedAt: at}
	withLocations := renderImage(full, true)
	withLocations.Locations = &[]locationBody{{URL: "file:///x<y>", Metadata: map[string]any{"b": 1, "a": []any{"&", nil}}}}
	withLocations.DirectURL = "file:///x<y>"
	noTags := renderImage(bare, false)
	noTags.Tags = nil
	sameAsReflection(t, []imageBody{renderImage(full, false), renderImage(full, true), renderImage(bare, true),
		withLocations, noTags}, "")
	sameAsReflection(t, []imageBody{renderImage(bare, false)}, "/v2/images?marker=id1&limit=1")
	sameAsReflection(t, []imageBody{}, "")
	sameAsReflection(t, nil, "")
}

// FuzzImageJSON checks appendJSON against encoding/json on arbitrary
// names, tags and properties.
func FuzzImageJSON(f *testing.F) {
	f.Add("cirros", "tag", "os_distro", "ubuntu<&>", int64(5))
	f.Add("\xff\u2028", "\x00", "name", "\"\\", int64(-1))
	f.Fuzz(func(t *testing.T, name, tag, key, value string, size int64) {
		at := time.Unix(size%(1<<40), 0)
		im := &glance.Image{ID: key, Name: &name, Status: value, Visibility: tag, Size: &size, Owner: &value,
			CreatedAt: at, UpdatedAt: at, Tags: []string{tag, name}, Properties: map[string]string{key: value, value: key}}
		sameAsReflection(t, []imageBody{renderImage(im, size%2 == 0)}, tag)
	})
}
