package tests

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/minio/minio-go/v7"

	"imagestack/common/db/dbtest"
)

// TestSoakCrash is the crash-safety part of the reliability suite: N
// uploads, stages, imports (glance-direct and web-download) and copies
// between a filesystem store and an S3 bucket run in rounds of a few at a
// time, and each round ends with SIGKILL at a different point of each: before
// the body starts, mid-body, right after the last byte, during import
// processing, during a copy. After every restart each image must be active
// with exactly the data sent (size, md5, sha512, readable from every store
// it lists), or queued with no data, or (staged for glance-direct)
// uploading; nothing saving or importing, no task still running, no blob
// that no image owns, no temporary or staging file left over and no
// unfinished multipart upload. N is 10 per database engine in `make test`
// (SQLite only) and 200 per engine in `make soak`.
func TestSoakCrash(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { runCrashSoak(t, "", soakPick(10, 200)) })
	if soakLong() {
		t.Run("mariadb", func(t *testing.T) { runCrashSoak(t, dbtest.MySQLDSN(t), 200) })
	}
}

// crashImage is what the test knows about one image.
type crashImage struct {
	id     string
	data   *dataSpec // what an upload or import in flight would store
	staged *dataSpec // what its stage sent (glance-direct)
	acked  bool      // the client was told its upload was stored
	status string    // as last verified
	stores []string  // as last verified
}

// crashSoak is one server and what the test drove it through.
type crashSoak struct {
	t       *testing.T
	s       *Server
	demo    apiClient
	admin   apiClient
	gopher  func(ctx context.Context, id string, r io.Reader) error
	mc      *minio.Client
	bucket  string
	web     *httptest.Server
	release chan struct{} // closed when a round ends: stalled web-downloads finish
	relMu   sync.Mutex
	rng     *rand.Rand
	seed    atomic.Uint64
	images  map[string]*crashImage
	mu      sync.Mutex

	ops       map[string]int // operations started, by kind
	outcomes  map[string]int // image status at the end
	recovered map[string]int // what restarts found interrupted, from the server's log
	kills     int
}

// recoveryLines are what the server logs for each interruption it repairs
// at start-up: proof that kills landed mid-operation.
var recoveryLines = map[string]string{
	"upload interrupted by a restart":             "uploads/imports",
	"copy of image data interrupted by a restart": "copies",
	"import task interrupted by a restart":        "tasks",
}

func runCrashSoak(t *testing.T, dsn string, n int) {
	endpoint, bucket, mc := soakBucket(t)
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("SOAK_SEED"), 10, 64); err == nil {
		seed = s
	}
	cs := &crashSoak{t: t, mc: mc, bucket: bucket, rng: rand.New(rand.NewPCG(seed, 7)),
		images: map[string]*crashImage{}, ops: map[string]int{}, outcomes: map[string]int{}, recovered: map[string]int{},
		release: make(chan struct{})}
	t.Logf("crash soak: SOAK_SEED=%d picks the same operations again", seed)
	cs.web = httptest.NewServer(http.HandlerFunc(cs.serveWeb))
	t.Cleanup(cs.web.Close)
	t.Cleanup(cs.endRound)
	db := ""
	if dsn != "" {
		db = fmt.Sprintf("database: {dsn: %q}\n", dsn)
	}
	cs.s = NewServer(t, nil, db+fmt.Sprintf(`image:
  web_download: {allowed_networks: ["127.0.0.0/8"]}
  default_store: fs
  stores:
    - {id: fs, type: file, description: "Local disk"}
    - {id: s3, type: s3, description: "Bucket", s3: {endpoint: %q, bucket: %q, access_key: %q, secret_key: %q, part_size: 5242880, concurrency: 2}}
`, endpoint, bucket, os.Getenv("TEST_MINIO_ACCESS_KEY"), os.Getenv("TEST_MINIO_SECRET_KEY")))
	demo, admin := imageClient(t, cs.s, "demo"), imageClient(t, cs.s, "admin")
	cs.demo = newAPIClient(cs.s.ImageURL, demo.TokenID, 2*time.Minute)
	cs.admin = newAPIClient(cs.s.ImageURL, admin.TokenID, 2*time.Minute)
	cs.gopher = func(ctx context.Context, id string, r io.Reader) error {
		return imagedata.Upload(ctx, demo, id, r).ExtractErr()
	}

	start := time.Now()
	for started := 0; started < n; {
		k := min(1+cs.rng.IntN(5), n-started)
		cs.round(k)
		started += k
		cs.verify(false)
	}
	cs.verify(true)
	var kinds []string
	for k, v := range cs.ops {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, v))
	}
	slices.Sort(kinds)
	soakReport(t, "%d operations, %d SIGKILLs and restarts in %v; operations: %s; interrupted work repaired at restart: %v; images at the end: %v",
		n, cs.kills, time.Since(start).Round(time.Second), strings.Join(kinds, ", "), cs.recovered, cs.outcomes)
}

// op is one operation of a round: arm brings it to the point where the
// kill should find it and then calls ready; whatever it does afterwards
// races the kill.
type op func(ready func())

// round runs k operations, kills the server once all are armed (after a
// little jitter), and restarts it.
func (cs *crashSoak) round(k int) {
	t := cs.t
	ops := make([]op, k)
	kinds := make([]string, k)
	for i := range ops {
		ops[i], kinds[i] = cs.pickOp()
	}
	var armed, done sync.WaitGroup
	armed.Add(k)
	done.Add(k)
	for _, o := range ops {
		go func() {
			defer done.Done()
			var once sync.Once
			o(func() { once.Do(armed.Done) })
			once.Do(armed.Done)
		}()
	}
	if !waitGroup(&armed, 20*time.Second) {
		pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
		cs.s.cmd.Process.Signal(syscall.SIGQUIT)
		time.Sleep(time.Second)
		t.Fatalf("operations %v did not arm in 20 s; server log:\n%s", kinds, cs.s.log.String())
	}
	time.Sleep(time.Duration(cs.rng.IntN(40)) * time.Millisecond)
	cs.s.Kill()
	cs.kills++
	cs.endRound()
	if !waitGroup(&done, time.Minute) {
		t.Fatal("operations still running a minute after the server was killed")
	}
	cs.relMu.Lock()
	cs.release = make(chan struct{})
	cs.relMu.Unlock()
	if cs.rng.IntN(4) == 0 {
		// Now and then the restart itself is killed, in its migrations,
		// bootstrap or repair of what the first kill interrupted.
		cs.s.killDuringStart(time.Duration(cs.rng.IntN(400)) * time.Millisecond)
		cs.kills++
	}
	cs.s.Start()
	for line, what := range recoveryLines {
		cs.recovered[what] += strings.Count(cs.s.log.String(), line)
	}
}

func (cs *crashSoak) endRound() {
	cs.relMu.Lock()
	defer cs.relMu.Unlock()
	select {
	case <-cs.release:
	default:
		close(cs.release)
	}
}

// killDuringStart starts the server and kills it after d, whatever it is
// doing then.
func (s *Server) killDuringStart(d time.Duration) {
	cmd := exec.Command(serverBin, "-config", s.ConfigPath)
	cmd.Env = append(append(os.Environ(), "STATE_DIR="+s.StateDir), s.Env...)
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	time.Sleep(d)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

// serverWarnings is what the server logged at WARN and above (the causes
// of 503s and 500s), for failure messages.
func (cs *crashSoak) serverWarnings() string {
	var out []string
	for _, l := range strings.Split(cs.s.log.String(), "\n") {
		if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
			out = append(out, l)
		}
	}
	return "\nserver warnings:\n" + strings.Join(out, "\n")
}

// currentRelease is closed when the current round's kill has happened.
func (cs *crashSoak) currentRelease() chan struct{} {
	cs.relMu.Lock()
	defer cs.relMu.Unlock()
	return cs.release
}

func waitGroup(wg *sync.WaitGroup, d time.Duration) bool {
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

// newData picks a size (empty now and then, mostly below the 5 MiB S3 part
// size, a quarter above it: multipart uploads) and makes the data.
func (cs *crashSoak) newData() *dataSpec {
	cs.mu.Lock()
	r := cs.rng.IntN(100)
	var size int
	switch {
	case r < 3:
		size = 0
	case r < 35:
		size = 1 + cs.rng.IntN(64<<10)
	case r < 75:
		size = 64<<10 + cs.rng.IntN(4<<20)
	default:
		size = 5<<20 + cs.rng.IntN(9<<20)
	}
	cs.mu.Unlock()
	d := newDataSpec(cs.seed.Add(1)+uint64(time.Now().UnixNano()), size)
	return &d
}

// store picks the store of an upload, and whether to name the default one.
func (cs *crashSoak) store() (string, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return []string{"fs", "s3"}[cs.rng.IntN(2)], cs.rng.IntN(2) == 0
}

// pickOp chooses the next operation and the image it works on.
func (cs *crashSoak) pickOp() (op, string) {
	cs.mu.Lock()
	kinds := []string{"upload:before-body", "upload:mid-body", "upload:end", "upload:complete", "upload:gophercloud",
		"stage:mid-body", "import:glance-direct", "import:web-download", "import:web-download-stalled", "copy"}
	kind := kinds[cs.rng.IntN(len(kinds))]
	// Some operations reuse an image a crash left queued or staged.
	var queued, staged, copyable []*crashImage
	for _, im := range cs.images {
		switch {
		case im.status == "queued":
			queued = append(queued, im)
		case im.status == "uploading" && im.staged != nil:
			staged = append(staged, im)
		case im.status == "active" && len(im.stores) == 1:
			copyable = append(copyable, im)
		}
	}
	reuse := func(from []*crashImage) *crashImage {
		if len(from) == 0 || cs.rng.IntN(3) == 0 {
			return nil
		}
		im := from[cs.rng.IntN(len(from))]
		im.status = "busy" // not picked twice in a round
		return im
	}
	var im *crashImage
	alreadyStaged := false
	switch {
	case kind == "copy":
		if im = reuse(copyable); im == nil {
			kind = "upload:complete" // nothing to copy yet
		}
	case kind == "import:glance-direct":
		im = reuse(staged)
		alreadyStaged = im != nil
	}
	if im == nil && kind != "copy" {
		im = reuse(queued)
	}
	cs.ops[kind]++
	cs.mu.Unlock()
	return func(ready func()) {
		if im == nil {
			im = cs.create()
			if im == nil {
				return
			}
		}
		switch {
		case strings.HasPrefix(kind, "upload:"):
			cs.upload(im, strings.TrimPrefix(kind, "upload:"), ready)
		case kind == "stage:mid-body":
			cs.stage(im, true, ready)
		case kind == "import:glance-direct":
			cs.importDirect(im, alreadyStaged, ready)
		case strings.HasPrefix(kind, "import:web-download"):
			cs.importWeb(im, strings.HasSuffix(kind, "stalled"), ready)
		case kind == "copy":
			cs.copyImage(im, ready)
		}
	}, kind
}

// create makes a new queued image.
func (cs *crashSoak) create() *crashImage {
	status, m, err := cs.demo.object(context.Background(), "POST", "/v2/images",
		map[string]any{"name": "crash", "disk_format": "raw", "container_format": "bare"})
	if err != nil || status != http.StatusCreated {
		cs.t.Errorf("create image: %d %v %v%s", status, err, m, cs.serverWarnings())
		return nil
	}
	im := &crashImage{id: str(m, "id"), status: "queued"}
	cs.mu.Lock()
	cs.images[im.id] = im
	cs.mu.Unlock()
	return im
}

// sender streams a request body: Write sends bytes, Finish ends the body
// and returns the response status, Abort drops the connection.
type sender interface {
	Write(p []byte) (int, error)
	Finish() (int, error)
	Abort()
}

// rawSender is a hand-written HTTP/1.1 request with Content-Length, so that
// the test controls exactly which bytes the server has seen.
type rawSender struct{ conn net.Conn }

func (cs *crashSoak) rawRequest(method, path, token string, length int, hdr ...string) (sender, error) {
	conn, err := net.Dial("tcp", strings.TrimPrefix(cs.s.ImageURL, "http://"))
	if err != nil {
		return nil, err
	}
	head := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n",
		method, path, token, length)
	for i := 0; i+1 < len(hdr); i += 2 {
		head += hdr[i] + ": " + hdr[i+1] + "\r\n"
	}
	if _, err := io.WriteString(conn, head+"\r\n"); err != nil {
		conn.Close()
		return nil, err
	}
	return rawSender{conn}, nil
}

func (r rawSender) Write(p []byte) (int, error) { return r.conn.Write(p) }
func (r rawSender) Abort()                      { r.conn.Close() }
func (r rawSender) Finish() (int, error) {
	defer r.conn.Close()
	_ = r.conn.SetReadDeadline(time.Now().Add(2 * time.Minute))
	resp, err := http.ReadResponse(bufio.NewReader(r.conn), nil)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// pipeSender streams a chunked body through net/http (or gophercloud).
type pipeSender struct {
	pw     *io.PipeWriter
	result chan pipeResult
}

type pipeResult struct {
	status int
	err    error
}

func newPipeSender(do func(body io.Reader) (int, error)) *pipeSender {
	pr, pw := io.Pipe()
	p := &pipeSender{pw: pw, result: make(chan pipeResult, 1)}
	go func() {
		status, err := do(pr)
		pr.CloseWithError(fmt.Errorf("request ended"))
		p.result <- pipeResult{status, err}
	}()
	return p
}

func (p *pipeSender) Write(b []byte) (int, error) { return p.pw.Write(b) }
func (p *pipeSender) Abort()                      { p.pw.CloseWithError(fmt.Errorf("aborted")) }
func (p *pipeSender) Finish() (int, error) {
	p.pw.Close()
	r := <-p.result
	return r.status, r.err
}

// sendTo starts an upload (or stage) of length bytes to path: raw with
// Content-Length, or chunked through net/http, or through gophercloud.
func (cs *crashSoak) sendTo(path string, length int, via string, hdr ...string) (sender, error) {
	switch via {
	case "raw":
		return cs.rawRequest("PUT", path, cs.demo.token, length, hdr...)
	case "gophercloud":
		id := strings.Split(path, "/")[3]
		return newPipeSender(func(body io.Reader) (int, error) {
			if err := cs.gopher(context.Background(), id, body); err != nil {
				return 0, err
			}
			return http.StatusNoContent, nil
		}), nil
	}
	return newPipeSender(func(body io.Reader) (int, error) {
		status, _, _, err := cs.demo.call(context.Background(), "PUT", path, body, hdr...)
		return status, err
	}), nil
}

// waitStatus polls the image until it reaches one of want (or 10 s pass).
func (cs *crashSoak) waitStatus(id string, want ...string) string {
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, m, err := cs.demo.object(context.Background(), "GET", "/v2/images/"+id, nil)
		if err == nil && slices.Contains(want, str(m, "status")) {
			return str(m, "status")
		}
		if time.Now().After(deadline) {
			cs.t.Logf("image %s still %s after 10 s, want %v", id, str(m, "status"), want)
			return str(m, "status")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// upload drives PUT /file to the point named by phase.
func (cs *crashSoak) upload(im *crashImage, phase string, ready func()) {
	data := cs.newData()
	cs.mu.Lock()
	im.data = data
	via := []string{"raw", "http"}[cs.rng.IntN(2)]
	cut := 0
	if data.size > 1 {
		cut = 1 + cs.rng.IntN(data.size-1)
	}
	cs.mu.Unlock()
	var hdr []string
	if phase == "gophercloud" {
		via = "gophercloud"
	} else if st, named := cs.store(); st != "fs" || named {
		hdr = []string{"X-Image-Meta-Store", st}
	}
	snd, err := cs.sendTo("/v2/images/"+im.id+"/file", data.size, via, hdr...)
	if err != nil {
		cs.t.Errorf("upload %s: %v", im.id, err)
		return
	}
	body := data.bytes()
	switch phase {
	case "before-body":
		cs.waitStatus(im.id, "saving", "active")
		ready()
		<-cs.currentRelease() // the kill comes first
		snd.Abort()
		return
	case "mid-body", "gophercloud":
		_, _ = snd.Write(body[:cut])
		cs.waitStatus(im.id, "saving", "active")
		ready()
		for off := cut; off < len(body); off += 64 << 10 { // the kill lands somewhere in the rest
			if _, err := snd.Write(body[off:min(off+64<<10, len(body))]); err != nil {
				snd.Abort()
				return
			}
			time.Sleep(time.Millisecond)
		}
	case "end":
		_, _ = snd.Write(body)
		ready()
	case "complete":
		_, _ = snd.Write(body)
	}
	status, err := snd.Finish()
	if err == nil && status == http.StatusNoContent {
		cs.mu.Lock()
		im.acked = true
		cs.mu.Unlock()
	}
}

// stage sends data for glance-direct; with mid set the kill finds it
// mid-body, else it completes.
func (cs *crashSoak) stage(im *crashImage, mid bool, ready func()) bool {
	data := cs.newData()
	cs.mu.Lock()
	im.staged = data
	cut := 0
	if data.size > 1 {
		cut = 1 + cs.rng.IntN(data.size-1)
	}
	via := []string{"raw", "http"}[cs.rng.IntN(2)]
	cs.mu.Unlock()
	snd, err := cs.sendTo("/v2/images/"+im.id+"/stage", data.size, via)
	if err != nil {
		cs.t.Errorf("stage %s: %v", im.id, err)
		return false
	}
	body := data.bytes()
	if mid {
		_, _ = snd.Write(body[:cut])
		cs.waitStatus(im.id, "uploading")
		ready()
		_, _ = snd.Write(body[cut:])
	} else {
		_, _ = snd.Write(body)
	}
	status, err := snd.Finish()
	return err == nil && status == http.StatusNoContent
}

// importStores picks the stores an import writes to: the default, one
// named store, or both.
func (cs *crashSoak) importStores(req map[string]any) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	switch cs.rng.IntN(3) {
	case 1:
		req["stores"] = []string{[]string{"fs", "s3"}[cs.rng.IntN(2)]}
	case 2:
		req["stores"] = []string{"fs", "s3"}
	}
}

// importDirect stages (unless the image already is) and imports; the kill
// finds the import processing.
func (cs *crashSoak) importDirect(im *crashImage, alreadyStaged bool, ready func()) {
	if !alreadyStaged {
		if !cs.stage(im, false, func() {}) {
			return
		}
	}
	cs.mu.Lock()
	im.data = im.staged
	cs.mu.Unlock()
	req := map[string]any{"method": map[string]any{"name": "glance-direct"}}
	cs.importStores(req)
	if status, m, err := cs.demo.object(context.Background(), "POST", "/v2/images/"+im.id+"/import", req); err != nil || status != http.StatusAccepted {
		if err == nil && status != http.StatusConflict { // a staged image a crash emptied may refuse
			cs.t.Errorf("glance-direct import of %s: %d %v%s", im.id, status, m, cs.serverWarnings())
		}
	}
	ready()
}

// importWeb imports from the test's web server; stalled, the download
// stops halfway until the round ends, so the kill finds it processing.
func (cs *crashSoak) importWeb(im *crashImage, stalled bool, ready func()) {
	data := cs.newData()
	cs.mu.Lock()
	im.data = data
	cs.mu.Unlock()
	uri := fmt.Sprintf("%s/data/%d/%d", cs.web.URL, data.seed, data.size)
	if stalled {
		uri += "?stall=" + im.id
	}
	req := map[string]any{"method": map[string]any{"name": "web-download", "uri": uri}}
	cs.importStores(req)
	if status, m, err := cs.demo.object(context.Background(), "POST", "/v2/images/"+im.id+"/import", req); err != nil || status != http.StatusAccepted {
		cs.t.Errorf("web-download import of %s: %d %v %v%s", im.id, status, err, m, cs.serverWarnings())
		ready()
		return
	}
	if stalled {
		cs.waitStatus(im.id, "importing")
		deadline := time.Now().Add(10 * time.Second)
		for !cs.stalling(im.id) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}
	ready()
}

// copyImage copies an active image to the store it lacks (admin).
func (cs *crashSoak) copyImage(im *crashImage, ready func()) {
	target := "s3"
	if slices.Contains(im.stores, "s3") {
		target = "fs"
	}
	req := map[string]any{"method": map[string]any{"name": "copy-image"}, "stores": []string{target}}
	if status, m, err := cs.admin.object(context.Background(), "POST", "/v2/images/"+im.id+"/import", req); err != nil || status != http.StatusAccepted {
		cs.t.Errorf("copy-image of %s to %s: %d %v %v%s", im.id, target, status, err, m, cs.serverWarnings())
	}
	ready()
}

var stalls sync.Map // image id -> true while its web-download is stalled

func (cs *crashSoak) stalling(id string) bool { _, ok := stalls.Load(id); return ok }

// serveWeb serves /data/<seed>/<size>, stalling halfway with ?stall=<image>.
func (cs *crashSoak) serveWeb(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/data/"), "/")
	if len(parts) != 2 {
		http.NotFound(w, r)
		return
	}
	seed, _ := strconv.ParseUint(parts[0], 10, 64)
	size, _ := strconv.Atoi(parts[1])
	data := dataSpec{seed: seed, size: size}.bytes()
	w.Header().Set("Content-Length", strconv.Itoa(size))
	id := r.URL.Query().Get("stall")
	if id == "" {
		w.Write(data)
		return
	}
	w.Write(data[:size/2])
	w.(http.Flusher).Flush()
	stalls.Store(id, true)
	defer stalls.Delete(id)
	release := cs.currentRelease()
	select {
	case <-r.Context().Done():
	case <-release:
	}
}

// storedBlobs lists the blobs of the filesystem store, the bucket and the
// staging area by image id, and what must never be left: temporary files,
// writer claims and unfinished multipart uploads.
type storedBlobs struct {
	fs, s3, staging map[string][]int64
	leftovers       []string
}

func (cs *crashSoak) blobs() storedBlobs {
	t := cs.t
	b := storedBlobs{fs: map[string][]int64{}, s3: map[string][]int64{}, staging: map[string][]int64{}}
	for dir, into := range map[string]map[string][]int64{
		filepath.Join(cs.s.StateDir, "stores", "fs"): b.fs, filepath.Join(cs.s.StateDir, "staging"): b.staging} {
		entries, err := os.ReadDir(filepath.Join(dir, "blobs"))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, e := range entries {
			info, _ := e.Info()
			id := e.Name()[:min(36, len(e.Name()))]
			into[id] = append(into[id], info.Size())
		}
		tmp, _ := os.ReadDir(filepath.Join(dir, "tmp"))
		for _, e := range tmp {
			b.leftovers = append(b.leftovers, "temporary file "+filepath.Join(dir, "tmp", e.Name()))
		}
	}
	ctx := context.Background()
	for o := range cs.mc.ListObjects(ctx, cs.bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if strings.Contains(o.Key, "/") {
			b.leftovers = append(b.leftovers, "object "+o.Key)
			continue
		}
		b.s3[o.Key[:min(36, len(o.Key))]] = append(b.s3[o.Key[:min(36, len(o.Key))]], o.Size)
	}
	for u := range cs.mc.ListIncompleteUploads(ctx, cs.bucket, "", true) {
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		b.leftovers = append(b.leftovers, "unfinished multipart upload of "+u.Key)
	}
	return b
}

// verify checks every image and the stores after a restart; full also
// reads each copy of every active image back.
func (cs *crashSoak) verify(full bool) {
	t := cs.t
	t.Helper()
	ctx := context.Background()
	list, err := cs.demo.allImages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := cs.blobs()
	for _, l := range b.leftovers {
		t.Errorf("left over after a crash: %s", l)
	}
	seen := map[string]bool{}
	for _, m := range list {
		id, status := str(m, "id"), str(m, "status")
		seen[id] = true
		im := cs.images[id]
		if im == nil {
			t.Errorf("unknown image %s (%s)", id, status)
			continue
		}
		var stores []string
		if s := str(m, "stores"); s != "" {
			stores = strings.Split(s, ",")
		}
		if full {
			cs.outcomes[status]++
		}
		switch status {
		case "active":
			cs.checkActive(im, m, stores, b, full)
		case "queued":
			if m["size"] != nil || m["checksum"] != nil || m["os_hash_value"] != nil || len(stores) > 0 {
				t.Errorf("queued image %s shows data: size %v checksum %v stores %v", id, m["size"], m["checksum"], stores)
			}
			if len(b.fs[id])+len(b.s3[id])+len(b.staging[id]) > 0 {
				t.Errorf("queued image %s still has data stored (fs %v, s3 %v, staging %v)", id, b.fs[id], b.s3[id], b.staging[id])
			}
			if im.acked {
				t.Errorf("image %s is queued although its upload was answered 204", id)
			}
		case "uploading":
			staged := b.staging[id]
			if im.staged == nil || len(staged) > 1 || (len(staged) == 1 && int64(im.staged.size) != staged[0]) {
				t.Errorf("staged image %s: staging holds %v, the stage sent %v", id, staged, im.staged)
			}
			if m["size"] != nil && len(staged) == 0 {
				t.Errorf("staged image %s shows size %v but its staged data is gone", id, m["size"])
			}
			if len(b.fs[id])+len(b.s3[id]) > 0 {
				t.Errorf("staged image %s has data in a store (fs %v, s3 %v)", id, b.fs[id], b.s3[id])
			}
		default:
			t.Errorf("image %s is %s after a restart", id, status)
		}
		if status != "uploading" && len(b.staging[id]) > 0 {
			t.Errorf("image %s is %s but staging still holds its data", id, status)
		}
		im.status, im.stores, im.acked = status, stores, im.acked && status == "active"
	}
	for id, im := range cs.images {
		if !seen[id] {
			t.Errorf("image %s (%s) disappeared", id, im.status)
		}
	}
	for _, where := range []map[string][]int64{b.fs, b.s3, b.staging} {
		for id := range where {
			if !seen[id] {
				t.Errorf("orphan blob of unknown image %s", id)
			}
		}
	}
	status, body, err := cs.admin.object(ctx, "GET", "/v2/tasks", nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("tasks: %d %v", status, err)
	}
	tasks, _ := body["tasks"].([]any)
	for _, x := range tasks {
		if task, _ := x.(map[string]any); str(task, "status") == "pending" || str(task, "status") == "processing" {
			t.Errorf("task %s of image %s still %s after a restart", str(task, "id"), str(task, "image_id"), str(task, "status"))
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// checkActive: the right digests, one complete blob in each listed store
// and none elsewhere, and (full) every copy reads back intact.
func (cs *crashSoak) checkActive(im *crashImage, m map[string]any, stores []string, b storedBlobs, full bool) {
	t := cs.t
	id := im.id
	d := im.data
	if d == nil {
		t.Errorf("image %s is active but no data was ever sent to it", id)
		return
	}
	size, _ := m["size"].(float64)
	if int(size) != d.size || str(m, "checksum") != d.md5 || str(m, "os_hash_algo") != "sha512" || str(m, "os_hash_value") != d.sha {
		t.Errorf("active image %s: size %v checksum %v os_hash %v/%.16s..., want %d %s sha512/%.16s...",
			id, m["size"], m["checksum"], m["os_hash_algo"], str(m, "os_hash_value"), d.size, d.md5, d.sha)
	}
	if len(stores) == 0 {
		t.Errorf("active image %s lists no store", id)
	}
	for _, st := range []string{"fs", "s3"} {
		blobs := map[string]map[string][]int64{"fs": b.fs, "s3": b.s3}[st][id]
		listed := slices.Contains(stores, st)
		switch {
		case listed && (len(blobs) != 1 || blobs[0] != int64(d.size)):
			t.Errorf("active image %s lists store %s, which holds %v (want one blob of %d bytes)", id, st, blobs, d.size)
		case !listed && len(blobs) > 0:
			t.Errorf("orphan: store %s holds %v for image %s, which lists only %v", st, blobs, id, stores)
		}
	}
	if !full {
		return
	}
	_, _, raw, err := cs.demo.call(context.Background(), "GET", "/v2/images/"+id+"/file", nil)
	if sum := md5.Sum(raw); err != nil || hex.EncodeToString(sum[:]) != d.md5 {
		t.Errorf("download of %s: %d bytes, md5 %x, err %v; want %s", id, len(raw), sum, err, d.md5)
	}
	for _, st := range stores {
		if got := cs.blobMD5(st, id); got != d.md5 {
			t.Errorf("copy of %s in store %s has md5 %s, want %s", id, st, got, d.md5)
		}
	}
}

// blobMD5 reads an image's blob straight from a store.
func (cs *crashSoak) blobMD5(store, id string) string {
	h := md5.New()
	if store == "fs" {
		matches, _ := filepath.Glob(filepath.Join(cs.s.StateDir, "stores", "fs", "blobs", id+"-*"))
		if len(matches) != 1 {
			return fmt.Sprintf("%d blobs", len(matches))
		}
		f, err := os.Open(matches[0])
		if err != nil {
			return err.Error()
		}
		defer f.Close()
		io.Copy(h, f)
		return hex.EncodeToString(h.Sum(nil))
	}
	ctx := context.Background()
	for o := range cs.mc.ListObjects(ctx, cs.bucket, minio.ListObjectsOptions{Prefix: id + "-"}) {
		obj, err := cs.mc.GetObject(ctx, cs.bucket, o.Key, minio.GetObjectOptions{})
		if err != nil {
			return err.Error()
		}
		io.Copy(h, obj)
		obj.Close()
		return hex.EncodeToString(h.Sum(nil))
	}
	return "no object"
}
