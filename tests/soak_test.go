package tests

// Helpers of the standing reliability suite (`make soak`; the short
// versions run in `make test`): tests named TestSoak... read SOAK=1 for
// their long versions and report their figures on lines starting "soak:".

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// soakLong reports whether `make soak` asked for the long versions.
func soakLong() bool { return os.Getenv("SOAK") == "1" }

// soakPick returns short in `make test` and long in `make soak`.
func soakPick[T any](short, long T) T {
	if soakLong() {
		return long
	}
	return short
}

// soakReport logs one figure line; `make soak` collects them in its summary.
func soakReport(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf("soak: %s: %s", t.Name(), fmt.Sprintf(format, args...))
}

// dataSpec names deterministic image data: size bytes from a seeded
// ChaCha8 stream, so that any copy can be checked against its digests.
type dataSpec struct {
	seed     uint64
	size     int
	md5, sha string
}

func newDataSpec(seed uint64, size int) dataSpec {
	d := dataSpec{seed: seed, size: size}
	data := d.bytes()
	m, s := md5.Sum(data), sha512.Sum512(data)
	d.md5, d.sha = hex.EncodeToString(m[:]), hex.EncodeToString(s[:])
	return d
}

func (d dataSpec) bytes() []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], d.seed)
	b := make([]byte, d.size)
	_, _ = rand.NewChaCha8(key).Read(b)
	return b
}

// apiClient calls one API with a token, never failing the test itself (the
// fault tests call it while engines are down) and never waiting past its
// timeout.
type apiClient struct {
	base, token string
	hc          *http.Client
}

func newAPIClient(base, token string, timeout time.Duration) apiClient {
	return apiClient{base: base, token: token, hc: &http.Client{Timeout: timeout}}
}

// call sends body (JSON-encoded unless it is an io.Reader) and returns the
// status, headers and raw body.
func (a apiClient) call(ctx context.Context, method, path string, body any, hdr ...string) (int, http.Header, []byte, error) {
	var r io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case io.Reader:
		r, ctype = b, "application/octet-stream"
	default:
		raw, _ := json.Marshal(b)
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, r)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("X-Auth-Token", a.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if strings.Contains(path, "/images/") && method == http.MethodPatch {
		req.Header.Set("Content-Type", "application/openstack-images-v2.1-json-patch")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw, err
}

// object is call decoding a JSON object (nil when the body is not one).
func (a apiClient) object(ctx context.Context, method, path string, body any, hdr ...string) (int, map[string]any, error) {
	status, _, raw, err := a.call(ctx, method, path, body, hdr...)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return status, m, err
}

// allImages lists every image the caller sees, following next links.
func (a apiClient) allImages(ctx context.Context) ([]map[string]any, error) {
	var out []map[string]any
	path := "/v2/images?limit=500"
	for path != "" {
		status, _, raw, err := a.call(ctx, http.MethodGet, path, nil)
		if err != nil || status != http.StatusOK {
			return nil, fmt.Errorf("list images: %d %v %s", status, err, raw)
		}
		var page struct {
			Images []map[string]any `json:"images"`
			Next   string           `json:"next"`
		}
		if err := json.Unmarshal(raw, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Images...)
		path = page.Next
	}
	return out, nil
}

// soakBucket creates a fresh bucket on the shared MinIO of `make test`,
// removed with everything in it when the test ends.
func soakBucket(t *testing.T) (endpoint, bucket string, c *minio.Client) {
	t.Helper()
	endpoint = os.Getenv("TEST_MINIO_ENDPOINT")
	if endpoint == "" {
		t.Fatal("TEST_MINIO_ENDPOINT is not set: run `make test`, which starts MinIO")
	}
	c, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(os.Getenv("TEST_MINIO_ACCESS_KEY"), os.Getenv("TEST_MINIO_SECRET_KEY"), "")})
	if err != nil {
		t.Fatal(err)
	}
	bucket = fmt.Sprintf("soak-%d", rand.Uint64())
	if err := c.MakeBucket(t.Context(), bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		for u := range c.ListIncompleteUploads(ctx, bucket, "", true) {
			_ = c.RemoveIncompleteUpload(ctx, bucket, u.Key)
		}
		for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
			_ = c.RemoveObject(ctx, bucket, o.Key, minio.RemoveObjectOptions{})
		}
		_ = c.RemoveBucket(ctx, bucket)
	})
	return endpoint, bucket, c
}

// str reads a string field of a decoded JSON object ("" when absent or null).
func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}
