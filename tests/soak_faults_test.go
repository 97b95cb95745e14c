package tests

import (
	"context"
	"crypto/md5"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// engine is a private database or object store process that a test may
// stop, pause and restart at will (never the shared engines of `make test`,
// which other packages use at the same time).
type engine struct {
	t     *testing.T
	name  string
	argv  []string
	env   []string
	ready func() error
	cmd   *exec.Cmd
	log   *os.File
}

func (e *engine) start() {
	e.t.Helper()
	e.cmd = exec.Command(e.argv[0], e.argv[1:]...)
	e.cmd.Env = append(os.Environ(), e.env...)
	e.cmd.Stdout, e.cmd.Stderr = e.log, e.log
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := e.cmd.Start(); err != nil {
		e.t.Fatalf("start %s: %v", e.name, err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := e.ready()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s did not come up: %v", e.name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kill ends the process abruptly, as a crash or an OOM kill would.
func (e *engine) kill() {
	if e.cmd == nil {
		return
	}
	_ = e.cmd.Process.Signal(syscall.SIGKILL)
	_ = e.cmd.Wait()
	e.cmd = nil
}

// pause freezes the process (SIGSTOP): its sockets stay open and silent.
// It returns once every thread has stopped: one busy in the kernel (an
// fsync) stops only when it gets back, and may answer a request meanwhile.
func (e *engine) pause() {
	_ = e.cmd.Process.Signal(syscall.SIGSTOP)
	deadline := time.Now().Add(10 * time.Second)
	for !e.stopped() {
		if time.Now().After(deadline) {
			e.t.Fatalf("%s did not stop within 10 s of SIGSTOP", e.name)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stopped reports whether every thread of the process is stopped.
func (e *engine) stopped() bool {
	stats, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", e.cmd.Process.Pid))
	for _, p := range stats {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue // the thread ended
		}
		// The state follows the command name in parentheses.
		if i := strings.LastIndexByte(string(raw), ')'); i < 0 || i+2 >= len(raw) || raw[i+2] != 'T' {
			return false
		}
	}
	return len(stats) > 0
}

func (e *engine) resume() { _ = e.cmd.Process.Signal(syscall.SIGCONT) }

func newEngine(t *testing.T, name string, argv, env []string, ready func() error) *engine {
	log, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	e := &engine{t: t, name: name, argv: argv, env: env, ready: ready, log: log}
	t.Cleanup(func() {
		e.kill()
		log.Close()
	})
	e.start()
	return e
}

// startPrivateMariaDB initialises a data directory and runs mariadbd on a
// free port, without grant tables (any user may connect).
func startPrivateMariaDB(t *testing.T) (*engine, string) {
	t.Helper()
	for _, bin := range []string{"mariadb-install-db", "mariadbd"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is not installed: run `make test`, which installs MariaDB", bin)
		}
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if out, err := exec.Command("mariadb-install-db", "--no-defaults", "--datadir="+data, "--user=root",
		"--auth-root-authentication-method=normal", "--skip-test-db").CombinedOutput(); err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	addr := freePort(t)
	_, port, _ := net.SplitHostPort(addr)
	dsn := "root@tcp(" + addr + ")/"
	e := newEngine(t, "mariadbd", []string{"mariadbd", "--no-defaults", "--datadir=" + data, "--user=root",
		"--bind-address=127.0.0.1", "--port=" + port, "--socket=" + filepath.Join(dir, "mysqld.sock"),
		"--pid-file=" + filepath.Join(dir, "mysqld.pid"), "--skip-grant-tables", "--skip-name-resolve",
		"--innodb-buffer-pool-size=32M", "--innodb-log-file-size=16M"}, nil,
		func() error {
			db, err := sql.Open("mysql", dsn+"?timeout=1s")
			if err != nil {
				return err
			}
			defer db.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			return db.PingContext(ctx)
		})
	return e, "mysql://" + dsn + "imagestack"
}

// startPrivateMinIO runs the MinIO binary of `make test` on free ports.
func startPrivateMinIO(t *testing.T) (*engine, string) {
	t.Helper()
	bin, err := exec.LookPath("minio")
	if err != nil {
		t.Fatal("minio is not on PATH: run `make test`, which installs it")
	}
	addr, console := freePort(t), freePort(t)
	e := newEngine(t, "minio", []string{bin, "server", t.TempDir(), "--address", addr, "--console-address", console},
		[]string{"MINIO_ROOT_USER=imagestack", "MINIO_ROOT_PASSWORD=imagestack-secret", "MINIO_BROWSER=off"},
		func() error {
			resp, err := http.Get("http://" + addr + "/minio/health/ready")
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("health: %s", resp.Status)
			}
			return nil
		})
	return e, addr
}

// faultBound is the longest any request may take while an engine is
// stopped or paused: the database gives up on a statement after 10 s
// (common/db.StatementTimeout); the image store, configured here with a 2 s
// timeout and 2 attempts, within about 5 s.
const faultBound = 20 * time.Second

// probe is one request made while an engine is faulted, with the statuses
// it may answer.
type probe struct {
	name string
	do   func(ctx context.Context) (int, http.Header, error)
	want []int
}

// faultSoak is the server under test and what the test knows of it.
type faultSoak struct {
	t              *testing.T
	s              *Server
	db, store      *engine
	storeAddr      string
	demo, admin    apiClient
	compute        apiClient
	identity       apiClient
	active         map[string]string // image id -> md5 of its data
	failedUploads  []string          // images whose upload an outage failed: queued once it is over
	figures        map[string]int
	faults         int
	bootImage      string
	serversCreated []string
}

// TestSoakEngineFaults is the engine-fault part of the reliability suite:
// its own MariaDB and MinIO are paused (SIGSTOP) and killed and restarted
// while uploads, downloads, lists, token checks, logins and boots run.
// Every request answers within faultBound, failures are 503 with
// Retry-After (never a 500, never a 401 for a valid token), uploads cut off
// leave their image queued and no partial data, active images stay active
// and intact, a boot whose image cannot be fetched ends in ERROR with a
// fault and nothing half-downloaded in the host cache, and everything works
// again once the engine is back, without restarting the server. One cycle
// of each fault in `make test`, five in `make soak`.
func TestSoakEngineFaults(t *testing.T) {
	requireLibvirt(t)
	db, dsn := startPrivateMariaDB(t)
	store, storeAddr := startPrivateMinIO(t)
	s := NewServer(t, nil, fmt.Sprintf(`database: {dsn: %q}
image: {store: s3, s3: {endpoint: %q, bucket: images, access_key: imagestack, secret_key: imagestack-secret, create_bucket: true, part_size: 5242880, concurrency: 2, timeout: 2s, max_retries: 2}}
`, dsn, storeAddr))
	demo, admin := imageClient(t, s, "demo"), imageClient(t, s, "admin")
	fs := &faultSoak{t: t, s: s, db: db, store: store, storeAddr: storeAddr,
		demo:     newAPIClient(s.ImageURL, demo.TokenID, faultBound+10*time.Second),
		admin:    newAPIClient(s.ImageURL, admin.TokenID, faultBound+10*time.Second),
		compute:  newAPIClient(s.ComputeURL+"/v2.1", demo.TokenID, faultBound+10*time.Second),
		identity: newAPIClient(s.IdentityURL+"/v3", admin.TokenID, faultBound+10*time.Second),
		active:   map[string]string{}, figures: map[string]int{}}
	for range 3 {
		fs.newActiveImage(6 << 20)
	}
	start := time.Now()
	cycles := soakPick(1, 5)
	for i := range cycles {
		fs.storeFault(i == 0, "paused", store.pause, store.resume)
		fs.storeFault(false, "killed", store.kill, store.start)
		fs.dbFault("paused", db.pause, db.resume)
		fs.dbFault("killed", db.kill, db.start)
	}
	soakReport(t, "%d engine faults (MinIO and MariaDB each paused and killed, %d cycles) in %v; request outcomes: %v",
		fs.faults, cycles, time.Since(start).Round(time.Second), fs.figures)
}

// newActiveImage uploads size bytes and remembers the image as active.
func (fs *faultSoak) newActiveImage(size int) string {
	t := fs.t
	ctx := context.Background()
	id := fs.newQueuedImage()
	d := newDataSpec(uint64(time.Now().UnixNano()), size)
	if status, _, body, err := fs.demo.call(ctx, "PUT", "/v2/images/"+id+"/file", strings.NewReader(string(d.bytes()))); err != nil || status != http.StatusNoContent {
		t.Fatalf("upload: %d %v %s", status, err, body)
	}
	fs.active[id] = d.md5
	return id
}

func (fs *faultSoak) newQueuedImage() string {
	t := fs.t
	status, m, err := fs.demo.object(context.Background(), "POST", "/v2/images",
		map[string]any{"name": "fault", "disk_format": "raw", "container_format": "bare"})
	if err != nil || status != http.StatusCreated {
		t.Fatalf("create image: %d %v %v", status, err, m)
	}
	return str(m, "id")
}

// freshToken issues a demo token that the server has not validated yet (so
// it is not in its validation cache).
func (fs *faultSoak) freshToken() string {
	p, err := openstack.AuthenticatedClient(context.Background(), authOptions(fs.s, "demo"))
	if err != nil {
		fs.t.Fatal(err)
	}
	return p.TokenID
}

// runProbes runs the probes at once and checks each outcome.
func (fs *faultSoak) runProbes(fault string, probes []probe) {
	t := fs.t
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, p := range probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), faultBound+10*time.Second)
			defer cancel()
			start := time.Now()
			status, hdr, err := p.do(ctx)
			took := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			fs.figures[fmt.Sprint(status)]++
			switch {
			case err != nil:
				t.Errorf("%s, %s: %v after %v", fault, p.name, err, took.Round(time.Millisecond))
			case took > faultBound:
				t.Errorf("%s, %s: answered %d after %v, more than %v", fault, p.name, status, took.Round(time.Millisecond), faultBound)
			case !slices.Contains(p.want, status):
				t.Errorf("%s, %s: %d, want %v", fault, p.name, status, p.want)
			case status == http.StatusServiceUnavailable && hdr.Get("Retry-After") == "":
				t.Errorf("%s, %s: 503 without Retry-After", fault, p.name)
			}
		}()
	}
	wg.Wait()
}

func (fs *faultSoak) status(c apiClient, method, path string, body any, hdr ...string) func(context.Context) (int, http.Header, error) {
	return func(ctx context.Context) (int, http.Header, error) {
		status, h, _, err := c.call(ctx, method, path, body, hdr...)
		return status, h, err
	}
}

// slowUpload starts an upload that sends 256 KiB every 20 ms until stop
// is closed, then the rest; it reports the answer.
func (fs *faultSoak) slowUpload(id string, size int, stop <-chan struct{}) <-chan int {
	out := make(chan int, 1)
	pr, pw := io.Pipe()
	go func() {
		data := newDataSpec(uint64(time.Now().UnixNano()), size).bytes()
		chunk := 256 << 10
		for off := 0; off < len(data); off += chunk {
			select {
			case <-stop:
				chunk = len(data)
			default:
				time.Sleep(20 * time.Millisecond)
			}
			if _, err := pw.Write(data[off:min(off+chunk, len(data))]); err != nil {
				return
			}
		}
		pw.Close()
	}()
	go func() {
		status, _, _, err := fs.demo.call(context.Background(), "PUT", "/v2/images/"+id+"/file", pr)
		pr.CloseWithError(io.ErrClosedPipe)
		if err != nil {
			status = 0
		}
		out <- status
	}()
	return out
}

// storeFault takes MinIO away (paused or killed) while uploads, downloads,
// lists, a delete and (boot set) a server boot run, then brings it back.
func (fs *faultSoak) storeFault(boot bool, how string, fault, recover func()) {
	t := fs.t
	fault = fs.counted(fault)
	fault0 := "MinIO " + how
	ctx := context.Background()
	queued := fs.newQueuedImage()
	inflight := fs.newQueuedImage()
	var victim string
	for id := range fs.active {
		victim = id
		break
	}
	var bootImage string
	if boot {
		bootImage = fs.uploadBootImage()
	}
	stop := make(chan struct{})
	upload := fs.slowUpload(inflight, 24<<20, stop)
	time.Sleep(300 * time.Millisecond) // mid-body when the store goes
	fault()
	close(stop)
	probes := []probe{
		{"upload", fs.status(fs.demo, "PUT", "/v2/images/"+queued+"/file", strings.NewReader(strings.Repeat("x", 1<<20))), []int{503}},
		{"download", fs.status(fs.demo, "GET", "/v2/images/"+victim+"/file", nil), []int{503}},
		{"list images", fs.status(fs.demo, "GET", "/v2/images", nil), []int{200}},
		{"show image", fs.status(fs.demo, "GET", "/v2/images/"+victim, nil), []int{200}},
		{"delete image", fs.status(fs.demo, "DELETE", "/v2/images/"+victim, nil), []int{503}},
		{"list servers", fs.status(fs.compute, "GET", "/servers", nil), []int{200}},
		{"upload under way", func(context.Context) (int, http.Header, error) {
			select {
			case status := <-upload:
				return status, http.Header{"Retry-After": {"n/a"}}, nil
			case <-time.After(faultBound + time.Second):
				return 0, nil, fmt.Errorf("no answer")
			}
		}, []int{503, 0}},
	}
	var serverID string
	if boot {
		probes = append(probes, probe{"boot", func(ctx context.Context) (int, http.Header, error) {
			status, m, err := fs.compute.object(ctx, "POST", "/servers", map[string]any{"server": map[string]any{
				"name": "fault-boot", "imageRef": bootImage, "flavorRef": "42"}})
			if srv, ok := m["server"].(map[string]any); ok {
				serverID = str(srv, "id")
			}
			return status, nil, err
		}, []int{202}})
	}
	fs.runProbes(fault0, probes)
	fs.failedUploads = append(fs.failedUploads, queued, inflight)
	if boot {
		fs.waitServer(serverID, "ERROR", true)
		if _, err := os.Stat(filepath.Join(fs.s.StateDir, "compute", "base", bootImage)); err == nil {
			t.Errorf("a boot failed by the store left the image in the host cache")
		}
		if parts, _ := filepath.Glob(filepath.Join(fs.s.StateDir, "compute", "base", "*.part*")); len(parts) > 0 {
			t.Errorf("a boot failed by the store left partial downloads: %v", parts)
		}
	}
	recover()
	fs.recovered(fault0)
	if boot {
		status, m, err := fs.compute.object(ctx, "POST", "/servers", map[string]any{"server": map[string]any{
			"name": "after-fault", "imageRef": bootImage, "flavorRef": "42"}})
		if err != nil || status != http.StatusAccepted {
			t.Fatalf("boot after the store came back: %d %v %v", status, err, m)
		}
		id := str(m["server"].(map[string]any), "id")
		fs.waitServer(id, "ACTIVE", false)
		fs.compute.call(ctx, "DELETE", "/servers/"+serverID, nil)
		fs.compute.call(ctx, "DELETE", "/servers/"+id, nil)
	}
}

// dbFault takes MariaDB away (paused or killed) while every API family is
// used, then brings it back.
func (fs *faultSoak) dbFault(how string, fault, recover func()) {
	fault = fs.counted(fault)
	name := "MariaDB " + how
	queued := fs.newQueuedImage()
	inflight := fs.newQueuedImage()
	fresh := fs.freshToken()
	var victim string
	for id := range fs.active {
		victim = id
		break
	}
	freshImages := newAPIClient(fs.s.ImageURL, fresh, faultBound+10*time.Second)
	demoAuth := fs.s.Cloud("demo")
	login := map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{"user": map[string]any{
			"name": demoAuth["username"], "password": demoAuth["password"], "domain": map[string]any{"name": "Default"}}}},
		"scope": map[string]any{"project": map[string]any{"name": "demo", "domain": map[string]any{"name": "Default"}}}}}
	stop := make(chan struct{})
	upload := fs.slowUpload(inflight, 8<<20, stop)
	time.Sleep(300 * time.Millisecond)
	fault()
	close(stop)
	fs.runProbes(name, []probe{
		{"token not yet validated", fs.status(freshImages, "GET", "/v2/images", nil), []int{503}},
		{"list images", fs.status(fs.demo, "GET", "/v2/images", nil), []int{503}},
		{"show image", fs.status(fs.demo, "GET", "/v2/images/"+victim, nil), []int{503}},
		{"download", fs.status(fs.demo, "GET", "/v2/images/"+victim+"/file", nil), []int{503}},
		{"upload", fs.status(fs.demo, "PUT", "/v2/images/"+queued+"/file", strings.NewReader("data")), []int{503}},
		{"password login", fs.status(newAPIClient(fs.s.IdentityURL+"/v3", "", faultBound+10*time.Second), "POST", "/auth/tokens", login), []int{503}},
		{"list projects", fs.status(fs.identity, "GET", "/projects", nil), []int{503}},
		{"list servers", fs.status(fs.compute, "GET", "/servers/detail", nil), []int{503}},
		{"create server", fs.status(fs.compute, "POST", "/servers", map[string]any{"server": map[string]any{
			"name": "nope", "imageRef": victim, "flavorRef": "42"}}), []int{503}},
		{"upload under way", func(context.Context) (int, http.Header, error) {
			select {
			case status := <-upload:
				return status, http.Header{"Retry-After": {"n/a"}}, nil
			case <-time.After(faultBound + time.Second):
				return 0, nil, fmt.Errorf("no answer")
			}
		}, []int{503, 0}},
	})
	fs.failedUploads = append(fs.failedUploads, queued, inflight)
	recover()
	fs.recovered(name)
	if status, _, _, err := freshImages.call(context.Background(), "GET", "/v2/images", nil); err != nil || status != http.StatusOK {
		fs.t.Errorf("%s: the token refused during the outage, after it: %d %v", name, status, err)
	}
}

func (fs *faultSoak) counted(f func()) func() {
	return func() { fs.faults++; f() }
}

// recovered waits (without restarting the server) until it serves again,
// then checks that nothing was lost or left: every active image still
// active and intact, every image whose upload the outage cut off queued
// with no data, no object or unfinished upload in the bucket that no
// image owns.
func (fs *faultSoak) recovered(fault string) {
	t := fs.t
	ctx := context.Background()
	eventually(t, 60*time.Second, func() (bool, string) {
		status, _, _, err := fs.demo.call(ctx, "GET", "/v2/images", nil)
		return err == nil && status == http.StatusOK, fmt.Sprintf("after %s, list images: %d %v", fault, status, err)
	})
	for id, sum := range fs.active {
		eventually(t, 60*time.Second, func() (bool, string) {
			status, _, raw, err := fs.demo.call(ctx, "GET", "/v2/images/"+id+"/file", nil)
			got := md5.Sum(raw)
			return err == nil && status == http.StatusOK && hex.EncodeToString(got[:]) == sum,
				fmt.Sprintf("after %s, download of active image %s: %d %v (%d bytes)", fault, id, status, err, len(raw))
		})
	}
	for _, id := range fs.failedUploads {
		eventually(t, 60*time.Second, func() (bool, string) {
			_, m, err := fs.demo.object(ctx, "GET", "/v2/images/"+id, nil)
			return err == nil && str(m, "status") == "queued" && m["size"] == nil,
				fmt.Sprintf("after %s, image %s whose upload failed: %v %v size %v", fault, id, err, str(m, "status"), m["size"])
		})
	}
	mc, err := minio.New(fs.storeAddr, &minio.Options{Creds: credentials.NewStaticV4("imagestack", "imagestack-secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 90*time.Second, func() (bool, string) {
		var stray []string
		for o := range mc.ListObjects(ctx, "images", minio.ListObjectsOptions{Recursive: true}) {
			if o.Err != nil {
				return false, o.Err.Error()
			}
			if _, ok := fs.active[o.Key[:min(36, len(o.Key))]]; !ok {
				stray = append(stray, o.Key)
			}
		}
		for u := range mc.ListIncompleteUploads(ctx, "images", "", true) {
			stray = append(stray, "unfinished upload of "+u.Key)
		}
		return len(stray) == 0, fmt.Sprintf("after %s the bucket holds what no active image owns: %v", fault, stray)
	})
	fs.failedUploads = nil
	// The store's data is whole: a new upload and its download work.
	fs.newActiveImage(1 << 20)
}

// uploadBootImage uploads a tiny bootable disk, not yet in the host cache.
func (fs *faultSoak) uploadBootImage() string {
	id := fs.newQueuedImage()
	data, err := os.ReadFile(bootImage(fs.t, "FAULT-BOOT"))
	if err != nil {
		fs.t.Fatal(err)
	}
	if status, _, body, err := fs.demo.call(context.Background(), "PUT", "/v2/images/"+id+"/file", strings.NewReader(string(data))); err != nil || status != http.StatusNoContent {
		fs.t.Fatalf("boot image upload: %d %v %s", status, err, body)
	}
	sum := md5.Sum(data)
	fs.active[id] = hex.EncodeToString(sum[:])
	return id
}

// waitServer waits for a server status; with fault set it must carry one.
func (fs *faultSoak) waitServer(id, want string, fault bool) {
	eventually(fs.t, 2*time.Minute, func() (bool, string) {
		_, m, err := fs.compute.object(context.Background(), "GET", "/servers/"+id, nil)
		srv, _ := m["server"].(map[string]any)
		ok := err == nil && str(srv, "status") == want
		if ok && fault {
			f, _ := srv["fault"].(map[string]any)
			ok = str(f, "message") != ""
		}
		return ok, fmt.Sprintf("server %s: %v %v, want %s", id, err, srv["status"], want)
	})
}
