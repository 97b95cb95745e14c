package tests

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"imagestack/compute"
	"imagestack/compute/computetest/linuxguest"
	"imagestack/compute/configdrive"
)

// patternReader yields n bytes cycling through a random block: cheap to
// produce, incompressible enough, and identical for every consumer.
type patternReader struct {
	block []byte
	n     int64
	off   int
}

func newPattern(n int64) *patternReader {
	b := make([]byte, 8<<20)
	rand.Read(b)
	return &patternReader{block: b, n: n}
}

func (p *patternReader) Read(buf []byte) (int, error) {
	if p.n <= 0 {
		return 0, io.EOF
	}
	want := int64(len(buf))
	if want > p.n {
		want = p.n
	}
	n := copy(buf[:want], p.block[p.off:])
	p.off = (p.off + n) % len(p.block)
	p.n -= int64(n)
	return n, nil
}

// WriteTo lets the HTTP client send the pattern in large chunks straight from
// the block, as a streaming client with its own buffers would (glanceclient
// sends 64 KiB chunks; this sends 1 MiB).
func (p *patternReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for p.n > 0 {
		n := int64(min(1<<20, len(p.block)-p.off))
		if n > p.n {
			n = p.n
		}
		m, err := w.Write(p.block[p.off : p.off+int(n)])
		total += int64(m)
		p.n -= int64(m)
		p.off = (p.off + m) % len(p.block)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func mbps(n int64, d time.Duration) float64 { return float64(n) / d.Seconds() / (1 << 20) }

// procKB reads a "VmRSS"/"VmHWM" style field (kB) of a process.
func procKB(pid int, field string) int64 {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// dropCaches empties the page cache (root only) so that reads hit the disk.
func dropCaches() {
	exec.Command("sync").Run()
	os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0)
}

func cacheNote() string {
	if os.Getuid() == 0 {
		return "page cache dropped before each read"
	}
	return "not root: reads may come from the page cache"
}

// resetPeak resets VmHWM so the next reading is the peak of what follows.
func resetPeak(pid int) { os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) }

// samples holds repeated measurements of one figure.
type samples []float64

func (s samples) median() float64 {
	c := append(samples(nil), s...)
	sort.Float64s(c)
	return c[len(c)/2]
}

// String lists the samples as whole numbers (MiB/s).
func (s samples) String() string { return s.join("%.0f") }

// ratios lists the samples with two decimals.
func (s samples) ratios() string { return s.join("%.2f") }

func (s samples) join(format string) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = fmt.Sprintf(format, v)
	}
	return strings.Join(parts, ", ")
}

// timedDownload GETs the image's data and returns the bytes read and MiB/s.
func timedDownload(b *testing.B, s *Server, token, id string) (int64, float64) {
	req, _ := http.NewRequest("GET", s.ImageURL+"/v2/images/"+id+"/file", nil)
	req.Header.Set("X-Auth-Token", token)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("download: %v %v", resp, err)
	}
	n, _ := io.CopyBuffer(io.Discard, resp.Body, make([]byte, 1<<20))
	resp.Body.Close()
	return n, mbps(n, time.Since(start))
}

// BenchmarkLinuxGuestBoot: POST /servers of the Linux test guest (kernel,
// ramdisk, config drive, a NIC) until it is ACTIVE and until it answers
// HTTP on its fixed address from the network's namespace, median of 3
// (the first boot also fills the image cache and is counted apart); and
// the time to build a config drive.
func BenchmarkLinuxGuestBoot(b *testing.B) {
	if os.Getenv("TEST_LIBVIRT_URI") == "" {
		b.Fatal("TEST_LIBVIRT_URI is not set: run `make bench`, which starts libvirtd")
	}
	g := linuxguest.ForTest(b)
	for b.Loop() {
		s := NewServer(b, nil, "")
		ami := uploadLinuxGuest(b, s, g)
		var active, http samples
		for i := range 4 {
			a, h := timeGuestBoot(b, s, ami, fmt.Sprintf("g%d", i))
			if i == 0 {
				fmt.Printf("Linux guest, uncached image: ACTIVE after %.1f s, HTTP after %.1f s\n", a, h)
				continue
			}
			active, http = append(active, a), append(http, h)
		}
		fmt.Printf("Linux guest, cached image (openstack server create --wait, CLI start-up and its polling included): POST /servers -> ACTIVE median %.1f s [%s], -> HTTP answer median %.1f s [%s]\n",
			active.median(), active.join("%.1f"), http.median(), http.join("%.1f"))
		cd := configDriveTimes(b)
		fmt.Printf("config drive build: median %.0f ms [%s]\n", cd.median(), cd.join("%.0f"))
	}
}

// timeGuestBoot boots one guest and returns the seconds until ACTIVE and
// until it answers HTTP, then deletes it.
func timeGuestBoot(b *testing.B, s *Server, ami, name string) (float64, float64) {
	start := time.Now()
	vm := bootGuest(b, s, name, ami, "--network", "private")
	active := time.Since(start).Seconds()
	fetchFromNetwork(b, s, vm.addr, vm.id)
	answered := time.Since(start).Seconds()
	s.MustCLI("demo", "server", "delete", "--wait", name)
	return active, answered
}

// configDriveTimes builds a typical server's config drive 5 times (ms).
func configDriveTimes(b *testing.B) samples {
	sv := &compute.Server{ID: "8a1e0c2e-5f0b-4a3e-9f57-0c8a3c9b1d22", Name: "vm", Hostname: "vm", ProjectID: "p", KeyName: "k",
		KeyData: "ssh-ed25519 AAAA k", UserData: bytes.Repeat([]byte("#"), 4096),
		NICs: []compute.NIC{{PortID: "p1", NetworkID: "n1", MAC: "fa:16:3e:00:00:01", Device: "tapp1",
			IPs: []compute.FixedIP{{Address: "10.0.0.5", Version: 4, CIDR: "10.0.0.0/24", Gateway: "10.0.0.1"}}}}}
	var ms samples
	for range 5 {
		start := time.Now()
		if err := configdrive.Build(b.Context(), filepath.Join(b.TempDir(), "disk.config"), configdrive.ForServer(sv, "nova", "novalocal", "pw")); err != nil {
			b.Fatal(err)
		}
		ms = append(ms, float64(time.Since(start).Microseconds())/1000)
	}
	return ms
}

// BenchmarkLinuxGuestLifecycle times resize (to VERIFY_RESIZE, confirmed,
// answering HTTP again) and shelve/unshelve (offloaded, then ACTIVE and
// answering HTTP) of the Linux guest through the openstack CLI, next to
// its boot, twice each.
func BenchmarkLinuxGuestLifecycle(b *testing.B) {
	if os.Getenv("TEST_LIBVIRT_URI") == "" {
		b.Fatal("TEST_LIBVIRT_URI is not set: run `make bench`, which starts libvirtd")
	}
	g := linuxguest.ForTest(b)
	for b.Loop() {
		s := NewServer(b, nil, "")
		ami := uploadLinuxGuest(b, s, g)
		var boot, resize, resized, shelve, unshelve, unshelved samples
		for i := range 2 {
			name := fmt.Sprintf("life%d", i)
			start := time.Now()
			vm := bootGuest(b, s, name, ami, "--network", "private")
			fetchFromNetwork(b, s, vm.addr, vm.id)
			boot = append(boot, time.Since(start).Seconds())
			r, h := timeStep(b, s, vm, []string{"server", "resize", "--flavor", "m1.small", "--wait", name}, []string{"server", "resize", "confirm", name})
			resize, resized = append(resize, r), append(resized, h)
			sh, _ := timeStep(b, s, vm, []string{"server", "shelve", "--wait", name}, nil)
			u, h := timeStep(b, s, vm, []string{"server", "unshelve", "--wait", name}, nil)
			shelve, unshelve, unshelved = append(shelve, sh), append(unshelve, u), append(unshelved, h)
			s.MustCLI("demo", "server", "delete", "--wait", name)
		}
		fmt.Printf("Linux guest lifecycle (openstack CLI, seconds): boot -> HTTP median %.1f [%s]\n", boot.median(), boot.join("%.1f"))
		fmt.Printf("  resize m1.tiny -> m1.small: -> VERIFY_RESIZE and confirmed median %.1f [%s], -> HTTP again median %.1f [%s]\n",
			resize.median(), resize.join("%.1f"), resized.median(), resized.join("%.1f"))
		fmt.Printf("  shelve -> SHELVED_OFFLOADED median %.1f [%s]; unshelve -> ACTIVE median %.1f [%s], -> HTTP median %.1f [%s]\n",
			shelve.median(), shelve.join("%.1f"), unshelve.median(), unshelve.join("%.1f"), unshelved.median(), unshelved.join("%.1f"))
		fmt.Printf("  ratios to boot: resize %.2f, unshelve %.2f\n", resized.median()/boot.median(), unshelved.median()/boot.median())
	}
}

// timeStep runs a CLI step (then an optional second one) and returns the
// seconds until they end and until the guest answers HTTP again (0 when
// the steps leave it off).
func timeStep(b *testing.B, s *Server, vm bootedGuest, step, then []string) (float64, float64) {
	start := time.Now()
	s.MustCLI("demo", step...)
	if then != nil {
		s.MustCLI("demo", then...)
	}
	done := time.Since(start).Seconds()
	if step[1] == "shelve" {
		return done, 0
	}
	fetchFromNetwork(b, s, vm.addr, vm.id)
	return done, time.Since(start).Seconds()
}
