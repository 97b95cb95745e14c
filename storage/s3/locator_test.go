package s3

import (
	"net/url"
	"testing"
)

func TestLocatorNamesOnlyObjectsOfTheBucket(t *testing.T) {
	s := &Store{cfg: Config{Endpoint: "127.0.0.1:9000", Bucket: "images"}}
	u := s.URL("img-1")
	if u != "s3://127.0.0.1:9000/images/img-1" {
		t.Fatalf("URL = %s", u)
	}
	for raw, want := range map[string]bool{
		u: true, "s3://127.0.0.1:9000/other/img-1": false, "s3://10.0.0.1:9000/images/img-1": false,
		"s3+https://127.0.0.1:9000/images/img-1": false, "s3://ak:sk@127.0.0.1:9000/images/img-1": false,
		"s3://127.0.0.1:9000/images/a/img-1": false, "s3://127.0.0.1:9000/images/../images/img-1": false,
		"http://127.0.0.1:9000/images/img-1": false,
	} {
		pu, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if key, ok := s.KeyOf(pu); ok != want || (ok && key != "img-1") {
			t.Errorf("KeyOf(%s) = %q %v, want %v", raw, key, ok, want)
		}
	}
	s.cfg.UseTLS = true
	if s.URL("k") != "s3+https://127.0.0.1:9000/images/k" {
		t.Fatalf("TLS URL = %s", s.URL("k"))
	}
}
