package service_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"imagestack/common/cluster"
	"imagestack/glance"
	"imagestack/glance/glancetest"
	"imagestack/glance/service"
	"imagestack/glance/webfetch"
	"imagestack/storage"
	"imagestack/storage/filesystem"
)

// Several image service members (API replicas) over one database and the
// same two stores "a" and "b", as a deployment runs them.
type replicas struct {
	setup      *glancetest.Setup
	a, b       *filesystem.Store
	aDir, bDir string
	web        string // a web server with 1 KiB at /disk.raw
	recovered  sync.Map
	ctx        context.Context
	// gate holds stalled writes until release (or the test's end).
	gate    chan struct{}
	release func()
}

// eachEngine runs body on SQLite and on MariaDB (engine holds the option
// that selects it).
func eachEngine(t *testing.T, body func(t *testing.T, engine []glancetest.Option)) {
	t.Run("sqlite", func(t *testing.T) { body(t, nil) })
	t.Run("mysql", func(t *testing.T) { body(t, []glancetest.Option{glancetest.WithMariaDB()}) })
}

func newReplicas(t *testing.T, engine []glancetest.Option) *replicas {
	t.Helper()
	r := &replicas{ctx: context.Background(), gate: make(chan struct{})}
	r.release = sync.OnceFunc(func() { close(r.gate) })
	t.Cleanup(r.release)
	r.a, r.aDir = glancetest.NewFS(t)
	r.b, r.bDir = glancetest.NewFS(t)
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write(bytes.Repeat([]byte("web!"), 256))
	}))
	t.Cleanup(web.Close)
	r.web = web.URL + "/disk.raw"
	f := webfetch.New(webfetch.Policy{AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	r.setup = glancetest.NewSetup(t, append(engine, glancetest.WithImport(), glancetest.WithFetcher(f),
		glancetest.WithStores("a", backend("a", r.a), backend("b", r.b)))...)
	return r
}

func backend(id string, st storage.Store) service.Backend {
	return service.Backend{StoreInfo: service.StoreInfo{ID: id, Type: "file"}, Store: st}
}

// member is one more replica named name with lease time to live ttl; with
// stall its writes to the stores hang half-way, as those of a process that
// died mid-write (stalled receives the key of each).
func (r *replicas) member(t *testing.T, name string, ttl time.Duration, stalled chan string) *service.Service {
	t.Helper()
	return r.setup.Rebuild(t, func(d *service.Deps, cfg *service.Config) {
		d.Member, cfg.LeaseTTL = cluster.NewMember(name, "", nil), ttl
		d.OnLeaseRecovered = func(kind string) {
			n, _ := r.recovered.LoadOrStore(kind, new(atomic.Int32))
			n.(*atomic.Int32).Add(1)
		}
		if stalled != nil {
			d.Stores = []service.Backend{backend("a", &stallingStore{r.a, r.aDir, stalled, r.gate}),
				backend("b", &stallingStore{r.b, r.bDir, stalled, r.gate})}
			d.Staging = &stallingStore{r.setup.Staging, r.setup.StagingDir, stalled, r.gate}
		}
	})
}

func (r *replicas) count(kind string) int32 {
	n, ok := r.recovered.Load(kind)
	if !ok {
		return 0
	}
	return n.(*atomic.Int32).Load()
}

// stallingStore writes a few bytes of each Put under its key, then hangs
// until the test ends: the partial data a process that died mid-write
// leaves behind.
type stallingStore struct {
	*filesystem.Store
	dir     string
	stalled chan<- string
	gate    <-chan struct{}
}

func (s *stallingStore) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	buf := make([]byte, 3)
	n, _ := io.ReadFull(r, buf)
	if err := os.WriteFile(filepath.Join(s.dir, "blobs", key), buf[:n], 0o600); err != nil {
		return 0, err
	}
	s.stalled <- key
	<-s.gate
	return int64(n), storage.ErrUnavailable
}

func blobCount(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func (r *replicas) newImage(t *testing.T, svc *service.Service) *glance.Image {
	t.Helper()
	name, disk, container := "x", "raw", "bare"
	im, err := svc.Create(r.ctx, svc.NewCaller(admin), glance.NewImage{Name: &name, DiskFormat: &disk, ContainerFormat: &container})
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func (r *replicas) image(t *testing.T, id string) *glance.Image {
	t.Helper()
	im, err := r.setup.Repo.Get(r.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// A member's start-up and recovery passes never touch the live upload of
// another member that renews its lease: the upload completes.
func TestLiveLeaseIsNotRecovered(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine []glancetest.Option) {
		r := newReplicas(t, engine)
		ctx, cancel := context.WithCancel(r.ctx)
		defer cancel()
		a := r.member(t, "replica-a", 300*time.Millisecond, nil)
		go a.RunLeases(ctx)
		im := r.newImage(t, a)
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			_, err := a.Upload(r.ctx, a.NewCaller(admin), im.ID, pr, "a")
			done <- err
		}()
		pw.Write(make([]byte, 64<<10))
		// B starts while A's upload runs, for five lease times to live.
		b := r.member(t, "replica-b", 300*time.Millisecond, nil)
		if n, err := b.RecoverInterrupted(r.ctx); err != nil || n != 0 {
			t.Fatalf("start-up of B recovered %d: %v", n, err)
		}
		go b.RunLeases(ctx)
		for range 30 {
			time.Sleep(50 * time.Millisecond)
			pw.Write(make([]byte, 64<<10))
		}
		pw.Close()
		if err := <-done; err != nil {
			t.Fatalf("A's upload: %v", err)
		}
		if got := r.image(t, im.ID); got.Status != glance.StatusActive || *got.Size != 31*64<<10 {
			t.Fatalf("A's image: %s %v", got.Status, got.Size)
		}
		if n := r.count(glance.LeaseUpload); n != 0 || a.LeasesHeld() != 0 {
			t.Fatalf("%d uploads recovered; A holds %d leases", n, a.LeasesHeld())
		}
	})
}

// deadWork is what a member that died mid-way left: an upload, a stage, a
// web-download import and a copy to store b of an active image, each
// with partial data written.
type deadWork struct {
	active, uploading, importing, staging *glance.Image
	tasks                                 []string
}

// stallWork has a (whose writes stall) start deadWork.
func (r *replicas) stallWork(t *testing.T, a *service.Service, stalled chan string) deadWork {
	t.Helper()
	seed, c := r.setup.Service, a.NewCaller(admin)
	w := deadWork{active: r.newImage(t, seed), uploading: r.newImage(t, a), importing: r.newImage(t, a), staging: r.newImage(t, a)}
	if _, err := seed.Upload(r.ctx, seed.NewCaller(admin), w.active.ID, strings.NewReader("some image data"), "a"); err != nil {
		t.Fatal(err)
	}
	go a.Upload(r.ctx, c, w.uploading.ID, bytes.NewReader(make([]byte, 4096)), "a")
	go a.Stage(r.ctx, c, w.staging.ID, bytes.NewReader(make([]byte, 4096)))
	for im, req := range map[*glance.Image]service.ImportRequest{
		w.importing: {Method: glance.ImportWebDownload, URI: r.web, Stores: []string{"a"}},
		w.active:    {Method: glance.ImportCopyImage, Stores: []string{"b"}},
	} {
		task, err := a.Import(r.ctx, c, im.ID, req, "req")
		if err != nil {
			t.Fatal(err)
		}
		w.tasks = append(w.tasks, task.ID)
	}
	for range 4 {
		<-stalled
	}
	return w
}

// partial counts the blobs in stores a and b and in the staging area.
func (r *replicas) partial(t *testing.T) [3]int {
	return [3]int{blobCount(t, r.aDir), blobCount(t, r.bDir), blobCount(t, r.setup.StagingDir)}
}

// When a member stops renewing (it died), its upload, stage, import task
// and copy are recovered once its leases expired, by exactly one of two
// members racing: images back to queued, partial data gone, tasks failed.
func TestExpiredLeasesRecoveredOnce(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine []glancetest.Option) {
		r := newReplicas(t, engine)
		stalled := make(chan string, 4)
		a := r.member(t, "replica-a", 300*time.Millisecond, stalled) // never renews
		w := r.stallWork(t, a, stalled)
		if got := r.partial(t); got != [3]int{3, 1, 1} { // a: the active image, the upload, the import
			t.Fatalf("partial data in a, b, staging: %v", got)
		}
		time.Sleep(400 * time.Millisecond)
		var wg sync.WaitGroup
		for _, m := range []*service.Service{r.member(t, "replica-b", time.Minute, nil), r.member(t, "replica-c", time.Minute, nil)} {
			wg.Go(func() {
				if _, err := m.RecoverInterrupted(r.ctx); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		up, stage, tasks, copies := r.count(glance.LeaseUpload), r.count(glance.LeaseStage), r.count(glance.LeaseTask), r.count(glance.LeaseCopy)
		if up != 2 || stage != 1 || tasks != 2 || copies != 1 {
			t.Fatalf("recovered %d uploads, %d stages, %d tasks, %d copies; want 2, 1, 2, 1", up, stage, tasks, copies)
		}
		for _, id := range []string{w.uploading.ID, w.importing.ID, w.staging.ID} {
			if got := r.image(t, id); got.Status != glance.StatusQueued || len(got.Locations) != 0 {
				t.Fatalf("image %s after recovery: %s %v", id, got.Status, got.Locations)
			}
		}
		if got := r.image(t, w.active.ID); got.Status != glance.StatusActive || len(got.Locations) != 1 || got.Properties["os_glance_failed_import"] != "b" {
			t.Fatalf("copied image after recovery: %s %v %v", got.Status, got.Locations, got.Properties)
		}
		if got := r.partial(t); got != [3]int{1, 0, 0} {
			t.Fatalf("partial data left in a (1 is the active image's), b, staging: %v", got)
		}
		for _, id := range w.tasks {
			if task, err := r.setup.Repo.GetTask(r.ctx, id); err != nil || task.Status != glance.TaskFailure || !strings.Contains(task.Message, "interrupted") {
				t.Fatalf("task after recovery: %+v %v", task, err)
			}
		}
		// Once A's writes end, nothing A does undoes the recovery.
		r.release()
		a.WaitImports()
		if got := r.image(t, w.importing.ID); got.Status != glance.StatusQueued || r.partial(t) != [3]int{1, 0, 0} {
			t.Fatalf("after A's import ended: %s, partial data %v", got.Status, r.partial(t))
		}
	})
}

// A member restarted under the same name recovers its former self's work
// at once, without waiting for the lease; another member leaves it alone
// until it expires.
func TestRestartRecoversOwnWorkAtOnce(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine []glancetest.Option) {
		r := newReplicas(t, engine)
		stalled := make(chan string, 1)
		a := r.member(t, "replica-a", time.Minute, stalled)
		im := r.newImage(t, a)
		go a.Upload(r.ctx, a.NewCaller(admin), im.ID, bytes.NewReader(make([]byte, 4096)), "a")
		<-stalled
		other := r.member(t, "replica-b", time.Minute, nil)
		if n, err := other.RecoverInterrupted(r.ctx); err != nil || n != 0 || r.image(t, im.ID).Status != glance.StatusSaving {
			t.Fatalf("another member recovered %d (%v) of a live lease", n, err)
		}
		again := r.member(t, "replica-a", time.Minute, nil)
		if n, err := again.RecoverInterrupted(r.ctx); err != nil || n != 1 {
			t.Fatalf("restart recovered %d: %v", n, err)
		}
		if got := r.image(t, im.ID); got.Status != glance.StatusQueued || blobCount(t, r.aDir) != 0 {
			t.Fatalf("after restart: %s, %d blobs", got.Status, blobCount(t, r.aDir))
		}
		// The image takes a new upload at once.
		if _, err := again.Upload(r.ctx, again.NewCaller(admin), im.ID, strings.NewReader("data"), "a"); err != nil {
			t.Fatal(err)
		}
	})
}
