package tests

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// BenchmarkImageCacheS3 downloads a 512 MiB image stored in S3 through the
// API with the image cache on: cold (the first download fills the cache
// while it streams), warm (from the cache; median of 3), and four clients
// at once on an uncached image (fetched from the bucket once). Each is
// compared with minio-go GetObject of the same bytes straight to the same
// MinIO, measured just before the cold download and just after the warm
// ones (the mean of the two is the baseline: the VM's speed drifts).
func BenchmarkImageCacheS3(b *testing.B) {
	ep := os.Getenv("TEST_MINIO_ENDPOINT")
	if ep == "" {
		b.Fatal("TEST_MINIO_ENDPOINT is not set: run `make bench`, which starts MinIO")
	}
	ak, sk := os.Getenv("TEST_MINIO_ACCESS_KEY"), os.Getenv("TEST_MINIO_SECRET_KEY")
	for b.Loop() {
		const size = 512 << 20
		mc, err := minio.New(ep, &minio.Options{Creds: credentials.NewStaticV4(ak, sk, "")})
		if err != nil {
			b.Fatal(err)
		}
		ctx := b.Context()
		bucket := fmt.Sprintf("imagestack-cache-bench-%d", time.Now().UnixNano())
		if err := mc.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
			b.Fatal(err)
		}
		if _, err := mc.PutObject(ctx, bucket, "baseline", newPattern(size), -1, minio.PutObjectOptions{PartSize: 8 << 20, NumThreads: 4, ConcurrentStreamParts: true}); err != nil {
			b.Fatal(err)
		}
		s := NewServer(b, nil, fmt.Sprintf("image: {store: s3, s3: {endpoint: %q, bucket: %q, access_key: %q, secret_key: %q}, cache: {enabled: true, max_size: %d}}",
			ep, bucket, ak, sk, 2<<30))
		c := imageClient(b, s, "demo")
		ids := []string{benchS3Image(b, s, c.TokenID, c, size), benchS3Image(b, s, c.TokenID, c, size)}
		pid := s.cmd.Process.Pid
		rssIdle := procKB(pid, "VmRSS")

		getBefore := getObjectRate(b, mc, bucket)
		direct := rangedRate(b, s, c.TokenID, ids[0], size)
		resetPeak(pid)
		_, cold := timedDownload(b, s, c.TokenID, ids[0])
		coldPeak := procKB(pid, "VmHWM") - rssIdle
		var warm samples
		for range 3 {
			_, w := timedDownload(b, s, c.TokenID, ids[0])
			warm = append(warm, w)
		}
		getAfter := getObjectRate(b, mc, bucket)
		base := (getBefore + getAfter) / 2

		start := time.Now()
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() { defer wg.Done(); timedDownload(b, s, c.TokenID, ids[1]) }()
		}
		wg.Wait()
		together := mbps(4*size, time.Since(start))

		fmt.Printf("S3 cache baseline (512 MiB, minio-go GetObject straight to MinIO): %.0f MiB/s before, %.0f MiB/s after\n", getBefore, getAfter)
		fmt.Printf("S3 512 MiB through the API without the cache (a Range from byte 1 is never cached): %.0f MiB/s = %.2f x GetObject\n", direct, direct/base)
		fmt.Printf("S3 512 MiB download through the cache: cold %.0f MiB/s = %.2f x GetObject = %.2f x the API without the cache; warm %.0f MiB/s = %.2f x GetObject (MiB/s of each warm run: %v)\n",
			cold, cold/base, cold/direct, warm.median(), warm.median()/base, warm)
		fmt.Printf("S3 4 clients at once on an uncached 512 MiB image: %.0f MiB/s delivered in all = %.2f x one GetObject; server RSS peak growth during the cold download %.1f MiB (idle %d MiB)\n",
			together, together/base, float64(coldPeak)/1024, rssIdle>>10)
		s.Stop()
		for o := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
			mc.RemoveObject(ctx, bucket, o.Key, minio.RemoveObjectOptions{})
		}
		mc.RemoveBucket(ctx, bucket)
	}
}

// benchS3Image creates and uploads an image of size pattern bytes.
func benchS3Image(b *testing.B, s *Server, token string, c *gophercloud.ServiceClient, size int64) string {
	im, err := images.Create(b.Context(), c, images.CreateOpts{Name: "bench-cache", DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	if err != nil {
		b.Fatal(err)
	}
	resp, err := uploadRaw(s, token, im.ID, newPattern(size))
	if err != nil || resp.StatusCode != 204 {
		b.Fatalf("upload: %v %v", resp, err)
	}
	resp.Body.Close()
	return im.ID
}

// rangedRate downloads all but the first byte of an image (a Range, which
// the cache serves from the store when the image is not cached), in MiB/s.
func rangedRate(b *testing.B, s *Server, token, id string, size int64) float64 {
	req, _ := http.NewRequest("GET", s.ImageURL+"/v2/images/"+id+"/file", nil)
	req.Header.Set("X-Auth-Token", token)
	req.Header.Set("Range", "bytes=1-")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 206 {
		b.Fatalf("ranged download: %v %v", resp, err)
	}
	n, _ := io.CopyBuffer(io.Discard, resp.Body, make([]byte, 1<<20))
	resp.Body.Close()
	if n != size-1 {
		b.Fatalf("ranged download: %d bytes", n)
	}
	return mbps(n, time.Since(start))
}

// getObjectRate reads the bucket's baseline object with minio-go, in MiB/s.
func getObjectRate(b *testing.B, mc *minio.Client, bucket string) float64 {
	start := time.Now()
	obj, err := mc.GetObject(b.Context(), bucket, "baseline", minio.GetObjectOptions{})
	if err != nil {
		b.Fatal(err)
	}
	n, _ := io.CopyBuffer(io.Discard, obj, make([]byte, 1<<20))
	obj.Close()
	return mbps(n, time.Since(start))
}
