// Package s3 is a storage.Store on S3-compatible object storage (MinIO, AWS
// S3, Ceph RGW) through minio-go. Uploads of unknown length stream as
// multipart uploads, holding at most PartSize x Concurrency bytes of parts
// (buffers outside the Go heap, reused from one transfer to the next); a
// failed or cancelled upload is aborted, so no parts are left behind. A
// blob can have at most 10,000 parts (78 GiB with the default 8 MiB parts).
// Downloads copied with io.Copy read PartSize ranges, Concurrency at once,
// with as much memory. It converts S3 errors into the storage sentinels at
// its boundary.
package s3

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"imagestack/common/bigbuf"
	"imagestack/storage"
)

// Config locates the bucket. It is also the backend's storage.Params: the
// YAML keys are those of an s3 section of the configuration.
type Config struct {
	Endpoint  string `yaml:"endpoint"` // host:port
	Bucket    string `yaml:"bucket"`
	AccessKey string `yaml:"access_key"`
	SecretKey string `yaml:"secret_key"`
	Region    string `yaml:"region"`
	UseTLS    bool   `yaml:"use_tls"`
	// CreateBucket creates the bucket when it does not exist.
	CreateBucket bool `yaml:"create_bucket"`
	// PartSize (bytes, default 8 MiB) and Concurrency (default 4) bound the
	// memory of one upload, and of one download, to their product.
	PartSize    uint64 `yaml:"part_size"`
	Concurrency uint   `yaml:"concurrency"`
	// MaxRetries bounds the attempts of each S3 request (default 3): with
	// the store down, a request fails within about two seconds instead of
	// minio-go's default of ten attempts.
	MaxRetries int `yaml:"max_retries"`
	// Timeout (default DefaultTimeout) bounds each wait on the store:
	// connecting, a response, each read or write of a body. With the store
	// silent, a request fails within about MaxRetries x Timeout.
	Timeout time.Duration `yaml:"timeout"`
}

// Store implements storage.Store.
type Store struct {
	c   *minio.Client
	cfg Config
	// bufs holds the parts of uploads and the ranges of downloads, outside
	// the Go heap; one upload's worth stays warm between transfers.
	bufs *bigbuf.Pool
	// parallel bounds the downloads reading ranges at once (each holds up
	// to Concurrency part buffers); the others stream one GET, so memory
	// does not grow with the number of clients.
	parallel chan struct{}
}

// parallelDownloads is how many downloads of one store read ranges at once.
const parallelDownloads = 4

var _ storage.Store = (*Store)(nil)

// New connects and checks (or creates) the bucket.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.PartSize == 0 {
		cfg.PartSize = 8 << 20
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 4
	}
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultTimeout)
	tr, err := newTransport(cfg.UseTLS, cfg.Timeout)
	if err != nil {
		return nil, fmt.Errorf("s3 store: %w", err)
	}
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.UseTLS, Region: cfg.Region, MaxRetries: cmp.Or(cfg.MaxRetries, 3), Transport: tr,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 store: %w", err)
	}
	s := &Store{c: c, cfg: cfg, bufs: bigbuf.NewPool(int(cfg.PartSize), int(cfg.Concurrency)),
		parallel: make(chan struct{}, parallelDownloads)}
	ok, err := c.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("s3 store: bucket %s: %w", cfg.Bucket, s.classify(err))
	}
	if !ok {
		if !cfg.CreateBucket {
			return nil, fmt.Errorf("s3 store: bucket %s does not exist (set create_bucket to create it)", cfg.Bucket)
		}
		if err := c.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region}); err != nil {
			return nil, fmt.Errorf("s3 store: create bucket %s: %w", cfg.Bucket, s.classify(err))
		}
	}
	return s, nil
}

// classify converts S3 and network errors into storage sentinels.
func (s *Store) classify(err error) error {
	if err == nil {
		return nil
	}
	resp := minio.ToErrorResponse(err)
	switch {
	case resp.Code == "NoSuchKey" || resp.StatusCode == http.StatusNotFound && resp.Code != "NoSuchBucket":
		return fmt.Errorf("%w: %v", storage.ErrNotFound, err)
	case resp.Code == "PreconditionFailed" || resp.StatusCode == http.StatusPreconditionFailed:
		return fmt.Errorf("%w: %v", storage.ErrExists, err)
	case resp.Code == "XMinioStorageFull" || resp.Code == "QuotaExceeded" || resp.Code == "EntityTooLarge":
		return fmt.Errorf("%w: %v", storage.ErrFull, err)
	case resp.StatusCode >= 500 || resp.Code == "SlowDown" || resp.Code == "NoSuchBucket":
		return fmt.Errorf("%w: %v", storage.ErrUnavailable, err)
	}
	var netErr net.Error
	var opErr *net.OpError
	if errors.As(err, &netErr) || errors.As(err, &opErr) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %v", storage.ErrUnavailable, err)
	}
	return err
}

// sourceError remembers the first error of the data source, so that a
// failing client is reported as itself, not as a store error.
type sourceError struct {
	r   io.Reader
	err error
}

func (s *sourceError) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// lockKey names the marker that claims a key for one writer. Keys never
// contain '/', so markers cannot collide with blobs.
func lockKey(key string) string { return "locks/" + key }

// Put implements storage.Store. A writer first claims the key with a small
// conditional (If-None-Match) marker, which S3 servers enforce for single
// PUTs though not for multipart completions; of two concurrent Puts to one
// key exactly one succeeds. The marker goes when the write ends.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	if !storage.ValidKey(key) {
		return 0, fmt.Errorf("%w: %q", storage.ErrInvalidKey, key)
	}
	switch _, err := s.Stat(ctx, key); {
	case err == nil:
		return 0, fmt.Errorf("%w: %s", storage.ErrExists, key)
	case !errors.Is(err, storage.ErrNotFound):
		return 0, err // the store does not answer: claim nothing
	}
	claim := minio.PutObjectOptions{}
	claim.SetMatchETagExcept("*")
	if _, err := s.c.PutObject(ctx, s.cfg.Bucket, lockKey(key), bytes.NewReader(nil), 0, claim); err != nil {
		err = s.classify(err)
		switch {
		case errors.Is(err, storage.ErrExists):
			return 0, fmt.Errorf("%w: %s is being written", storage.ErrExists, key)
		case errors.Is(err, storage.ErrUnavailable):
			go s.dropClaim(key) // the claim may still be carried out
		}
		return 0, err
	}
	defer s.dropClaim(key)
	if _, err := s.Stat(ctx, key); err == nil { // finished while we claimed
		return 0, fmt.Errorf("%w: %s", storage.ErrExists, key)
	}
	src := &sourceError{r: r}
	n, err := s.upload(ctx, key, src)
	if err != nil {
		// upload aborts its multipart upload; make sure of it.
		_ = s.c.RemoveIncompleteUpload(context.WithoutCancel(ctx), s.cfg.Bucket, key)
		switch {
		case src.err != nil:
			return 0, src.err
		case ctx.Err() != nil:
			return 0, ctx.Err()
		case errors.Is(err, errTooManyParts):
			return 0, fmt.Errorf("%w: %v", storage.ErrFull, err)
		}
		return 0, s.classify(err)
	}
	return n, nil
}

// claimRetries bounds how long dropClaim keeps trying: about an hour.
var claimRetries = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second}

// dropClaim removes a writer's claim on key. When the store does not answer
// it retries in the background (every 30 s at most, for up to an hour), and
// once more after that first success: a store that went silent may still
// carry out a claim sent just before, once it answers again, and a claim
// left behind is garbage in the bucket for good.
func (s *Store) dropClaim(key string) {
	remove := func() error {
		return s.classify(s.c.RemoveObject(context.Background(), s.cfg.Bucket, lockKey(key), minio.RemoveObjectOptions{}))
	}
	if err := remove(); err == nil || !errors.Is(err, storage.ErrUnavailable) {
		return
	}
	go func() {
		for i := 0; i < 125; i++ {
			time.Sleep(claimRetries[min(i, len(claimRetries)-1)])
			if err := remove(); err == nil {
				time.Sleep(5 * time.Second)
				_ = remove()
				return
			}
		}
	}()
}

// Get implements storage.Store, with a ranged GET for partial reads. The
// object streams straight from the response body; copied with io.Copy it
// comes in ranges fetched in parallel (see object.WriteTo).
func (s *Store) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	info, err := s.Stat(ctx, key)
	if err != nil {
		return nil, err
	}
	if offset >= info.Size || length == 0 {
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	opts := minio.GetObjectOptions{}
	if offset > 0 || length > 0 {
		end := int64(0) // to the end
		if length > 0 {
			end = min(offset+length, info.Size) - 1
		}
		if err := opts.SetRange(offset, end); err != nil {
			return nil, err
		}
	}
	body, _, _, err := minio.Core{Client: s.c}.GetObject(ctx, s.cfg.Bucket, key, opts)
	if err != nil {
		return nil, s.classify(err)
	}
	end := info.Size
	if length > 0 {
		end = min(offset+length, info.Size)
	}
	return &object{body: body, s: s, ctx: ctx, key: key, pos: offset, end: end}, nil
}

// Stat implements storage.Store.
func (s *Store) Stat(ctx context.Context, key string) (storage.Info, error) {
	if !storage.ValidKey(key) {
		return storage.Info{}, fmt.Errorf("%w: %q", storage.ErrInvalidKey, key)
	}
	info, err := s.c.StatObject(ctx, s.cfg.Bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return storage.Info{}, s.classify(err)
	}
	return storage.Info{Size: info.Size}, nil
}

// Delete implements storage.Store. Whether or not the object exists, it
// also aborts unfinished multipart uploads to the key and removes its
// writer's claim: a write that a crash interrupted would otherwise leave its
// parts in the bucket and keep the key claimed for good; a write still
// running fails and cleans up.
func (s *Store) Delete(ctx context.Context, key string) error {
	if !storage.ValidKey(key) {
		return fmt.Errorf("%w: %q", storage.ErrInvalidKey, key)
	}
	_, statErr := s.Stat(ctx, key)
	if statErr != nil && !errors.Is(statErr, storage.ErrNotFound) {
		return statErr
	}
	if err := s.c.RemoveIncompleteUpload(ctx, s.cfg.Bucket, key); err != nil {
		if err := s.classify(err); errors.Is(err, storage.ErrUnavailable) {
			return err
		}
	}
	if err := s.c.RemoveObject(ctx, s.cfg.Bucket, lockKey(key), minio.RemoveObjectOptions{}); err != nil {
		return s.classify(err)
	}
	if statErr != nil {
		return statErr
	}
	if err := s.c.RemoveObject(ctx, s.cfg.Bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return s.classify(err)
	}
	return nil
}

// IncompleteUploads counts unfinished multipart uploads in the bucket (the
// conformance suite uses it to prove that failures leave no parts behind).
func (s *Store) IncompleteUploads(ctx context.Context) int {
	n := 0
	for info := range s.c.ListIncompleteUploads(ctx, s.cfg.Bucket, "", true) {
		if info.Err == nil {
			n++
		}
	}
	return n
}
