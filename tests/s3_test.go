package tests

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"io"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// startMinIO runs a private MinIO (the binary `make test` installs) so that
// a test may stop it. It returns the endpoint and a stop function.
func startMinIO(t *testing.T) (string, func()) {
	t.Helper()
	bin, err := exec.LookPath("minio")
	if err != nil {
		t.Fatal("minio is not on PATH: run `make test`, which installs it")
	}
	addr, console := freePort(t), freePort(t)
	cmd := exec.Command(bin, "server", t.TempDir(), "--address", addr, "--console-address", console)
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER=imagestack", "MINIO_ROOT_PASSWORD=imagestack-secret", "MINIO_BROWSER=off")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cmd.Process.Kill()
			cmd.Wait()
		}
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/minio/health/live")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return addr, stop
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("MinIO did not start: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func bucketCounts(t *testing.T, endpoint string) (objects, incomplete int) {
	c, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4("imagestack", "imagestack-secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for o := range c.ListObjects(ctx, "images", minio.ListObjectsOptions{Recursive: true}) {
		if o.Err == nil {
			objects++
		}
	}
	for u := range c.ListIncompleteUploads(ctx, "images", "", true) {
		if u.Err == nil {
			incomplete++
		}
	}
	return objects, incomplete
}

// TestImagesOnS3 runs the image API on a MinIO bucket: streamed upload and
// download, deletion of the object, and a store outage answered with 503.
func TestImagesOnS3(t *testing.T) {
	endpoint, stopMinIO := startMinIO(t)
	s := NewServer(t, nil, "image: {store: s3, s3: {endpoint: \""+endpoint+"\", bucket: images, access_key: imagestack, secret_key: imagestack-secret, create_bucket: true, part_size: 5242880, concurrency: 2}}")
	ctx := t.Context()
	c := imageClient(t, s, "demo")
	data := make([]byte, 12<<20+7)
	rand.Read(data)
	im, err := images.Create(ctx, c, images.CreateOpts{Name: "on-s3", DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if err := imagedata.Upload(ctx, c, im.ID, struct{ io.Reader }{bytes.NewReader(data)}).ExtractErr(); err != nil {
		t.Fatalf("upload to S3: %v", err)
	}
	rc, err := imagedata.Download(ctx, c, im.ID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if md5.Sum(got) != md5.Sum(data) {
		t.Fatal("data read back from S3 differs")
	}
	req, _ := http.NewRequest("GET", s.ImageURL+"/v2/images/"+im.ID+"/file", nil)
	req.Header.Set("X-Auth-Token", c.TokenID)
	req.Header.Set("Range", "bytes=6291456-6291465")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 206 || !bytes.Equal(part, data[6291456:6291466]) {
		t.Fatalf("ranged read from S3: %d %d bytes", resp.StatusCode, len(part))
	}
	if objs, inc := bucketCounts(t, endpoint); objs != 1 || inc != 0 {
		t.Fatalf("bucket holds %d objects and %d unfinished uploads, want 1 and 0", objs, inc)
	}
	if err := images.Delete(ctx, c, im.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if objs, _ := bucketCounts(t, endpoint); objs != 0 {
		t.Fatalf("deleting the image left %d objects", objs)
	}

	// The store goes away: uploads answer 503 with Retry-After and the image
	// stays queued.
	im2, _ := images.Create(ctx, c, images.CreateOpts{Name: "outage", DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	stopMinIO()
	resp, err = uploadRaw(s, c.TokenID, im2.ID, bytes.NewReader(data[:1<<20]))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("upload during a store outage = %d (Retry-After %q), want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if got, _ := images.Get(ctx, c, im2.ID).Extract(); got.Status != images.ImageStatusQueued {
		t.Fatalf("image after a failed upload: %s", got.Status)
	}
}
