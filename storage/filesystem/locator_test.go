package filesystem

import (
	"net/url"
	"testing"
)

func TestLocatorNamesOnlyBlobsOfTheStore(t *testing.T) {
	dir := t.TempDir()
	s, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	u := s.URL("img-1")
	if u != "file://"+dir+"/blobs/img-1" {
		t.Fatalf("URL = %s", u)
	}
	for raw, want := range map[string]bool{
		u: true, "file://" + dir + "/tmp/img-1": false, "file://" + dir + "/blobs/../blobs/img-1": false,
		"file://" + dir + "/blobs/a/img-1": false, "file://" + dir + "/blobs/.hidden": false, "file:///etc/passwd": false,
		"file://h" + dir + "/blobs/img-1": false, "http://" + dir + "/blobs/img-1": false, u + "?x=1": false, "file:" + dir + "/blobs/img-1": true,
	} {
		pu, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if key, ok := s.KeyOf(pu); ok != want || (ok && key != "img-1") {
			t.Errorf("KeyOf(%s) = %q %v, want %v", raw, key, ok, want)
		}
	}
}
