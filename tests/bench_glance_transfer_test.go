package tests

import (
	"crypto/md5"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"imagestack/common/db/dbtest"
)

// transferPeer is one image service in the side-by-side transfer benchmark:
// ours or the real Glance, driven by the same Go client.
type transferPeer struct {
	name   string
	url    string // image API root
	client *gophercloud.ServiceClient
	pids   func() []int // the processes whose CPU time a request costs
}

// transferHTTP is the benchmark's HTTP client: its own transport, so that
// connection reuse does not depend on what other benchmarks left behind.
var transferHTTP = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}

func (p *transferPeer) create(b *testing.B) string {
	im, err := images.Create(b.Context(), p.client, images.CreateOpts{Name: "bench-transfer", DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	if err != nil {
		b.Fatalf("%s: create: %v", p.name, err)
	}
	return im.ID
}

func (p *transferPeer) remove(b *testing.B, id string) {
	if err := images.Delete(b.Context(), p.client, id).ExtractErr(); err != nil {
		b.Fatalf("%s: delete: %v", p.name, err)
	}
}

// upload PUTs size pattern bytes, chunked (no length), handed to the
// connection write bytes at a time, and returns MiB/s.
func (p *transferPeer) upload(b *testing.B, id string, size int64, write int) float64 {
	rate, err := p.tryUpload(b, id, size, write)
	if err != nil {
		b.Fatal(err)
	}
	return rate
}

// tryUpload is upload for other goroutines than the benchmark's.
func (p *transferPeer) tryUpload(b *testing.B, id string, size int64, write int) (float64, error) {
	req, _ := http.NewRequestWithContext(b.Context(), "PUT", p.url+"/v2/images/"+id+"/file", &chunkedPattern{p: newPattern(size), write: write})
	req.Header.Set("X-Auth-Token", p.client.TokenID)
	req.Header.Set("Content-Type", "application/octet-stream")
	start := time.Now()
	resp, err := transferHTTP.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s: upload: %w", p.name, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return 0, fmt.Errorf("%s: upload: %s %s", p.name, resp.Status, body)
	}
	return mbps(size, time.Since(start)), nil
}

// download GETs the image's data, reading it 1 MiB at a time (the client
// must not be what bounds the figure), and returns MiB/s.
func (p *transferPeer) download(b *testing.B, id string, size int64) float64 {
	req, _ := http.NewRequestWithContext(b.Context(), "GET", p.url+"/v2/images/"+id+"/file", nil)
	req.Header.Set("X-Auth-Token", p.client.TokenID)
	start := time.Now()
	resp, err := transferHTTP.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("%s: download: %v %v", p.name, resp, err)
	}
	n, err := io.CopyBuffer(discardWriter{}, resp.Body, make([]byte, 1<<20))
	resp.Body.Close()
	if err != nil || n != size {
		b.Fatalf("%s: downloaded %d of %d bytes: %v", p.name, n, size, err)
	}
	return mbps(n, time.Since(start))
}

// cpu is the user+system CPU time its processes have used so far.
func (p *transferPeer) cpu() time.Duration {
	var total time.Duration
	for _, pid := range p.pids() {
		total += time.Duration(procCPU(pid) * float64(time.Second))
	}
	return total
}

// discardWriter drops what it is given; unlike io.Discard it has no
// ReadFrom, so io.CopyBuffer reads through the caller's large buffer.
type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// chunkedPattern is a body of unknown length that reaches the connection
// write bytes at a time: the HTTP client makes each Write one chunk.
type chunkedPattern struct {
	p     *patternReader
	write int
}

func (c *chunkedPattern) Read(buf []byte) (int, error) { return c.p.Read(buf[:min(len(buf), c.write)]) }

func (c *chunkedPattern) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for c.p.n > 0 {
		n := int64(min(c.write, len(c.p.block)-c.p.off))
		n = min(n, c.p.n)
		m, err := w.Write(c.p.block[c.p.off : c.p.off+int(n)])
		total += int64(m)
		c.p.n -= int64(m)
		c.p.off = (c.p.off + m) % len(c.p.block)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// hashCPU returns the CPU time of md5 then sha512 over n pattern bytes on
// one thread of the bench process: the least any server must spend on an
// upload, since Glance's checksum and os_hash_value are these two hashes.
func hashCPU(n int64) time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	block := newPattern(0).block
	start := threadCPU()
	for _, h := range []hash.Hash{md5.New(), sha512.New()} {
		for left := n; left > 0; left -= int64(len(block)) {
			h.Write(block[:min(int64(len(block)), left)])
		}
		h.Sum(nil)
	}
	return threadCPU() - start
}

// threadCPU is the calling thread's user+system CPU time.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(1, &ru) // RUSAGE_THREAD
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// transferCases are the figures of one round, in the order printed.
var transferCases = []string{"upload, 64 KiB writes", "upload, 1 MiB writes", "download right after upload", "cold download", "warm download"}

// transferRound measures every case once on p with 1 GiB images and
// returns MiB/s per case and the server CPU time of the two uploads.
func transferRound(b *testing.B, p *transferPeer) (map[string]float64, time.Duration) {
	const size = 1 << 30
	r := map[string]float64{}
	dropCaches()
	id := p.create(b)
	cpu := p.cpu()
	r[transferCases[0]] = p.upload(b, id, size, 64<<10)
	cpu = p.cpu() - cpu
	r[transferCases[2]] = p.download(b, id, size)
	dropCaches()
	r[transferCases[3]] = p.download(b, id, size)
	r[transferCases[4]] = p.download(b, id, size)
	p.remove(b, id)

	dropCaches()
	id = p.create(b)
	before := p.cpu()
	r[transferCases[1]] = p.upload(b, id, size, 1<<20)
	cpu += p.cpu() - before
	p.remove(b, id)
	return r, cpu
}

// concurrentUploads uploads n images of size bytes at once (1 MiB writes)
// and returns the aggregate MiB/s.
func concurrentUploads(b *testing.B, p *transferPeer, n int, size int64) float64 {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = p.create(b)
	}
	dropCaches()
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := time.Now()
	for i, id := range ids {
		wg.Go(func() { _, errs[i] = p.tryUpload(b, id, size, 1<<20) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	rate := mbps(int64(n)*size, time.Since(start))
	for _, id := range ids {
		p.remove(b, id)
	}
	return rate
}

// BenchmarkVersusGlanceTransfer puts our server (MariaDB, file store) and
// the real Glance 25 (MariaDB, file store) side by side with the same Go
// client and 1 GiB images, alternating, three rounds: chunked uploads with
// 64 KiB writes (as curl -T and glanceclient send) and 1 MiB writes; a
// download right after the upload, one with the page cache dropped, and a
// second one. It prints every sample and the median ratio ours/Glance per
// case; the server CPU per uploaded GiB next to md5+sha512 alone over the
// same bytes; the peak RSS growth of our server; and aggregate upload
// throughput with 1, 4 and 16 concurrent 256 MiB uploads.
func BenchmarkVersusGlanceTransfer(b *testing.B) {
	for b.Loop() {
		g := startRealGlance(b)
		s := NewServer(b, []string{"IMAGESTACK_DATABASE_DSN=" + dbtest.MySQLDSN(b)}, "")
		pid := s.cmd.Process.Pid
		ours := &transferPeer{name: "ours", url: s.ImageURL, client: imageClient(b, s, "demo"), pids: func() []int { return []int{pid} }}
		glance := &transferPeer{name: "Glance", url: g.ImageURL, client: g.Client, pids: g.PIDs}
		peers := []*transferPeer{ours, glance}
		fmt.Printf("side by side with the real Glance 25 (file store, MariaDB, one worker), 1 GiB images, same Go client; %s\n", cacheNote())

		rates := map[string]map[string]samples{ours.name: {}, glance.name: {}}
		cpu := map[string]samples{}
		var hashes samples
		rssIdle := procKB(pid, "VmRSS")
		resetPeak(pid)
		for round := range 3 {
			order := peers
			if round%2 == 1 { // alternate who goes first, so that drift cancels
				order = []*transferPeer{glance, ours}
			}
			for _, p := range order {
				r, c := transferRound(b, p)
				for k, v := range r {
					rates[p.name][k] = append(rates[p.name][k], v)
				}
				cpu[p.name] = append(cpu[p.name], c.Seconds()/2)
			}
			hashes = append(hashes, hashCPU(1<<30).Seconds())
		}
		printTransferRates(rates, ours.name, glance.name)
		fmt.Printf("server CPU per uploaded GiB (s): ours %.2f [%s], Glance %.2f [%s]; md5+sha512 alone over 1 GiB in the bench process %.2f [%s]; ours / md5+sha512 = %.2f (goal <= 1.25)\n",
			cpu[ours.name].median(), cpu[ours.name].join("%.2f"), cpu[glance.name].median(), cpu[glance.name].join("%.2f"),
			hashes.median(), hashes.join("%.2f"), cpu[ours.name].median()/hashes.median())
		fmt.Printf("our server RSS: idle %d MiB, peak growth over all 1 GiB uploads and downloads %.1f MiB (goal <= 64)\n",
			rssIdle>>10, float64(procKB(pid, "VmHWM")-rssIdle)/1024)

		fmt.Printf("concurrent uploads of 256 MiB images (1 MiB writes), aggregate MiB/s:\n%-12s %8s %8s %6s\n", "uploads", "ours", "Glance", "ratio")
		for _, n := range []int{1, 4, 16} {
			o := concurrentUploads(b, ours, n, 256<<20)
			gl := concurrentUploads(b, glance, n, 256<<20)
			fmt.Printf("%-12d %8.0f %8.0f %6.2f\n", n, o, gl, o/gl)
		}
	}
}

// printTransferRates prints each case's samples and median ratio.
func printTransferRates(rates map[string]map[string]samples, ours, glance string) {
	for _, c := range transferCases {
		o, g := rates[ours][c], rates[glance][c]
		var ratios samples
		for i := range o {
			ratios = append(ratios, o[i]/g[i])
		}
		goal := 1.5
		if strings.HasPrefix(c, "upload") {
			goal = 2
		}
		fmt.Printf("%-28s ours %4.0f MiB/s [%v]  Glance %4.0f MiB/s [%v]  ratio %.2f [%s] (goal >= %.1f)\n",
			c+":", o.median(), o, g.median(), g, ratios.median(), ratios.ratios(), goal)
	}
}
