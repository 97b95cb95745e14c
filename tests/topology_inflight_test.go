package tests

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imageimport"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// inflight is one upload or import around a replica's kill: its image,
// the errors of its failed attempts, and how long after the kill the image
// left saving/importing (0: no attempt failed).
type inflight struct {
	what   string
	img    topoImage
	errs   []error
	freed  time.Duration
	failed error // the last attempt failed too
}

// topologyReplicaKilledInFlight: glance-direct imports work through
// whichever replicas the stage and the import reach (one staging area);
// then six uploads and a web-download import trickle their data while the
// replica running the import is SIGKILLed. The clients retry what failed;
// every image that was left saving or importing by the dead replica is
// queued again within the lease (lease_ttl + a recovery pass), every retry
// succeeds with the right bytes, no image is left saving or importing,
// and the bucket holds no object of an image that is not active.
func topologyReplicaKilledInFlight(t *testing.T, tp *Topology) {
	ctx := t.Context()
	demo, err := tp.ImageClient(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		var id string
		retrying(t, fmt.Sprintf("glance-direct import %d", i), func() (err error) { id, err = glanceDirect(ctx, demo, i); return err })
		t.Logf("glance-direct %s: staged through %v, imported through %v", id, tp.ServedBy("/v2/images/"+id+"/stage"),
			tp.ServedBy("/v2/images/"+id+"/import"))
	}
	data := randomBytes(2 << 20)
	web := trickleServer(data)
	defer web.Close()
	imp := startInflight(t, demo, "topo-web", data, func(c *gophercloud.ServiceClient, id string, _ []byte, _ bool) error {
		return webDownload(ctx, c, id, web.URL)
	})
	victim := leaseOwner(t, imp.id())
	var uploads []*inflightRun
	for i := range 6 {
		uploads = append(uploads, startInflight(t, demo, fmt.Sprintf("topo-put-%d", i), data, uploadOnce))
	}
	time.Sleep(1500 * time.Millisecond) // the uploads under way
	killed := time.Now()
	tp.Kill(victim, "KILL")
	t.Logf("%s (running the web-download import) SIGKILLed with 6 uploads and the import under way", victim)
	retried := 0
	for _, r := range append(uploads, imp) {
		res := r.wait(killed)
		if res.failed != nil {
			t.Errorf("%s %s: every attempt failed: %v", res.what, res.img.id, res.errs)
			continue
		}
		if len(res.errs) > 0 {
			retried++
			t.Logf("%s %s: succeeded after %d failed attempts (%v); it left saving/importing %v after the kill",
				res.what, res.img.id, len(res.errs), res.errs, res.freed.Round(100*time.Millisecond))
			if bound := topoLeaseTTL + topoRenewPeriod + 2*time.Second; res.freed > bound {
				t.Errorf("%s stayed saving/importing %v after its replica's kill, past the lease (%v)", res.img.id, res.freed, bound)
			}
		}
		if err := downloadSame(ctx, demo, res.img); err != nil {
			t.Errorf("%s: %v", res.what, err)
		}
	}
	if retried < 2 { // the import, and an upload on the same replica
		t.Errorf("only %d operations needed a retry: the kill hit nothing in flight", retried)
	}
	noneInFlight(t, tp)
	noOrphanBlobs(t, tp)
}

// glanceDirect stages 1 MiB and imports it (glance-direct): the two
// requests may reach different replicas. It returns the image's id.
func glanceDirect(ctx context.Context, c *gophercloud.ServiceClient, i int) (string, error) {
	im, err := images.Create(ctx, c, images.CreateOpts{Name: fmt.Sprintf("topo-direct-%d", i), DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	if err != nil {
		return "", err
	}
	img := topoImage{id: im.ID, data: randomBytes(1 << 20)}
	if err := imagedata.Stage(ctx, c, im.ID, bytes.NewReader(img.data)).ExtractErr(); err != nil {
		return im.ID, fmt.Errorf("stage: %w", err)
	}
	if err := imageimport.Create(ctx, c, im.ID, imageimport.CreateOpts{Name: imageimport.GlanceDirectMethod}).ExtractErr(); err != nil {
		return im.ID, fmt.Errorf("import: %w", err)
	}
	if err := waitImageStatus(ctx, c, im.ID, "active"); err != nil {
		return im.ID, err
	}
	return im.ID, downloadSame(ctx, c, img)
}

// webDownload asks for a web-download import of url and waits for its end.
func webDownload(ctx context.Context, c *gophercloud.ServiceClient, id, url string) error {
	if err := imageimport.Create(ctx, c, id, imageimport.CreateOpts{Name: imageimport.WebDownloadMethod, URI: url}).ExtractErr(); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	return waitImageStatus(ctx, c, id, "active")
}

// uploadOnce uploads the data, trickled over about 6 s when slow.
func uploadOnce(c *gophercloud.ServiceClient, id string, data []byte, slow bool) error {
	var r io.Reader = bytes.NewReader(data)
	if slow {
		r = &trickle{data: data}
	}
	return imagedata.Upload(context.Background(), c, id, r).ExtractErr()
}

// waitImageStatus polls the image until it is in status (an error when it
// falls back to queued: its import failed).
func waitImageStatus(ctx context.Context, c *gophercloud.ServiceClient, id, status string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		im, err := images.Get(ctx, c, id).Extract()
		switch {
		case err == nil && string(im.Status) == status:
			return nil
		case err == nil && im.Status == images.ImageStatusQueued && status == "active":
			return fmt.Errorf("image %s is queued again: its import failed", id)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("image %s not %s in 60 s", id, status)
}

// trickle reads its data 64 KiB every 200 ms (2 MiB in about 6 s).
type trickle struct {
	data []byte
	off  int
}

func (r *trickle) Read(p []byte) (int, error) {
	if r.off >= len(r.data) {
		return 0, io.EOF
	}
	if r.off > 0 {
		time.Sleep(200 * time.Millisecond)
	}
	n := copy(p[:min(len(p), 64<<10)], r.data[r.off:])
	r.off += n
	return n, nil
}

// trickleServer serves data at any path, trickled the first time, at once
// afterwards (a client's retry).
func trickleServer(data []byte) *httptest.Server {
	var served atomic.Int32
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		if served.Add(1) > 1 {
			w.Write(data)
			return
		}
		src := &trickle{data: data}
		buf := make([]byte, 64<<10)
		for {
			n, err := src.Read(buf)
			if _, werr := w.Write(buf[:n]); werr != nil || err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	}))
}

// leaseOwner waits until a member holds a lease on the image's work and
// returns that member's name (the database through HAProxy).
func leaseOwner(t *testing.T, imageID string) string {
	t.Helper()
	var owner string
	eventually(t, 20*time.Second, func() (bool, string) {
		out, err := exec.Command("mysql", "--protocol=tcp", "-h127.0.0.10", "-P3310", "-uroot", "-N", "-B", "imagestack", "-e",
			fmt.Sprintf("SELECT owner FROM image_leases WHERE id = '%s' AND kind = 'upload'", imageID)).Output()
		owner, _, _ = strings.Cut(strings.TrimSpace(string(out)), "#")
		return err == nil && strings.HasPrefix(owner, "api-"), fmt.Sprintf("lease owner of %s: %q %v", imageID, out, err)
	})
	return owner
}

// inflightOp is one attempt of an upload or import of data to image id,
// slow for the first.
type inflightOp func(c *gophercloud.ServiceClient, id string, data []byte, slow bool) error

// inflightRun is an upload or import running in the background.
type inflightRun struct {
	res  inflight
	left time.Time // when the image left saving/importing after a failure
	done chan struct{}
}

func (r *inflightRun) id() string { return r.res.img.id }

// startInflight creates an image and runs op on it in the background: a
// failed attempt is retried (up to 3 times) once the image is no longer
// saving or importing (its owner's lease expired and a member recovered
// it), unless it turned active meanwhile.
func startInflight(t *testing.T, c *gophercloud.ServiceClient, name string, data []byte, op inflightOp) *inflightRun {
	t.Helper()
	im, err := images.Create(t.Context(), c, images.CreateOpts{Name: name, DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	r := &inflightRun{res: inflight{what: name, img: topoImage{id: im.ID, data: data}}, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for attempt := range 4 {
			err := op(c, im.ID, data, attempt == 0)
			if err == nil {
				r.res.failed = nil
				return
			}
			r.res.errs, r.res.failed = append(r.res.errs, err), err
			if status := waitNotBusy(c, im.ID); r.left.IsZero() {
				r.left = time.Now()
				if status == images.ImageStatusActive {
					r.res.failed = nil
					return
				}
			}
		}
	}()
	return r
}

// wait waits for the run's end and returns its result, with the time the
// image left saving/importing counted from killed.
func (r *inflightRun) wait(killed time.Time) inflight {
	select {
	case <-r.done:
	case <-time.After(2 * time.Minute):
		return inflight{what: r.res.what, img: r.res.img, failed: fmt.Errorf("still running after 2 minutes")}
	}
	res := r.res
	if !r.left.IsZero() {
		res.freed = r.left.Sub(killed)
	}
	return res
}

// waitNotBusy polls the image (every 100 ms, up to a minute) until it is
// neither saving nor importing and returns its status.
func waitNotBusy(c *gophercloud.ServiceClient, id string) images.ImageStatus {
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		im, err := images.Get(context.Background(), c, id).Extract()
		if err == nil && im.Status != images.ImageStatusSaving && im.Status != images.ImageStatusImporting {
			return im.Status
		}
	}
	return ""
}

// noneInFlight: no image of the deployment is saving or importing.
func noneInFlight(t *testing.T, tp *Topology) {
	t.Helper()
	admin, err := tp.ImageClient(t.Context(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	pages, err := images.List(admin, images.ListOpts{}).AllPages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	list, _ := images.ExtractImages(pages)
	for _, im := range list {
		if im.Status == images.ImageStatusSaving || im.Status == images.ImageStatusImporting {
			t.Errorf("image %s (%s) is still %s", im.ID, im.Name, im.Status)
		}
	}
	t.Logf("%d images in the deployment, none saving or importing", len(list))
}

// noOrphanBlobs lists the bucket: every object (and claim marker) belongs
// to an active image, and no multipart upload is left unfinished.
func noOrphanBlobs(t *testing.T, tp *Topology) {
	t.Helper()
	admin, err := tp.ImageClient(t.Context(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	s3, err := minio.New(tp.Env["TOPO_S3_ENDPOINT"], &minio.Options{
		Creds: credentials.NewStaticV4(tp.Env["TOPO_S3_ACCESS_KEY"], tp.Env["TOPO_S3_SECRET_KEY"], "")})
	if err != nil {
		t.Fatal(err)
	}
	bucket, objects := tp.Env["TOPO_S3_BUCKET"], 0
	for obj := range s3.ListObjects(t.Context(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatalf("listing the bucket: %v", obj.Err)
		}
		objects++
		key := strings.TrimPrefix(obj.Key, "locks/")
		id := key[:min(len(key), 36)]
		im, err := images.Get(t.Context(), admin, id).Extract()
		if err != nil || im.Status != images.ImageStatusActive {
			t.Errorf("orphan object %s in the bucket: image %s %v", obj.Key, imageStatusOf(im), err)
		}
	}
	for up := range s3.ListIncompleteUploads(t.Context(), bucket, "", true) {
		t.Errorf("unfinished multipart upload left in the bucket: %s %v", up.Key, up.Err)
	}
	t.Logf("bucket %s: %d objects, each of an active image", bucket, objects)
}

func imageStatusOf(im *images.Image) string {
	if im == nil {
		return "gone"
	}
	return string(im.Status)
}
