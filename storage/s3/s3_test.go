package s3_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"imagestack/storage"
	"imagestack/storage/s3"
	"imagestack/storage/storetest"
)

// testConfig points at the MinIO that `make test` starts; without it the
// test fails (never a silent skip).
func testConfig(t *testing.T) s3.Config {
	t.Helper()
	ep := os.Getenv("TEST_MINIO_ENDPOINT")
	if ep == "" {
		t.Fatal("TEST_MINIO_ENDPOINT is not set: run `make test`, which starts MinIO")
	}
	b := make([]byte, 4)
	rand.Read(b)
	cfg := s3.Config{Endpoint: ep, AccessKey: os.Getenv("TEST_MINIO_ACCESS_KEY"), SecretKey: os.Getenv("TEST_MINIO_SECRET_KEY"),
		Bucket: "imagestack-test-" + hex.EncodeToString(b), CreateBucket: true, PartSize: 5 << 20, Concurrency: 2}
	t.Cleanup(func() {
		c, err := minio.New(cfg.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")})
		if err != nil {
			return
		}
		ctx := context.Background()
		for obj := range c.ListObjects(ctx, cfg.Bucket, minio.ListObjectsOptions{Recursive: true}) {
			c.RemoveObject(ctx, cfg.Bucket, obj.Key, minio.RemoveObjectOptions{})
		}
		c.RemoveBucket(ctx, cfg.Bucket)
	})
	return cfg
}

func TestConformanceOnMinIO(t *testing.T) {
	cfg := testConfig(t)
	s, err := s3.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Run(t, s, storetest.Options{Leftovers: func() int { return s.IncompleteUploads(context.Background()) }})
}

func TestMissingBucketAndUnreachableStore(t *testing.T) {
	cfg := testConfig(t)
	cfg.CreateBucket = false
	if _, err := s3.New(context.Background(), cfg); err == nil {
		t.Fatal("a missing bucket without create_bucket must be refused")
	}
	cfg.Endpoint = "127.0.0.1:1" // nothing listens there
	if _, err := s3.New(context.Background(), cfg); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("unreachable endpoint: %v, want ErrUnavailable", err)
	}
}
