package service_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"imagestack/glance"
	glancedb "imagestack/glance/db"
	"imagestack/glance/glancetest"
	"imagestack/glance/service"
	"imagestack/policy"
	"imagestack/storage"
	"imagestack/storage/filesystem"
)

type env struct {
	setup *glancetest.Setup
	svc   *service.Service
	repo  *glancedb.Repo
	fs    *filesystem.Store
	store *faultyStore
	dir   string
	ctx   context.Context
}

// faultyStore wraps a real store and can fail Puts after some bytes.
type faultyStore struct {
	storage.Store
	mu        sync.Mutex
	failAfter int64 // -1: never
	failWith  error
}

type failingAfter struct {
	r   io.Reader
	n   int64
	err error
}

func (f *failingAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	return n, err
}

func (f *faultyStore) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	f.mu.Lock()
	limit, failErr := f.failAfter, f.failWith
	f.mu.Unlock()
	if limit >= 0 {
		n, err := f.Store.Put(ctx, key, &failingAfter{r: r, n: limit, err: failErr})
		if err != nil {
			// The real store already cleaned up; report the backend's kind.
			return n, failErr
		}
		return n, nil
	}
	return f.Store.Put(ctx, key, r)
}

// newEnv is a single-store service whose store (e.store) can fail Puts;
// opts add to the setup (glancetest.WithImport, say).
func newEnv(t *testing.T, sizeCap int64, opts ...glancetest.Option) *env {
	t.Helper()
	var fst *faultyStore
	opts = append([]glancetest.Option{glancetest.WithConfig(service.Config{SizeCap: sizeCap}),
		glancetest.WithStore(func(fs *filesystem.Store) storage.Store {
			fst = &faultyStore{Store: fs, failAfter: -1}
			return fst
		})}, opts...)
	s := glancetest.NewSetup(t, opts...)
	return &env{setup: s, svc: s.Service, repo: s.Repo, fs: s.FS, store: fst, dir: s.StoreDir, ctx: context.Background()}
}

var (
	ownerA  = policy.Credentials{UserID: "ua", ProjectID: "A", Roles: []string{"member", "reader"}}
	memberB = policy.Credentials{UserID: "ub", ProjectID: "B", Roles: []string{"member", "reader"}}
	admin   = policy.Credentials{UserID: "uz", ProjectID: "Z", Roles: []string{"admin", "member", "reader"}}
)

func (e *env) caller(c policy.Credentials) service.Caller { return e.svc.NewCaller(c) }

func (e *env) create(t *testing.T, body string) *glance.Image {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader([]byte(body)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	n, err := glance.NewImageFromJSON(m)
	if err != nil {
		t.Fatal(err)
	}
	im, err := e.svc.Create(e.ctx, e.caller(ownerA), n)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// blobs counts stored blobs plus temporary files: what a failure may not leave.
func (e *env) blobs(t *testing.T) int {
	entries, err := os.ReadDir(filepath.Join(e.dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries) + e.fs.TempFiles()
}

func (e *env) status(t *testing.T, id string) string {
	im, err := e.repo.Get(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return im.Status
}

func TestUploadComputesHashesAndSizes(t *testing.T) {
	e := newEnv(t, 1<<30)
	im := e.create(t, `{"name":"raw","disk_format":"raw","container_format":"bare"}`)
	data := make([]byte, 5<<20+3)
	rand.Read(data)
	got, err := e.svc.Upload(e.ctx, e.caller(ownerA), im.ID, bytes.NewReader(data), "")
	if err != nil {
		t.Fatal(err)
	}
	md := md5.Sum(data)
	sh := sha512.Sum512(data)
	if got.Status != glance.StatusActive || *got.Size != int64(len(data)) || *got.VirtualSize != int64(len(data)) ||
		*got.Checksum != hex.EncodeToString(md[:]) || *got.OSHashAlgo != "sha512" || *got.OSHashValue != hex.EncodeToString(sh[:]) {
		t.Fatalf("active image: %+v", got)
	}
	dl, err := e.svc.Downloadable(e.ctx, e.caller(ownerA), im.ID)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := e.svc.ReadData(e.ctx, dl, 10, 5)
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(part, data[10:15]) {
		t.Fatal("ranged read differs")
	}
	if _, err := e.svc.Upload(e.ctx, e.caller(ownerA), im.ID, bytes.NewReader(data), ""); !errors.Is(err, glance.ErrConflict) {
		t.Fatalf("upload into an active image: %v", err)
	}
}

// qcow2Header builds a minimal qcow2 v3 header.
func qcow2Header(virtualSize uint64, backingOffset uint64, incompat uint64) []byte {
	h := make([]byte, 104)
	binary.BigEndian.PutUint32(h[0:], 0x514649fb)
	binary.BigEndian.PutUint32(h[4:], 3)
	binary.BigEndian.PutUint64(h[8:], backingOffset)
	binary.BigEndian.PutUint32(h[20:], 16) // cluster_bits: 64 KiB clusters
	binary.BigEndian.PutUint64(h[24:], virtualSize)
	binary.BigEndian.PutUint64(h[72:], incompat)
	binary.BigEndian.PutUint32(h[100:], 104) // header_length
	return h
}

func TestFormatInspection(t *testing.T) {
	e := newEnv(t, 1<<30)
	cases := []struct {
		name string
		data []byte
		ok   bool
	}{
		{"plain qcow2", qcow2Header(1<<30, 0, 0), true},
		{"qcow2 with backing file", qcow2Header(1<<30, 200, 0), false},
		{"qcow2 with external data file", qcow2Header(1<<30, 0, 4), false},
		{"qcow2 with a backing file, labelled raw", nil, false},
	}
	cases[3].data = qcow2Header(1<<30, 200, 0)
	for i, c := range cases {
		format := "qcow2"
		if i == 3 {
			format = "raw"
		}
		im := e.create(t, `{"disk_format":"`+format+`","container_format":"bare"}`)
		got, err := e.svc.Upload(e.ctx, e.caller(ownerA), im.ID, bytes.NewReader(c.data), "")
		if c.ok {
			if err != nil || *got.VirtualSize != 1<<30 {
				t.Fatalf("%s: %v %+v", c.name, err, got)
			}
			continue
		}
		if !errors.Is(err, glance.ErrBadRequest) {
			t.Fatalf("%s: error %v, want bad request", c.name, err)
		}
		if s := e.status(t, im.ID); s != glance.StatusQueued {
			t.Fatalf("%s: image left %s", c.name, s)
		}
	}
	if n := e.blobs(t); n != 1 {
		t.Fatalf("rejected uploads left data: %d blobs, want 1", n)
	}
	// The content must be what disk_format says when it is a recognised
	// format (unless the operator allows mismatches), and a text VMDK
	// descriptor naming other files is never stored.
	refused := map[string][]byte{
		"raw":   qcow2Header(1<<30, 0, 0),
		"qcow2": append(make([]byte, 510), 0x55, 0xAA),
		"vmdk":  []byte("# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\nRW 2048 FLAT \"/etc/shadow\" 0\n"),
	}
	for format, data := range refused {
		im := e.create(t, `{"disk_format":"`+format+`","container_format":"bare"}`)
		if _, err := e.svc.Upload(e.ctx, e.caller(ownerA), im.ID, bytes.NewReader(data), ""); !errors.Is(err, glance.ErrBadRequest) {
			t.Errorf("%d bytes of other content declared %s: %v", len(data), format, err)
		}
	}
	// Arbitrary bytes labelled qcow2 are stored, as Glance 25 does (tempest
	// uploads such data), with no virtual size.
	im := e.create(t, `{"disk_format":"qcow2","container_format":"bare"}`)
	got, err := e.svc.Upload(e.ctx, e.caller(ownerA), im.ID, bytes.NewReader(bytes.Repeat([]byte{1}, 512)), "")
	if err != nil || got.VirtualSize != nil {
		t.Fatalf("non-qcow2 bytes labelled qcow2: %v %+v", err, got)
	}
}

// countingReader counts what the service consumed from the client.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type endless struct{}

func (endless) Read(p []byte) (int, error) { return len(p), nil }

func TestFailedUploadsLeaveNothing(t *testing.T) {
	const sizeCap = 2 << 20
	e := newEnv(t, sizeCap)
	hangup := errors.New("client hung up")
	cases := []struct {
		name      string
		body      io.Reader
		failAfter int64
		failWith  error
		kind      error
	}{
		{"client hang-up", io.MultiReader(bytes.NewReader(make([]byte, 1<<20)), &failingAfter{r: endless{}, n: 0, err: hangup}), -1, nil, nil},
		{"over the size cap", endless{}, -1, nil, glance.ErrTooLarge},
		{"disk full", endless{}, 1 << 20, storage.ErrFull, glance.ErrTooLarge},
		{"store unavailable", endless{}, 1 << 19, storage.ErrUnavailable, glance.ErrUnavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.store.failAfter, e.store.failWith = c.failAfter, c.failWith
			defer func() { e.store.failAfter = -1 }()
			im := e.create(t, `{"disk_format":"raw","container_format":"bare"}`)
			body := &countingReader{r: c.body}
			_, err := e.svc.Upload(e.ctx, e.caller(ownerA), im.ID, body, "")
			if err == nil {
				t.Fatal("upload succeeded")
			}
			if c.kind != nil && !errors.Is(err, c.kind) {
				t.Fatalf("error %v, want %v", err, c.kind)
			}
			if s := e.status(t, im.ID); s != glance.StatusQueued {
				t.Fatalf("image left in %s", s)
			}
			if n := e.blobs(t); n != 0 {
				t.Fatalf("%d blobs or temp files left", n)
			}
			if c.kind == glance.ErrTooLarge && c.failWith == nil && body.n > sizeCap+1 {
				t.Fatalf("read %d bytes for a cap of %d", body.n, sizeCap)
			}
			// The image can be uploaded again.
			if _, err := e.svc.Upload(e.ctx, e.caller(ownerA), im.ID, bytes.NewReader([]byte("ok")), ""); err != nil {
				t.Fatalf("retry after failure: %v", err)
			}
			e.svc.Delete(e.ctx, e.caller(ownerA), im.ID)
		})
	}
}

func TestConcurrentUploadsOneWins(t *testing.T) {
	e := newEnv(t, 1<<30)
	im := e.create(t, `{"disk_format":"raw","container_format":"bare"}`)
	pr, pw := io.Pipe()
	first := make(chan error, 1)
	go func() {
		_, err := e.svc.Upload(e.ctx, e.caller(ownerA), im.ID, pr, "")
		first <- err
	}()
	pw.Write(make([]byte, 1<<20)) // the first upload is now streaming
	_, err := e.svc.Upload(e.ctx, e.caller(ownerA), im.ID, bytes.NewReader([]byte("second")), "")
	if !errors.Is(err, glance.ErrConflict) {
		t.Fatalf("second concurrent upload: %v", err)
	}
	pw.Close()
	if err := <-first; err != nil {
		t.Fatalf("first upload: %v", err)
	}
	if got, _ := e.repo.Get(e.ctx, im.ID); *got.Size != 1<<20 {
		t.Fatalf("size %d", *got.Size)
	}
}

func TestDeleteDuringUpload(t *testing.T) {
	e := newEnv(t, 1<<30)
	im := e.create(t, `{"disk_format":"raw","container_format":"bare"}`)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := e.svc.Upload(e.ctx, e.caller(ownerA), im.ID, pr, "")
		done <- err
	}()
	pw.Write(make([]byte, 1<<20))
	if err := e.svc.Delete(e.ctx, e.caller(ownerA), im.ID); err != nil {
		t.Fatal(err)
	}
	pw.Write(make([]byte, 1<<20))
	pw.Close()
	if err := <-done; !errors.Is(err, glance.ErrGone) {
		t.Fatalf("upload into a deleted image: %v", err)
	}
	if n := e.blobs(t); n != 0 {
		t.Fatalf("%d blobs left after delete during upload", n)
	}
}

func TestRecoverInterrupted(t *testing.T) {
	e := newEnv(t, 1<<30)
	im := e.create(t, `{"disk_format":"raw","container_format":"bare"}`)
	// Simulate a crash after the blob was written but before activation.
	saving, err := e.repo.Update(e.ctx, im.ID, func(cur *glance.Image) error {
		cur.Status, cur.BlobKey = glance.StatusSaving, im.ID+"-crash"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.fs.Put(e.ctx, saving.BlobKey, bytes.NewReader([]byte("partial"))); err != nil {
		t.Fatal(err)
	}
	n, err := e.svc.RecoverInterrupted(e.ctx)
	if err != nil || n != 1 {
		t.Fatalf("recover: %d %v", n, err)
	}
	if s := e.status(t, im.ID); s != glance.StatusQueued {
		t.Fatalf("status after recovery: %s", s)
	}
	if e.blobs(t) != 0 {
		t.Fatal("partial data survived recovery")
	}
}

func TestVisibilityAndPolicy(t *testing.T) {
	e := newEnv(t, 1<<30)
	priv := e.create(t, `{"name":"p","visibility":"private"}`)
	shared := e.create(t, `{"name":"s"}`)
	b := e.caller(memberB)
	if _, err := e.svc.Get(e.ctx, b, priv.ID); !errors.Is(err, glance.ErrNotFound) {
		t.Fatalf("private image of another project: %v", err)
	}
	if err := e.svc.Delete(e.ctx, b, priv.ID); !errors.Is(err, glance.ErrNotFound) {
		t.Fatalf("deleting an invisible image must be 404, got %v", err)
	}
	if _, err := e.svc.Get(e.ctx, b, shared.ID); !errors.Is(err, glance.ErrNotFound) {
		t.Fatalf("shared image before membership: %v", err)
	}
	if _, err := e.svc.AddMember(e.ctx, e.caller(ownerA), shared.ID, "B"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Get(e.ctx, b, shared.ID); err != nil {
		t.Fatalf("a pending member sees the image: %v", err)
	}
	if _, err := e.svc.UpdateMember(e.ctx, e.caller(ownerA), shared.ID, "B", "accepted"); !errors.Is(err, glance.ErrForbidden) {
		t.Fatalf("owner accepting for the member: %v", err)
	}
	if _, err := e.svc.UpdateMember(e.ctx, b, shared.ID, "B", "accepted"); err != nil {
		t.Fatal(err)
	}
	// A member cannot tell whether the image is shared with another project.
	if _, err := e.svc.AddMember(e.ctx, e.caller(ownerA), shared.ID, "C"); err != nil {
		t.Fatal(err)
	}
	for _, other := range []string{"C", "D"} {
		if _, err := e.svc.UpdateMember(e.ctx, b, shared.ID, other, "accepted"); !errors.Is(err, glance.ErrNotFound) {
			t.Errorf("member B updating %s's membership: %v, want not found", other, err)
		}
	}
	list, _ := e.svc.List(e.ctx, b, glance.ListQuery{Limit: 10})
	if len(list) != 1 || list[0].ID != shared.ID {
		t.Fatalf("member's list: %v", list)
	}
	if _, err := e.svc.Update(e.ctx, b, shared.ID, []service.PatchOp{{Op: "replace", Path: "name", Value: "x"}}, nil); !errors.Is(err, glance.ErrForbidden) {
		t.Fatalf("member modifying the owner's image: %v", err)
	}
	if _, err := e.svc.Update(e.ctx, e.caller(ownerA), priv.ID, []service.PatchOp{{Op: "replace", Path: "visibility", Value: "public"}}, nil); !errors.Is(err, glance.ErrForbidden) {
		t.Fatalf("member publicizing: %v", err)
	}
	if _, err := e.svc.Update(e.ctx, e.caller(admin), priv.ID, []service.PatchOp{{Op: "replace", Path: "visibility", Value: "public"}}, nil); err != nil {
		t.Fatalf("admin publicizing: %v", err)
	}
	if _, err := e.svc.Get(e.ctx, b, priv.ID); err != nil {
		t.Fatalf("public image: %v", err)
	}
	if _, err := e.svc.AddMember(e.ctx, e.caller(ownerA), priv.ID, "B"); !errors.Is(err, glance.ErrForbidden) {
		t.Fatalf("members of a public image: %v", err)
	}
}

func TestPatchSemantics(t *testing.T) {
	e := newEnv(t, 1<<30)
	im := e.create(t, `{"name":"n","foo":"bar"}`)
	a := e.caller(ownerA)
	cases := []struct {
		name string
		ops  []service.PatchOp
		kind error
	}{
		{"v2.1 add overwrites", []service.PatchOp{{Op: "add", Path: "foo", Value: "baz"}}, nil},
		{"v2.0 add existing conflicts", []service.PatchOp{{Op: "add", Path: "foo", Value: "x", V20: true}}, glance.ErrConflict},
		{"v2.0 add on a core attribute conflicts", []service.PatchOp{{Op: "add", Path: "name", Value: "x", V20: true}}, glance.ErrConflict},
		{"owner is admin-only, even unchanged", []service.PatchOp{{Op: "replace", Path: "owner", Value: "A"}}, glance.ErrForbidden},
		{"replace missing conflicts", []service.PatchOp{{Op: "replace", Path: "nope", Value: "x"}}, glance.ErrConflict},
		{"remove missing conflicts", []service.PatchOp{{Op: "remove", Path: "nope"}}, glance.ErrConflict},
		{"remove core forbidden", []service.PatchOp{{Op: "remove", Path: "name"}}, glance.ErrForbidden},
		{"read-only forbidden", []service.PatchOp{{Op: "add", Path: "checksum", Value: "x"}}, glance.ErrForbidden},
		{"os_glance forbidden", []service.PatchOp{{Op: "add", Path: "os_glance_x", Value: "x"}}, glance.ErrForbidden},
		{"negative min_ram", []service.PatchOp{{Op: "replace", Path: "min_ram", Value: json.Number("-1")}}, glance.ErrBadRequest},
		{"non-string extra", []service.PatchOp{{Op: "add", Path: "x", Value: json.Number("1")}}, glance.ErrBadRequest},
		{"tags replace all", []service.PatchOp{{Op: "add", Path: "tags", Value: []any{"b", "a", "b"}}}, nil},
		{"bad disk format", []service.PatchOp{{Op: "add", Path: "disk_format", Value: "floppy"}}, glance.ErrBadRequest},
	}
	for _, c := range cases {
		_, err := e.svc.Update(e.ctx, a, im.ID, c.ops, nil)
		if (c.kind == nil) != (err == nil) || (c.kind != nil && !errors.Is(err, c.kind)) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.kind)
		}
	}
	got, _ := e.svc.Get(e.ctx, a, im.ID)
	if got.Properties["foo"] != "baz" || len(got.Tags) != 2 || got.Tags[0] != "a" {
		t.Fatalf("after patches: %+v", got)
	}
	// Formats are fixed once data is stored.
	fmtOps := []service.PatchOp{{Op: "add", Path: "disk_format", Value: "raw"}, {Op: "add", Path: "container_format", Value: "bare"}}
	if _, err := e.svc.Update(e.ctx, a, im.ID, fmtOps, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Upload(e.ctx, a, im.ID, bytes.NewReader([]byte("data")), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Update(e.ctx, a, im.ID, []service.PatchOp{{Op: "replace", Path: "disk_format", Value: "qcow2"}}, nil); !errors.Is(err, glance.ErrForbidden) {
		t.Fatalf("changing disk_format of an active image: %v", err)
	}
}

func TestRestartKeepsStagedDataAndResetsImports(t *testing.T) {
	e := newEnv(t, 1<<30, glancetest.WithImport())
	staging := e.setup.Staging
	staged := e.create(t, `{"disk_format":"raw","container_format":"bare"}`)
	if err := e.svc.Stage(e.ctx, e.caller(ownerA), staged.ID, bytes.NewReader([]byte("staged"))); err != nil {
		t.Fatal(err)
	}
	importing := e.create(t, `{"disk_format":"raw","container_format":"bare"}`)
	if _, err := e.repo.Update(e.ctx, importing.ID, func(cur *glance.Image) error {
		cur.Status, cur.BlobKey = glance.StatusImporting, importing.ID+"-x"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RecoverInterrupted(e.ctx); err != nil {
		t.Fatal(err)
	}
	if s := e.status(t, staged.ID); s != glance.StatusUploading {
		t.Fatalf("a staged image waiting for import became %s", s)
	}
	if _, err := staging.Stat(e.ctx, staged.ID); err != nil {
		t.Fatalf("staged data lost at restart: %v", err)
	}
	if s := e.status(t, importing.ID); s != glance.StatusQueued {
		t.Fatalf("an interrupted import stayed %s", s)
	}
}

// gateReader hands out its data only after release is closed, then fails.
type gateReader struct {
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func (g *gateReader) Read(p []byte) (int, error) {
	g.once.Do(func() { close(g.started) })
	<-g.release
	return 0, io.ErrUnexpectedEOF
}

// Writes never undo each other: PATCHes made while data is being written
// survive the upload's failure, concurrent PATCHes all take effect, and
// formats are fixed once data starts to arrive (an import inspects the data
// as the format declared when it began).
func TestConcurrentChangesAreKept(t *testing.T) {
	e := newEnv(t, 1<<30)
	a := e.caller(ownerA)
	im := e.create(t, `{"name":"before","disk_format":"raw","container_format":"bare"}`)
	g := &gateReader{started: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error)
	go func() { _, err := e.svc.Upload(e.ctx, a, im.ID, g, ""); done <- err }()
	<-g.started
	if _, err := e.svc.Update(e.ctx, a, im.ID, []service.PatchOp{{Op: "replace", Path: "name", Value: "renamed"}}, nil); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"disk_format", "container_format"} {
		op := []service.PatchOp{{Op: "replace", Path: path, Value: "ova"}}
		if path == "disk_format" {
			op[0].Value = "qcow2"
		}
		if _, err := e.svc.Update(e.ctx, a, im.ID, op, nil); !errors.Is(err, glance.ErrForbidden) {
			t.Errorf("changing %s while saving: %v", path, err)
		}
	}
	close(g.release)
	if err := <-done; err == nil {
		t.Fatal("the cut-short upload succeeded")
	}
	got, _ := e.svc.Get(e.ctx, a, im.ID)
	if got.Status != glance.StatusQueued || *got.Name != "renamed" || *got.DiskFormat != "raw" {
		t.Fatalf("after the failed upload: status %s, name %s, disk_format %s", got.Status, *got.Name, *got.DiskFormat)
	}

	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			op := []service.PatchOp{{Op: "add", Path: fmt.Sprintf("p%d", i), Value: "v"}}
			if _, err := e.svc.Update(e.ctx, a, im.ID, op, nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, _ = e.svc.Get(e.ctx, a, im.ID)
	if len(got.Properties) != 10 {
		t.Fatalf("concurrent PATCHes kept %d of 10 properties: %v", len(got.Properties), got.Properties)
	}
	stale := func(v int64) bool { return v == got.Version-1 }
	if _, err := e.svc.Update(e.ctx, a, im.ID, []service.PatchOp{{Op: "add", Path: "x", Value: "y"}}, stale); !errors.Is(err, glance.ErrPrecondition) {
		t.Fatalf("PATCH with a stale If-Match: %v", err)
	}
	current := func(v int64) bool { return v == got.Version }
	if next, err := e.svc.Update(e.ctx, a, im.ID, []service.PatchOp{{Op: "add", Path: "x", Value: "y"}}, current); err != nil || next.Version != got.Version+1 {
		t.Fatalf("PATCH with the current If-Match: %v", err)
	}
}

func TestFormatsFixedDuringImport(t *testing.T) {
	e := newEnv(t, 1<<30)
	im := e.create(t, `{"disk_format":"qcow2","container_format":"bare"}`)
	if _, err := e.repo.Update(e.ctx, im.ID, func(cur *glance.Image) error { cur.Status = glance.StatusImporting; return nil }); err != nil {
		t.Fatal(err)
	}
	op := []service.PatchOp{{Op: "replace", Path: "disk_format", Value: "raw"}}
	if _, err := e.svc.Update(e.ctx, e.caller(ownerA), im.ID, op, nil); !errors.Is(err, glance.ErrForbidden) {
		t.Fatalf("changing disk_format while importing: %v", err)
	}
}

// A property value is at most what a MySQL TEXT holds (longer ones were a
// 500 on MariaDB), and an image's properties together at most 256 KiB.
func TestPropertySizeLimits(t *testing.T) {
	e := newEnv(t, 1<<30)
	a := e.caller(ownerA)
	im := e.create(t, `{"name":"n"}`)
	long := strings.Repeat("x", 65536)
	if _, err := e.svc.Update(e.ctx, a, im.ID, []service.PatchOp{{Op: "add", Path: "big", Value: long}}, nil); !errors.Is(err, glance.ErrBadRequest) {
		t.Fatalf("a 64 KiB value: %v", err)
	}
	for i := range 5 {
		op := []service.PatchOp{{Op: "add", Path: fmt.Sprintf("p%d", i), Value: long[:65000]}}
		_, err := e.svc.Update(e.ctx, a, im.ID, op, nil)
		if i < 4 && err != nil {
			t.Fatal(err)
		}
		if i == 4 && !errors.Is(err, glance.ErrTooLarge) {
			t.Fatalf("properties over 256 KiB: %v", err)
		}
	}
}

// Deleting a staged image (uploading) removes its staged data.
func TestDeleteStagedImageRemovesStagedData(t *testing.T) {
	e := newEnv(t, 1<<30, glancetest.WithImport())
	staging := e.setup.Staging
	im := e.create(t, `{"disk_format":"raw","container_format":"bare"}`)
	if err := e.svc.Stage(e.ctx, e.caller(ownerA), im.ID, bytes.NewReader([]byte("staged"))); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Delete(e.ctx, e.caller(ownerA), im.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := staging.Stat(e.ctx, im.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("staged data of a deleted image: %v", err)
	}
}

// Unsafe data is refused as soon as the inspector has seen its head, on
// every path that brings data in: an upload stops reading the client, a
// stage refuses at once, and copies to another store check the data too.
// With AllowFormatMismatch a recognised format other than disk_format is
// stored, unsafe data still is not.
func TestUnsafeDataRefusedOnEveryPath(t *testing.T) {
	e := newEnv(t, 1<<40, glancetest.WithImport())
	backing := qcow2Header(1<<30, 200, 0)
	im := e.create(t, `{"disk_format":"qcow2","container_format":"bare"}`)
	body := &countingReader{r: io.MultiReader(bytes.NewReader(backing), endless{})}
	if _, err := e.svc.Upload(e.ctx, e.caller(ownerA), im.ID, body, ""); !errors.Is(err, glance.ErrBadRequest) {
		t.Fatalf("qcow2 with a backing file, streamed: %v", err)
	}
	if body.n > 64<<20 {
		t.Fatalf("the upload read %d MiB of the client before refusing", body.n>>20)
	}

	staging := e.setup.Staging
	staged := e.create(t, `{"disk_format":"raw","container_format":"bare"}`)
	if err := e.svc.Stage(e.ctx, e.caller(ownerA), staged.ID, bytes.NewReader(backing)); !errors.Is(err, glance.ErrBadRequest) {
		t.Fatalf("staging a qcow2 with a backing file: %v", err)
	}
	if _, err := staging.Stat(e.ctx, staged.ID); !errors.Is(err, storage.ErrNotFound) || e.status(t, staged.ID) != glance.StatusQueued {
		t.Fatalf("refused stage left data (%v) or status %s", err, e.status(t, staged.ID))
	}

	lenient := e.setup.Rebuild(t, func(_ *service.Deps, cfg *service.Config) { *cfg = service.Config{AllowFormatMismatch: true} })
	for data, ok := range map[string]bool{string(qcow2Header(1<<20, 0, 0)): true, string(backing): false} {
		im := e.create(t, `{"disk_format":"raw","container_format":"bare"}`)
		_, err := lenient.Upload(e.ctx, lenient.NewCaller(ownerA), im.ID, bytes.NewReader([]byte(data)), "")
		if (err == nil) != ok {
			t.Errorf("mismatches allowed, qcow2 (safe: %v) declared raw: %v", ok, err)
		}
	}
}
