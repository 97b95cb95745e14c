package glance_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"imagestack/glance"
)

func decode(t *testing.T, body string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestNewImageFromJSON checks the image schema on create bodies: the kind
// and the message clients see.
func TestNewImageFromJSON(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		kind       error
		message    string
	}{
		{"read-only", `{"status":"active"}`, glance.ErrForbidden, "Attribute 'status' is read-only."},
		{"reserved", `{"locations":[]}`, glance.ErrForbidden, "Attribute 'locations' is reserved."},
		{"os_glance namespace", `{"os_glance_x":"1"}`, glance.ErrForbidden, "Attribute 'os_glance_x' is reserved."},
		{"link", `{"self":"x"}`, glance.ErrForbidden, "Attribute 'self' is read-only."},
		{"bad id", `{"id":"nope"}`, glance.ErrBadRequest, `Invalid value for 'id': "nope" does not match the UUID pattern`},
		{"name type", `{"name":5}`, glance.ErrBadRequest, "Invalid value for 'name': 5 is not of type 'null', 'string'"},
		{"name length", `{"name":"` + strings.Repeat("é", 256) + `"}`, glance.ErrBadRequest, "Invalid value for 'name': it is longer than 255 characters"},
		{"visibility enum", `{"visibility":"nope"}`, glance.ErrBadRequest, "Invalid value 'nope' for 'visibility': must be one of [community public private shared]"},
		{"visibility null", `{"visibility":null}`, glance.ErrBadRequest, "Invalid value for 'visibility': null is not one of [community public private shared]"},
		{"boolean", `{"protected":"yes"}`, glance.ErrBadRequest, `Invalid value for 'protected': "yes" is not of type 'boolean'`},
		{"negative", `{"min_ram":-1}`, glance.ErrBadRequest, "Invalid value for 'min_ram': -1 must be an integer between 0 and 2147483647"},
		{"not integer", `{"min_disk":"1"}`, glance.ErrBadRequest, `Invalid value for 'min_disk': "1" is not of type 'integer'`},
		{"format", `{"disk_format":"floppy"}`, glance.ErrBadRequest, "Invalid value 'floppy' for 'disk_format': must be one of [ami ari aki vhd vhdx vmdk raw qcow2 vdi iso ploop]"},
		{"tags type", `{"tags":"a"}`, glance.ErrBadRequest, `Invalid value for 'tags': "a" is not of type 'array'`},
		{"tag type", `{"tags":[1]}`, glance.ErrBadRequest, "Invalid value for 'tags': 1 is not of type 'string'"},
		{"kernel_id", `{"kernel_id":"x"}`, glance.ErrBadRequest, `Invalid value for 'kernel_id': "x" does not match the UUID pattern`},
		{"key policy", `{"cinder_encryption_key_deletion_policy":"never"}`, glance.ErrBadRequest, "Invalid value for 'cinder_encryption_key_deletion_policy': must be on_image_deletion or do_not_delete"},
		{"extra type", `{"extra":5}`, glance.ErrBadRequest, "Invalid value for 'extra': 5 is not of type 'string'"},
		{"first name in order wins", `{"zz":5,"checksum":"x"}`, glance.ErrForbidden, "Attribute 'checksum' is read-only."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := glance.NewImageFromJSON(decode(t, tc.body))
			if !errors.Is(err, tc.kind) || glance.Message(err) != tc.message {
				t.Fatalf("got %v (%q), want %v %q", err, glance.Message(err), tc.kind, tc.message)
			}
		})
	}
}

// TestNewImageRoundTrip checks that a typed NewImage applies exactly as its
// JSON body does.
func TestNewImageRoundTrip(t *testing.T) {
	body := `{"id":"0f3c5c1e-6c2b-4d43-9d1e-2b1b7a0c9a11","name":"n","visibility":"private","protected":true,
		"os_hidden":true,"owner":null,"container_format":"bare","disk_format":"raw","min_ram":64,"min_disk":2,
		"tags":["b","a","b"],"kernel_id":"0f3c5c1e-6c2b-4d43-9d1e-2b1b7a0c9a12","x":"y"}`
	n, err := glance.NewImageFromJSON(decode(t, body))
	if err != nil {
		t.Fatal(err)
	}
	if !n.OwnerSet || n.Owner != nil || !reflect.DeepEqual(n.Tags, []string{"a", "b"}) || n.Properties["x"] != "y" {
		t.Fatalf("decoded %+v", n)
	}
	owner := "P"
	im := &glance.Image{Owner: &owner, Properties: map[string]string{}}
	if err := n.Apply(im); err != nil {
		t.Fatal(err)
	}
	if im.Owner != nil || im.ID != n.ID || *im.Name != "n" || im.MinRAM != 64 || im.MinDisk != 2 || !im.Protected ||
		im.Properties["kernel_id"] == "" || im.Visibility != "private" || !reflect.DeepEqual(im.Tags, []string{"a", "b"}) {
		t.Fatalf("applied %+v", im)
	}
	t.Run("core name as a property", func(t *testing.T) {
		err := glance.NewImage{Properties: map[string]string{"name": "x"}}.Apply(&glance.Image{Properties: map[string]string{}})
		if !errors.Is(err, glance.ErrBadRequest) {
			t.Fatalf("got %v", err)
		}
	})
	bad, long := "floppy", strings.Repeat("x", 256)
	for _, tc := range []struct {
		name    string
		n       glance.NewImage
		message string
	}{
		{"format", glance.NewImage{DiskFormat: &bad}, "Invalid value 'floppy' for 'disk_format': must be one of [ami ari aki vhd vhdx vmdk raw qcow2 vdi iso ploop]"},
		{"count", glance.NewImage{MinRAM: -1}, "Invalid value for 'min_ram': -1 must be an integer between 0 and 2147483647"},
		{"name", glance.NewImage{Name: &long}, "Invalid value for 'name': it is longer than 255 characters"},
		{"tag", glance.NewImage{Tags: []string{long}}, "Invalid tag: it is longer than 255 characters"},
		{"property", glance.NewImage{Properties: map[string]string{"ramdisk_id": "x"}}, `Invalid value for 'ramdisk_id': "x" does not match the UUID pattern`},
		{"reserved property", glance.NewImage{Properties: map[string]string{"os_glance_x": "x"}}, "Attribute 'os_glance_x' is reserved."},
	} {
		t.Run("typed "+tc.name, func(t *testing.T) {
			err := tc.n.Apply(&glance.Image{Properties: map[string]string{}})
			if glance.Message(err) != tc.message {
				t.Fatalf("got %v, want %q", err, tc.message)
			}
		})
	}
}
