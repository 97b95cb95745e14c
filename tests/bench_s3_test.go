package tests

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha512"
	"fmt"
	"hash"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// The S3 store's settings in this benchmark, used by minio-go's baseline too.
const (
	s3BenchPartSize    = 8 << 20
	s3BenchConcurrency = 4
	s3BenchRounds      = 5       // alternating samples of each transfer
	s3BenchSampleSize  = 1 << 30 // bytes of each sample
	s3BenchRSSUploads  = 4       // 2 GiB uploads watched for RSS growth
)

// BenchmarkImageTransferS3 compares, in one run and alternating, chunked
// uploads and downloads through the image API on the S3 store with minio-go
// straight to the same MinIO (PutObject of unknown length with the same part
// size and concurrency, GetObject), printing every sample, the CPU seconds
// each process spent on it and the median ratio; then it watches the
// server's RSS over repeated 2 GiB uploads. With BENCH_PERF_DIR set, one
// more upload and download of each kind (not counted) run under a
// system-wide `perf record`, saved in that directory.
func BenchmarkImageTransferS3(b *testing.B) {
	ep := os.Getenv("TEST_MINIO_ENDPOINT")
	if ep == "" {
		b.Fatal("TEST_MINIO_ENDPOINT is not set: run `make bench`, which starts MinIO")
	}
	for b.Loop() {
		r := newS3Bench(b, ep)
		r.throughput()
		r.rss()
		if dir := os.Getenv("BENCH_PERF_DIR"); dir != "" {
			r.profile(dir)
		}
	}
}

// s3Bench is one run: our server on a fresh bucket, a minio-go client on it.
type s3Bench struct {
	b        *testing.B
	ctx      context.Context
	mc       *minio.Client
	bucket   string
	s        *Server
	token    string
	ic       *gophercloud.ServiceClient
	pid      int // our server
	minioPid int // 0 when not found
	rssIdle  int64
}

func newS3Bench(b *testing.B, ep string) *s3Bench {
	ak, sk := os.Getenv("TEST_MINIO_ACCESS_KEY"), os.Getenv("TEST_MINIO_SECRET_KEY")
	mc, err := minio.New(ep, &minio.Options{Creds: credentials.NewStaticV4(ak, sk, "")})
	if err != nil {
		b.Fatal(err)
	}
	r := &s3Bench{b: b, ctx: b.Context(), mc: mc, bucket: fmt.Sprintf("imagestack-bench-%d", time.Now().UnixNano())}
	if err := mc.MakeBucket(r.ctx, r.bucket, minio.MakeBucketOptions{}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { // after the server stopped, whatever a failure left behind
		ctx := context.Background()
		for obj := range mc.ListObjects(ctx, r.bucket, minio.ListObjectsOptions{Recursive: true}) {
			mc.RemoveObject(ctx, r.bucket, obj.Key, minio.RemoveObjectOptions{})
		}
		mc.RemoveBucket(ctx, r.bucket)
	})
	r.s = NewServer(b, nil, fmt.Sprintf("image: {store: s3, s3: {endpoint: %q, bucket: %q, access_key: %q, secret_key: %q, part_size: %d, concurrency: %d}}",
		ep, r.bucket, ak, sk, s3BenchPartSize, s3BenchConcurrency))
	r.ic = imageClient(b, r.s, "demo")
	r.token = r.ic.TokenID
	r.pid, r.minioPid = r.s.cmd.Process.Pid, minioPID(ep)
	r.rssIdle = procKB(r.pid, "VmRSS")
	fmt.Printf("S3 (MinIO %s, same machine): part size %d MiB and concurrency %d for our store and for minio-go PutObject (unknown length, ConcurrentStreamParts); minio-go GetObject is one stream read with 1 MiB buffers; %s before each upload\n",
		ep, s3BenchPartSize>>20, s3BenchConcurrency, strings.Replace(cacheNote(), " before each read", "", 1))
	return r
}

// cpuUse is the CPU seconds of our server, MinIO and this process (the
// client) during one transfer.
type cpuUse struct{ server, minio, client float64 }

func (r *s3Bench) cpuNow() cpuUse {
	return cpuUse{procCPU(r.pid), procCPU(r.minioPid), procCPU(os.Getpid())}
}

func (c cpuUse) since(before cpuUse) cpuUse {
	return cpuUse{c.server - before.server, c.minio - before.minio, c.client - before.client}
}

func (c cpuUse) String() string {
	return fmt.Sprintf("CPU s: server %.1f, MinIO %.1f, client %.1f, total %.1f", c.server, c.minio, c.client, c.server+c.minio+c.client)
}

// timed runs f and returns the MiB/s of n bytes and the CPU it took.
func (r *s3Bench) timed(n int64, f func()) (float64, cpuUse) {
	before := r.cpuNow()
	start := time.Now()
	f()
	return mbps(n, time.Since(start)), r.cpuNow().since(before)
}

// side is one way of moving the data: ours (through the API) or minio-go's.
type side struct {
	name     string
	upload   func(size int64) (key string)
	download func(key string, size int64)
	remove   func(key string)
	ups      samples // MiB/s
	downs    samples
	upCPU    []cpuUse
}

// throughput runs s3BenchRounds rounds of an upload each side followed by
// its download, the side going first changing each round, and prints every
// sample, the median ratios and the CPU each process spent per uploaded
// GiB. MinIO's cost of writing grows as the page cache fills with what
// earlier samples wrote, so each upload starts with it flushed and dropped
// (as root); each download reads what was just written, as users do.
func (r *s3Bench) throughput() {
	const size = s3BenchSampleSize
	ours := &side{name: "ours ", upload: r.upload, download: r.download, remove: r.deleteImage}
	theirs := &side{name: "minio", upload: func(n int64) string { r.put("baseline", n); return "baseline" }, download: r.get,
		remove: func(key string) { r.mc.RemoveObject(r.ctx, r.bucket, key, minio.RemoveObjectOptions{}) }}
	for i := range s3BenchRounds {
		order := []*side{ours, theirs}
		if i%2 == 1 {
			order = []*side{theirs, ours}
		}
		for _, sd := range order {
			dropCaches()
			var key string
			up, cpu := r.timed(size, func() { key = sd.upload(size) })
			down, dcpu := r.timed(size, func() { sd.download(key, size) })
			sd.remove(key)
			fmt.Printf("  round %d %s upload %4.0f MiB/s (%v); download %4.0f MiB/s (%v)\n", i+1, sd.name, up, cpu, down, dcpu)
			sd.ups, sd.downs, sd.upCPU = append(sd.ups, up), append(sd.downs, down), append(sd.upCPU, cpu)
		}
	}
	var upRatios, downRatios samples
	for i := range ours.ups {
		upRatios, downRatios = append(upRatios, ours.ups[i]/theirs.ups[i]), append(downRatios, ours.downs[i]/theirs.downs[i])
	}
	fmt.Printf("S3 %d GiB chunked upload through the API: median %.0f MiB/s vs PutObject %.0f MiB/s: median ratio %.2f (goal >= 0.9; ratios: %v)\n",
		size>>30, ours.ups.median(), theirs.ups.median(), upRatios.median(), upRatios.ratios())
	fmt.Printf("S3 %d GiB download through the API: median %.0f MiB/s vs GetObject %.0f MiB/s: median ratio %.2f (goal >= 0.9; ratios: %v)\n",
		size>>30, ours.downs.median(), theirs.downs.median(), downRatios.median(), downRatios.ratios())
	md5s, shas := float64(size>>20)/hashRate(md5.New, size), float64(size>>20)/hashRate(sha512.New, size)
	fmt.Printf("S3 CPU of a %d GiB upload (median): ours %v; minio-go %v; md5 + sha512 alone over the same bytes: %.1f + %.1f = %.1f s\n",
		size>>30, medianCPU(ours.upCPU), medianCPU(theirs.upCPU), md5s, shas, md5s+shas)
}

// medianCPU is the median of each process's CPU seconds.
func medianCPU(cs []cpuUse) cpuUse {
	var server, minio, client samples
	for _, c := range cs {
		server, minio, client = append(server, c.server), append(minio, c.minio), append(client, c.client)
	}
	return cpuUse{server.median(), minio.median(), client.median()}
}

// rss uploads 2 GiB s3BenchRSSUploads times, printing the server's VmRSS
// before and after each and its peak (VmHWM) during each.
func (r *s3Bench) rss() {
	const size = 2 << 30
	var worst int64
	for i := range s3BenchRSSUploads {
		before := procKB(r.pid, "VmRSS")
		resetPeak(r.pid)
		id := r.upload(size)
		peak, after := procKB(r.pid, "VmHWM"), procKB(r.pid, "VmRSS")
		worst = max(worst, peak-r.rssIdle, after-r.rssIdle)
		fmt.Printf("  2 GiB upload %d: server VmRSS %.1f MiB before, %.1f MiB after, peak VmHWM %.1f MiB: growth over idle %.1f MiB after, %.1f MiB at peak\n",
			i+1, kib(before), kib(after), kib(peak), kib(after-r.rssIdle), kib(peak-r.rssIdle))
		r.deleteImage(id)
	}
	fmt.Printf("S3 server RSS: idle %.1f MiB; largest growth over %d uploads of 2 GiB: %.1f MiB (goal <= 64)\n",
		kib(r.rssIdle), s3BenchRSSUploads, kib(worst))
}

func kib(kb int64) float64 { return float64(kb) / 1024 }

// upload creates an image and uploads size pattern bytes to it, chunked.
func (r *s3Bench) upload(size int64) (id string) {
	im, err := images.Create(r.ctx, r.ic, images.CreateOpts{Name: "bench-s3", DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	if err != nil {
		r.b.Fatal(err)
	}
	resp, err := uploadRaw(r.s, r.token, im.ID, newPattern(size))
	if err != nil || resp.StatusCode != 204 {
		r.b.Fatalf("upload: %v %v", resp, err)
	}
	resp.Body.Close()
	return im.ID
}

func (r *s3Bench) download(id string, size int64) {
	if n, _ := timedDownload(r.b, r.s, r.token, id); n != size {
		r.b.Fatalf("downloaded %d of %d bytes", n, size)
	}
}

func (r *s3Bench) deleteImage(id string) {
	images.Delete(r.ctx, r.ic, id)
}

// put is the baseline upload: minio-go streaming an unknown length.
func (r *s3Bench) put(key string, size int64) {
	opts := minio.PutObjectOptions{PartSize: s3BenchPartSize, NumThreads: s3BenchConcurrency, ConcurrentStreamParts: true}
	if _, err := r.mc.PutObject(r.ctx, r.bucket, key, newPattern(size), -1, opts); err != nil {
		r.b.Fatal(err)
	}
}

// get is the baseline download.
func (r *s3Bench) get(key string, size int64) {
	obj, err := r.mc.GetObject(r.ctx, r.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		r.b.Fatal(err)
	}
	defer obj.Close()
	if n, err := io.CopyBuffer(io.Discard, obj, make([]byte, 1<<20)); err != nil || n != size {
		r.b.Fatalf("GetObject: %d of %d bytes: %v", n, size, err)
	}
}

// profile records the whole machine (perf record -a -g) during one more
// 1 GiB upload and download of each kind, one file per transfer.
func (r *s3Bench) profile(dir string) {
	const size = s3BenchSampleSize
	var id string
	for _, t := range []struct {
		name string
		f    func()
	}{
		{"upload-ours", func() { id = r.upload(size) }},
		{"upload-minio", func() { r.put("profiled", size) }},
		{"download-ours", func() { r.download(id, size) }},
		{"download-minio", func() { r.get("profiled", size) }},
	} {
		path := filepath.Join(dir, "s3-"+t.name+".perf.data")
		perf := exec.Command("perf", "record", "-a", "-g", "-F", "499", "-o", path)
		var out bytes.Buffer
		perf.Stdout, perf.Stderr = &out, &out
		if err := perf.Start(); err != nil {
			r.b.Fatalf("perf: %v", err)
		}
		time.Sleep(500 * time.Millisecond) // perf attaches
		t.f()
		perf.Process.Signal(syscall.SIGINT)
		perf.Wait() // ends with the signal's status once the file is written
		if _, err := os.Stat(path); err != nil {
			r.b.Fatalf("perf record: %v\n%s", err, out.String())
		}
		fmt.Printf("  profile of %s: %s (perf report -i %s --sort comm,dso,sym)\n", t.name, path, path)
	}
	r.deleteImage(id)
	r.mc.RemoveObject(r.ctx, r.bucket, "profiled", minio.RemoveObjectOptions{})
}

// procCPU returns the user+system CPU seconds of a process (0 for pid 0).
func procCPU(pid int) float64 {
	if pid == 0 {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces): state is 3rd,
	// utime and stime the 14th and 15th.
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // clock ticks (USER_HZ)
}

// minioPID finds the MinIO server listening on ep, 0 when there is none.
func minioPID(ep string) int {
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		args := strings.Split(string(cmd), "\x00")
		if len(args) > 1 && filepath.Base(args[0]) == "minio" && args[1] == "server" && strings.Contains(string(cmd), ep) {
			return pid
		}
	}
	return 0
}

// hashRate returns the MiB/s of one core hashing n pattern bytes.
func hashRate(newHash func() hash.Hash, n int64) float64 {
	start := time.Now()
	io.Copy(newHash(), newPattern(n))
	return mbps(n, time.Since(start))
}
