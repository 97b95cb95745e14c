package s3_test

import (
	"bytes"
	"context"
	"io"
	"net/url"
	"testing"

	"imagestack/storage"
	"imagestack/storage/s3"
)

// TestLocationURLOnMinIO: the URL of a blob in the bucket maps back to its
// key, which reads the blob; the same URL with another bucket does not.
func TestLocationURLOnMinIO(t *testing.T) {
	cfg := testConfig(t)
	s, err := s3.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Put(ctx, "placed-1", bytes.NewReader([]byte("object data"))); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(storage.URLOf(s, "placed-1"))
	if err != nil {
		t.Fatal(err)
	}
	key, ok := storage.KeyOf(s, u)
	if !ok {
		t.Fatalf("%s does not map back to a key", u)
	}
	rc, err := s.Get(ctx, key, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if b, _ := io.ReadAll(rc); string(b) != "object data" {
		t.Fatalf("read %q", b)
	}
	u.Path = "/other-bucket/placed-1"
	if _, ok := storage.KeyOf(s, u); ok {
		t.Fatalf("%s maps into bucket %s", u, cfg.Bucket)
	}
}
