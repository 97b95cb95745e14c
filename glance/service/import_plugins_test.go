package service_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"imagestack/glance"
	"imagestack/glance/glancetest"
	"imagestack/glance/service"
	"imagestack/glance/webfetch"
	"imagestack/policy"
)

// allPlugins is Glance's usual order of the three plugins.
var allPlugins = service.ImportPlugins{
	Enabled: []string{service.PluginDecompression, service.PluginConversion, service.PluginInject},
	Inject:  map[string]string{"hw_disk_bus": "scsi", "injected": "yes"},
}

// run runs a program the tests need (qemu-img, xz), failing on error.
func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return out
}

// testQcow2 makes a qcow2 image of 8 MiB with data in two places, and
// returns it and what `qemu-img convert -O raw` makes of it.
func testQcow2(t *testing.T) (qcow2, raw []byte) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "x.qcow2"), filepath.Join(dir, "x.raw")
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", src, "8M")
	run(t, "qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 1M 512k", "-c", "write -P 0x33 7M 64k", src)
	run(t, "qemu-img", "convert", "-f", "qcow2", "-O", "raw", src, dst)
	return readFile(t, src), readFile(t, dst)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gzipped(t *testing.T, data []byte) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func zipped(t *testing.T, members ...[]byte) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for i, m := range members {
		w, _ := zw.Create("disk" + string(rune('a'+i)) + ".img")
		w.Write(m)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// xzipped compresses data with xz(1) in format (xz or lzma).
func xzipped(t *testing.T, data []byte, format string) []byte {
	cmd := exec.Command("xz", "--compress", "--stdout", "--format="+format)
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// importDirect stages data for a new image with formats and imports it
// with glance-direct as c, waiting for the task; it returns the image and
// the task.
func (e *env) importDirect(t *testing.T, c policy.Credentials, formats string, data []byte) (*glance.Image, *glance.Task) {
	t.Helper()
	im := e.create(t, formats)
	caller := e.caller(c)
	if err := e.svc.Stage(e.ctx, caller, im.ID, bytes.NewReader(data)); err != nil {
		t.Fatalf("stage: %v", err)
	}
	if _, err := e.svc.Import(e.ctx, caller, im.ID, service.ImportRequest{Method: glance.ImportGlanceDirect}, "req"); err != nil {
		t.Fatalf("import: %v", err)
	}
	return e.finished(t, im.ID)
}

// finished waits for the running imports and returns the image and its task.
func (e *env) finished(t *testing.T, id string) (*glance.Image, *glance.Task) {
	t.Helper()
	e.svc.WaitImports()
	im, err := e.repo.Get(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := e.svc.ImageTasks(e.ctx, e.caller(admin), id)
	if err != nil || len(tasks) == 0 {
		t.Fatalf("tasks of %s: %v", id, err)
	}
	return im, tasks[0]
}

// noLeftovers fails when a work file, staged data or a blob is left.
func (e *env) noLeftovers(t *testing.T, blobs int) {
	t.Helper()
	work, _ := os.ReadDir(e.setup.Deps.ImportPlugins.WorkDir)
	staged, _ := os.ReadDir(filepath.Join(e.setup.StagingDir, "blobs"))
	if len(work) != 0 || len(staged) != 0 || e.blobs(t) != blobs {
		t.Fatalf("left behind: %d work files, %d staged, %d blobs (want %d)", len(work), len(staged), e.blobs(t), blobs)
	}
}

func sums(data []byte) (string, string) {
	m, s := md5.Sum(data), sha512.Sum512(data)
	return hex.EncodeToString(m[:]), hex.EncodeToString(s[:])
}

// A qcow2 imported by a member becomes raw, with the size and hashes of
// what qemu-img makes of it, the original format kept, and the injected
// properties; an admin's import gets no injected properties; a gzipped
// qcow2 and a web-download are converted the same way.
func TestImportConvertsQcow2ToRaw(t *testing.T) {
	loopback := webfetch.New(webfetch.Policy{AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	e := newEnv(t, 1<<30, glancetest.WithImportPlugins(allPlugins), glancetest.WithFetcher(loopback))
	qcow2, raw := testQcow2(t)
	md5sum, sha := sums(raw)
	check := func(name string, im *glance.Image, task *glance.Task, injected bool) {
		t.Helper()
		if task.Status != glance.TaskSuccess || im.Status != glance.StatusActive {
			t.Fatalf("%s: task %s (%s), image %s", name, task.Status, task.Message, im.Status)
		}
		if deref(im.DiskFormat) != "raw" || deref(im.ContainerFormat) != "bare" || im.Properties[service.OriginalDiskFormatProperty] != "qcow2" {
			t.Errorf("%s: formats %s/%s, properties %v", name, deref(im.DiskFormat), deref(im.ContainerFormat), im.Properties)
		}
		if deref(im.Size) != int64(len(raw)) || deref(im.VirtualSize) != int64(len(raw)) || deref(im.Checksum) != md5sum ||
			deref(im.OSHashAlgo) != "sha512" || deref(im.OSHashValue) != sha {
			t.Errorf("%s: size %d virtual %d checksum %s, want %d and %s", name, deref(im.Size), deref(im.VirtualSize), deref(im.Checksum), len(raw), md5sum)
		}
		if (im.Properties["injected"] == "yes") != injected || (im.Properties["hw_disk_bus"] == "scsi") != injected {
			t.Errorf("%s: injected properties %v, want them: %v", name, im.Properties, injected)
		}
		rc, err := e.svc.ReadData(e.ctx, im, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		if got, _ := io.ReadAll(rc); !bytes.Equal(got, raw) {
			t.Errorf("%s: stored data differs from qemu-img's conversion", name)
		}
	}
	formats := `{"disk_format":"qcow2","container_format":"bare"}`
	im, task := e.importDirect(t, ownerA, formats, qcow2)
	check("member", im, task, true)
	im, task = e.importDirect(t, admin, formats, qcow2)
	check("admin", im, task, false)
	im, task = e.importDirect(t, ownerA, formats, gzipped(t, qcow2))
	check("gzipped", im, task, true)

	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(qcow2) }))
	defer web.Close()
	wd := e.create(t, formats)
	if _, err := e.svc.Import(e.ctx, e.caller(ownerA), wd.ID, service.ImportRequest{Method: glance.ImportWebDownload, URI: web.URL + "/x.qcow2"}, "r"); err != nil {
		t.Fatal(err)
	}
	im, task = e.finished(t, wd.ID)
	check("web-download", im, task, true)
	e.noLeftovers(t, 4)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// Unsafe or unreadable data fails the import with a message before
// qemu-img converts anything; the image is left queued in its own formats,
// importable again, with nothing left behind.
func TestImportConversionRefusesUnsafeData(t *testing.T) {
	e := newEnv(t, 1<<30, glancetest.WithImportPlugins(allPlugins))
	dir := t.TempDir()
	base, backed := filepath.Join(dir, "base.raw"), filepath.Join(dir, "backed.qcow2")
	os.WriteFile(base, bytes.Repeat([]byte("secret"), 1000), 0o600)
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F", "raw", backed, "1M")
	malicious := readFile(t, backed)
	qcow2, _ := testQcow2(t)
	corrupt := bytes.Clone(qcow2)
	copy(corrupt[40:48], []byte{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00}) // l1_table_offset far past the end
	formats := `{"disk_format":"qcow2","container_format":"bare"}`
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"gzipped qcow2 with a backing file", gzipped(t, malicious), "backing file"},
		{"raw data claimed qcow2", bytes.Repeat([]byte{1, 2, 3}, 100000), "not in that format"},
		{"qcow2 qemu-img cannot read", corrupt, "Image conversion failed"},
		{"zip of two files", zipped(t, qcow2, qcow2), "exactly one file"},
	}
	for _, c := range cases {
		im, task := e.importDirect(t, ownerA, formats, c.data)
		t.Logf("%s: %s", c.name, task.Message)
		if task.Status != glance.TaskFailure || !strings.Contains(task.Message, c.want) {
			t.Errorf("%s: task %s %q, want a failure saying %q", c.name, task.Status, task.Message, c.want)
		}
		if im.Status != glance.StatusQueued || deref(im.DiskFormat) != "qcow2" || im.Properties[service.OriginalDiskFormatProperty] != "" || im.Properties["injected"] != "" {
			t.Errorf("%s: image left %s, %s, %v", c.name, im.Status, deref(im.DiskFormat), im.Properties)
		}
	}
	descriptor := "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n\nRW 2048 FLAT \"/etc/shadow\" 0\n"
	im, task := e.importDirect(t, ownerA, `{"disk_format":"vmdk","container_format":"bare"}`, gzipped(t, []byte(descriptor)))
	t.Logf("gzipped VMDK naming /etc/shadow: %s", task.Message)
	if task.Status != glance.TaskFailure || !strings.Contains(task.Message, "VMDK") || im.Status != glance.StatusQueued {
		t.Errorf("gzipped VMDK naming /etc/shadow: task %s %q, image %s", task.Status, task.Message, im.Status)
	}
	e.noLeftovers(t, 0)

	// Staged data that never went through the stage's checks (as a crash
	// or an older release could leave) is inspected before qemu-img runs.
	im = e.create(t, formats)
	if _, err := e.setup.Staging.Put(e.ctx, im.ID, bytes.NewReader(malicious)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.repo.Update(e.ctx, im.ID, func(cur *glance.Image) error { cur.Status = glance.StatusUploading; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Import(e.ctx, e.caller(ownerA), im.ID, service.ImportRequest{Method: glance.ImportGlanceDirect}, "r"); err != nil {
		t.Fatal(err)
	}
	if _, task := e.finished(t, im.ID); task.Status != glance.TaskFailure || !strings.Contains(task.Message, "backing file") {
		t.Fatalf("unchecked staged qcow2 with a backing file: %s %q", task.Status, task.Message)
	}
	// The failed image imports again.
	if im, task := e.importDirect(t, ownerA, formats, qcow2); task.Status != glance.TaskSuccess || deref(im.DiskFormat) != "raw" {
		t.Fatalf("re-import: %s %q", task.Status, task.Message)
	}
	e.noLeftovers(t, 1)
}

// gzip, zip, xz and lzma data is decompressed (and kept compressed with
// container_format compressed); more than the size cap once decompressed
// fails the import.
func TestImportDecompresses(t *testing.T) {
	e := newEnv(t, 1<<20, glancetest.WithImportPlugins(service.ImportPlugins{Enabled: []string{service.PluginDecompression}}))
	payload := append(bytes.Repeat([]byte("imagestack "), 30000), make([]byte, 100000)...)
	want, _ := sums(payload)
	raw := `{"disk_format":"raw","container_format":"bare"}`
	for name, data := range map[string][]byte{"gzip": gzipped(t, payload), "zip": zipped(t, payload),
		"xz": xzipped(t, payload, "xz"), "lzma": xzipped(t, payload, "lzma")} {
		im, task := e.importDirect(t, ownerA, raw, data)
		if task.Status != glance.TaskSuccess || deref(im.Checksum) != want || deref(im.Size) != int64(len(payload)) {
			t.Errorf("%s: task %s %q, size %d, checksum %s", name, task.Status, task.Message, deref(im.Size), deref(im.Checksum))
		}
	}
	gz := gzipped(t, payload)
	gzSum, _ := sums(gz)
	if im, task := e.importDirect(t, ownerA, `{"disk_format":"raw","container_format":"compressed"}`, gz); task.Status != glance.TaskSuccess || deref(im.Checksum) != gzSum {
		t.Errorf("container_format compressed: %s %q, checksum %s", task.Status, task.Message, deref(im.Checksum))
	}
	bomb := make([]byte, 8<<20)
	for name, data := range map[string][]byte{"gzip": gzipped(t, bomb), "zip": zipped(t, bomb), "xz": xzipped(t, bomb, "xz")} {
		im, task := e.importDirect(t, ownerA, raw, data)
		t.Logf("%s bomb: %s", name, task.Message)
		if task.Status != glance.TaskFailure || !strings.Contains(task.Message, "size cap") || im.Status != glance.StatusQueued {
			t.Errorf("%s bomb: task %s %q, image %s", name, task.Status, task.Message, im.Status)
		}
	}
	e.noLeftovers(t, 5)
}

// A conversion that runs past its time limit is stopped and fails the task.
func TestImportConversionTimeLimit(t *testing.T) {
	p := allPlugins
	p.Timeout = time.Millisecond
	e := newEnv(t, 1<<30, glancetest.WithImportPlugins(p))
	qcow2, _ := testQcow2(t)
	im, task := e.importDirect(t, ownerA, `{"disk_format":"qcow2","container_format":"bare"}`, qcow2)
	if task.Status != glance.TaskFailure || !strings.Contains(task.Message, "was stopped") || im.Status != glance.StatusQueued {
		t.Fatalf("task %s %q, image %s", task.Status, task.Message, im.Status)
	}
	e.noLeftovers(t, 0)
}

// A full staging area fails the import with a message, whether the data
// does not fit or qemu-img's result does not, and leaves nothing.
func TestImportPluginsDiskFull(t *testing.T) {
	qcow2, _ := testQcow2(t)
	for name, size := range map[string]int{"spool": len(qcow2) / 2, "conversion": len(qcow2) + len(qcow2)/3} {
		work := t.TempDir()
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.Itoa(size), "tmpfs", work).CombinedOutput(); err != nil {
			t.Fatalf("mount a small tmpfs: %v %s", err, out)
		}
		t.Cleanup(func() { exec.Command("umount", work).Run() })
		p := allPlugins
		p.WorkDir = work
		e := newEnv(t, 1<<30, glancetest.WithImportPlugins(p))
		im, task := e.importDirect(t, ownerA, `{"disk_format":"qcow2","container_format":"bare"}`, qcow2)
		t.Logf("%s: %s", name, task.Message)
		if task.Status != glance.TaskFailure || !strings.Contains(task.Message, "no room left") || im.Status != glance.StatusQueued {
			t.Errorf("%s: task %s %q, image %s", name, task.Status, task.Message, im.Status)
		}
		e.noLeftovers(t, 0)
	}
}

// The service refuses plugin settings that cannot work.
func TestImportPluginSettings(t *testing.T) {
	s := glancetest.NewSetup(t, glancetest.WithImport())
	for name, p := range map[string]service.ImportPlugins{
		"unknown plugin":           {Enabled: []string{"image_shrinking"}},
		"twice":                    {Enabled: []string{service.PluginInject, service.PluginInject}},
		"conversion first":         {Enabled: []string{service.PluginConversion, service.PluginDecompression}, WorkDir: t.TempDir()},
		"output format":            {Enabled: []string{service.PluginConversion}, OutputFormat: "vhd", WorkDir: t.TempDir()},
		"no work directory":        {Enabled: []string{service.PluginConversion}},
		"reserved injected":        {Enabled: []string{service.PluginInject}, Inject: map[string]string{"os_glance_x": "1"}},
		"core property injected":   {Enabled: []string{service.PluginInject}, Inject: map[string]string{"min_ram": "1"}},
		"invalid injected kernel":  {Enabled: []string{service.PluginInject}, Inject: map[string]string{"kernel_id": "vmlinuz"}},
		"read-only injected field": {Enabled: []string{service.PluginInject}, Inject: map[string]string{"checksum": "x"}},
	} {
		d := s.Deps
		d.ImportPlugins = p
		if _, err := service.New(d, s.Config); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// With several stores, every store gets the converted data; when a copy
// fails (all stores must succeed), the image is left queued as it was.
func TestImportConversionToAllStores(t *testing.T) {
	aFS, _ := glancetest.NewFS(t)
	bFS, _ := glancetest.NewFS(t)
	s := glancetest.NewSetup(t, glancetest.WithImportPlugins(allPlugins), glancetest.WithStores("a",
		service.Backend{StoreInfo: service.StoreInfo{ID: "a", Type: "file"}, Store: aFS},
		service.Backend{StoreInfo: service.StoreInfo{ID: "b", Type: "file"}, Store: bFS}))
	e := &env{setup: s, svc: s.Service, repo: s.Repo, fs: aFS, ctx: t.Context()}
	qcow2, raw := testQcow2(t)
	md5sum, _ := sums(raw)
	importAll := func() (*glance.Image, *glance.Task) {
		im := e.create(t, `{"disk_format":"qcow2","container_format":"bare"}`)
		if err := e.svc.Stage(e.ctx, e.caller(ownerA), im.ID, bytes.NewReader(qcow2)); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Import(e.ctx, e.caller(ownerA), im.ID, service.ImportRequest{Method: glance.ImportGlanceDirect, AllStores: true}, "r"); err != nil {
			t.Fatal(err)
		}
		return e.finished(t, im.ID)
	}
	im, task := importAll()
	if task.Status != glance.TaskSuccess || len(im.ActiveStores()) != 2 || deref(im.DiskFormat) != "raw" || deref(im.Checksum) != md5sum {
		t.Fatalf("task %s %q: stores %v, %s, %s", task.Status, task.Message, im.ActiveStores(), deref(im.DiskFormat), deref(im.Checksum))
	}
	for _, st := range []string{"a", "b"} {
		rc, err := e.svc.ReadData(e.ctx, &glance.Image{ID: im.ID, BlobKey: im.BlobKey, Locations: []glance.Location{{Store: st, Status: glance.LocationActive}}}, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, raw) {
			t.Errorf("store %s holds other data", st)
		}
	}

	e.svc = s.Rebuild(t, func(d *service.Deps, _ *service.Config) {
		d.Stores = slices.Clone(d.Stores)
		d.Stores[1].Store = brokenStore{bFS, errors.New("b is broken")}
	})
	im, task = importAll()
	if task.Status != glance.TaskFailure || im.Status != glance.StatusQueued || deref(im.DiskFormat) != "qcow2" ||
		im.Properties[service.OriginalDiskFormatProperty] != "" || im.Properties["injected"] != "" {
		t.Fatalf("failed copy: task %s, image %s %s %v", task.Status, im.Status, deref(im.DiskFormat), im.Properties)
	}
}
