package s3_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"gopkg.in/yaml.v3"

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

// failAfter yields n bytes of data, then err.
type failAfter struct {
	data []byte
	err  error
}

func (f *failAfter) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

// TestMultipart covers what the conformance suite's small blobs do not:
// several parts (5 MiB each here), a part that is exactly full, and a
// source failing after some parts went up.
func TestMultipart(t *testing.T) {
	cfg := testConfig(t)
	s, err := s3.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, size := range map[string]int{"three-parts": 11<<20 + 3, "exact-parts": 10 << 20} {
		data := make([]byte, size)
		rand.Read(data)
		n, err := s.Put(ctx, name, struct{ io.Reader }{bytes.NewReader(data)})
		if err != nil || n != int64(size) {
			t.Fatalf("%s: put %d %v", name, n, err)
		}
		rc, err := s.Get(ctx, name, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, data) {
			t.Fatalf("%s: read back %d bytes, differ", name, len(got))
		}
		copied(t, s, name, data)
		checksummed(t, cfg, name)
	}
	boom := errors.New("client went away")
	data := make([]byte, 12<<20)
	if _, err := s.Put(ctx, "broken", &failAfter{data: data, err: boom}); !errors.Is(err, boom) {
		t.Fatalf("failing source: %v", err)
	}
	if _, err := s.Stat(ctx, "broken"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a failed multipart upload left an object: %v", err)
	}
	if n := s.IncompleteUploads(ctx); n != 0 {
		t.Fatalf("%d unfinished multipart uploads left", n)
	}
}

// checksummed checks that the store holds CRC32Cs of key's parts, which it
// compared with the data it received: parts travel with those instead of a
// signed SHA-256 of their payload.
func checksummed(t *testing.T, cfg s3.Config, key string) {
	t.Helper()
	c, err := minio.New(cfg.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.StatObject(context.Background(), cfg.Bucket, key, minio.StatObjectOptions{Checksum: true})
	if err != nil || info.ChecksumCRC32C == "" {
		t.Fatalf("%s: no CRC32C recorded by the store (%v)", key, err)
	}
}

// copied checks what io.Copy (the downloads' way, in parallel ranges of a
// part each) reads of key: all of it, ranges across parts and to the end,
// and the rest after some bytes were Read.
func copied(t *testing.T, s *s3.Store, key string, data []byte) {
	t.Helper()
	ctx := context.Background()
	size := int64(len(data))
	for _, r := range [][2]int64{{0, -1}, {3 << 20, 9 << 20}, {7 << 20, -1}, {size - 1, 5 << 20}, {1, size - 2}} {
		rc, err := s.Get(ctx, key, r[0], r[1])
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		n, err := io.Copy(&got, rc)
		rc.Close()
		end := size
		if r[1] >= 0 {
			end = min(r[0]+r[1], size)
		}
		if err != nil || n != end-r[0] || !bytes.Equal(got.Bytes(), data[r[0]:end]) {
			t.Fatalf("%s: io.Copy of %d bytes from %d: %d bytes, %v, equal %v", key, r[1], r[0], n, err, bytes.Equal(got.Bytes(), data[r[0]:end]))
		}
	}
	rc, err := s.Get(ctx, key, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	head := make([]byte, 100)
	if _, err := io.ReadFull(rc, head); err != nil {
		t.Fatal(err)
	}
	var rest bytes.Buffer
	if _, err := io.Copy(&rest, rc); err != nil || !bytes.Equal(append(head, rest.Bytes()...), data) {
		t.Fatalf("%s: Read then io.Copy: %d bytes, %v", key, 100+rest.Len(), err)
	}
}

// TestDeleteClearsInterruptedWrite: a write a crash cut short leaves its
// claim marker and an unfinished multipart upload; Delete clears both, so
// the key can be written again (a copy-image retried after a restart).
func TestDeleteClearsInterruptedWrite(t *testing.T) {
	cfg := testConfig(t)
	s, err := s3.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := minio.New(cfg.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, cfg.Bucket, "locks/img", bytes.NewReader(nil), 0, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := (minio.Core{Client: c}).NewMultipartUpload(ctx, cfg.Bucket, "img", minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "img", bytes.NewReader([]byte("x"))); !errors.Is(err, storage.ErrExists) {
		t.Fatalf("put to a claimed key: %v", err)
	}
	if err := s.Delete(ctx, "img"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("delete of an interrupted write: %v", err)
	}
	if n := s.IncompleteUploads(ctx); n != 0 {
		t.Fatalf("%d unfinished uploads survived the delete", n)
	}
	if _, err := s.Put(ctx, "img", bytes.NewReader([]byte("x"))); err != nil {
		t.Fatalf("put after the delete: %v", err)
	}
}

// The registry opens an S3 store from its settings (the YAML keys of an s3
// section); stores/detail shows the bucket, never the credentials.
func TestOpenByType(t *testing.T) {
	cfg := testConfig(t)
	params, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := storage.Open(context.Background(), s3.Type, storage.YAML(params))
	if err != nil {
		t.Fatal(err)
	}
	d := storage.Describe(st)
	if d["bucket"] != cfg.Bucket || d["endpoint"] != cfg.Endpoint || d["s3_store_large_object_chunk_size"] != uint64(5) ||
		d["s3_store_thread_pools"] != uint(2) || d["secret_key"] != nil || d["access_key"] != nil {
		t.Fatalf("Describe = %v", d)
	}
	if _, err := storage.Open(context.Background(), s3.Type, storage.YAML("endpoint: x\n")); err == nil {
		t.Fatal("a store without a bucket was opened")
	}
}

// TestManyDownloadsAtOnce: more downloads than may read parallel ranges at
// once (the others stream one GET each) all read the whole object, and a
// Read after io.Copy has drained the object is EOF.
func TestManyDownloadsAtOnce(t *testing.T) {
	s, err := s3.New(context.Background(), testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	data := make([]byte, 13<<20+5)
	rand.Read(data)
	if _, err := s.Put(ctx, "many", struct{ io.Reader }{bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 12)
	for range cap(errs) {
		go func() {
			rc, err := s.Get(ctx, "many", 0, -1)
			if err != nil {
				errs <- err
				return
			}
			defer rc.Close()
			var got bytes.Buffer
			if _, err := io.Copy(&got, rc); err != nil || !bytes.Equal(got.Bytes(), data) {
				errs <- fmt.Errorf("io.Copy: %d bytes, %v", got.Len(), err)
				return
			}
			if n, err := rc.Read(make([]byte, 10)); n != 0 || err != io.EOF {
				errs <- fmt.Errorf("Read after io.Copy: %d bytes, %v", n, err)
				return
			}
			errs <- nil
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
