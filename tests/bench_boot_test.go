package tests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// BenchmarkBootVsImageSize measures POST /servers -> ACTIVE and -> first
// console output of the boot-sector guest on a 64 MiB and a 4 GiB raw
// image padded with random bytes, each sample on a new image (never on the
// host yet), alternating sizes; it prints every sample and the ratios of
// the 4 GiB medians to the 64 MiB ones (goal <= 1.5: with compute.lazy_base
// the boot does not wait for the image). Between samples the previous
// base's background fill is let finish, so samples do not overlap.
// BOOT_SIZE_ROUNDS sets the rounds (3); BOOT_LAZY_BASE=false measures the
// whole-download path instead; BOOT_LOG=file keeps the server log there.
func BenchmarkBootVsImageSize(b *testing.B) {
	requireBenchLibvirt(b)
	rounds := envInt("BOOT_SIZE_ROUNDS", 3)
	extra := ""
	if os.Getenv("BOOT_LAZY_BASE") == "false" { // the whole-download path, for comparison
		extra = "compute:\n  lazy_base: false\n"
	}
	for b.Loop() {
		s := NewServer(b, nil, extra)
		ic, cc := imageClient(b, s, "demo"), computeClient(b, s, "demo")
		// m1.nano's memory and CPU with a disk that holds 4 GiB.
		s.MustCLI("admin", "flavor", "create", "--id", "boot5", "--ram", "128", "--vcpus", "1", "--disk", "5", "bench.boot5")
		sizes := []struct {
			name  string
			bytes int64
		}{{"64 MiB", 64 << 20}, {"4 GiB", 4 << 30}}
		active := map[string][]time.Duration{}
		console := map[string][]time.Duration{}
		for r := 0; r < rounds; r++ {
			for _, sz := range sizes {
				image := uploadPaddedBootImage(b, s, ic, fmt.Sprintf("size-%d-%d", r, sz.bytes), "SIZE-BOOT", sz.bytes)
				id, a, c := bootAndTime(b, cc, image, "boot5", fmt.Sprintf("size-%d", r), "SIZE-BOOT")
				fmt.Printf("boot on an uncached %-6s image, round %d: ACTIVE %v, first console output %v\n", sz.name, r+1, a.Round(time.Millisecond), c.Round(time.Millisecond))
				active[sz.name], console[sz.name] = append(active[sz.name], a), append(console[sz.name], c)
				servers.Delete(b.Context(), cc, id)
				waitDeleted(b, cc, id)
				waitBaseVerified(b, s, image)
				images.Delete(b.Context(), ic, image)
			}
		}
		if f := os.Getenv("BOOT_LOG"); f != "" {
			os.WriteFile(f, []byte(s.log.String()), 0o644)
		}
		for _, what := range []struct {
			name string
			m    map[string][]time.Duration
		}{{"POST -> ACTIVE", active}, {"POST -> first console output", console}} {
			small, big := medianDur(what.m["64 MiB"]), medianDur(what.m["4 GiB"])
			fmt.Printf("%s, uncached: median 64 MiB %v, 4 GiB %v: ratio 4 GiB / 64 MiB %.2f (goal <= 1.5)\n",
				what.name, small.Round(time.Millisecond), big.Round(time.Millisecond), float64(big)/float64(small))
		}
	}
}

// BenchmarkServerBoot prints a table of POST /servers -> ACTIVE times
// (median and max) with 1, 10 and 50 servers booted at once on a cached
// image (the boot-sector guest, TCG, the smallest flavor), each server
// timed from its own POST; then 10 simultaneous boots of one uncached
// 1 GiB image, with the number of image downloads they caused (must be 1).
// BOOT_LOG=file keeps the server log there.
func BenchmarkServerBoot(b *testing.B) {
	requireBenchLibvirt(b)
	for b.Loop() {
		s := NewServer(b, nil, "")
		project := strings.TrimSpace(s.MustCLI("admin", "project", "show", "-f", "value", "-c", "id", "demo"))
		s.MustCLI("admin", "quota", "set", "--instances", "60", "--cores", "60", "--ram", "100000", project)
		ic, cc := imageClient(b, s, "demo"), computeClient(b, s, "demo")
		small := uploadPaddedBootImage(b, s, ic, "bench-small", "BENCH", 1<<20)
		id, _, _ := bootAndTime(b, cc, small, "42", "warm", "BENCH") // fills the cache; not counted
		servers.Delete(b.Context(), cc, id)
		waitDeleted(b, cc, id)
		fmt.Printf("%-22s %10s %10s %10s\n", "concurrent boots", "median", "max", "all ACTIVE")
		for _, n := range []int{1, 10, 50} {
			times, all := concurrentBoots(b, cc, small, n)
			fmt.Printf("%-22d %10v %10v %10v\n", n, medianDur(times).Round(time.Millisecond),
				slices.Max(times).Round(time.Millisecond), all.Round(time.Millisecond))
		}

		big := uploadPaddedBootImage(b, s, ic, "bench-1g", "BIG", 1<<30)
		before := strings.Count(s.log.String(), "image downloaded into the host cache")
		_, all := concurrentBoots(b, cc, big, 10)
		waitBaseVerified(b, s, big)
		downloads := strings.Count(s.log.String(), "image downloaded into the host cache") - before
		fmt.Printf("10 simultaneous boots of one uncached 1 GiB image: all ACTIVE after %v, image downloads: %d (must be 1)\n", all.Round(time.Millisecond), downloads)
		if f := os.Getenv("BOOT_LOG"); f != "" {
			os.WriteFile(f, []byte(s.log.String()), 0o644)
		}
	}
}

// concurrentBoots creates n servers at once (one POST each, in parallel),
// returns each one's time from its POST to ACTIVE and the time until all
// were ACTIVE, then deletes them.
func concurrentBoots(b *testing.B, cc *gophercloud.ServiceClient, image string, n int) ([]time.Duration, time.Duration) {
	ctx := b.Context()
	start := time.Now()
	posted := make([]time.Time, n)
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			posted[i] = time.Now()
			sv, err := servers.Create(ctx, cc, servers.CreateOpts{Name: fmt.Sprintf("conc-%d-%d", n, i), ImageRef: image, FlavorRef: "42"}, nil).Extract()
			if err != nil {
				b.Error(err)
				return
			}
			ids[i] = sv.ID
		}()
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	times := waitAllActive(ctx, b, cc, ids, posted)
	all := time.Since(start)
	for _, id := range ids {
		servers.Delete(ctx, cc, id)
	}
	for _, id := range ids {
		waitDeleted(b, cc, id)
	}
	return times, all
}

// waitAllActive polls the server list until every one of ids is ACTIVE and
// returns each one's time from posted to when it was first seen ACTIVE.
func waitAllActive(ctx context.Context, b *testing.B, cc *gophercloud.ServiceClient, ids []string, posted []time.Time) []time.Duration {
	index := map[string]int{}
	for i, id := range ids {
		index[id] = i
	}
	times := make([]time.Duration, len(ids))
	left := len(ids)
	deadline := time.Now().Add(10 * time.Minute)
	for left > 0 {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d servers not ACTIVE after 10 minutes", left, len(ids))
		}
		pages, err := servers.List(cc, servers.ListOpts{}).AllPages(ctx)
		if err != nil {
			b.Fatal(err)
		}
		list, _ := servers.ExtractServers(pages)
		now := time.Now()
		for _, sv := range list {
			i, ok := index[sv.ID]
			if !ok || times[i] != 0 {
				continue
			}
			switch sv.Status {
			case "ERROR":
				b.Fatalf("server %s in ERROR: %+v", sv.ID, sv.Fault)
			case "ACTIVE":
				times[i] = now.Sub(posted[i])
				left--
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return times
}

// waitBaseVerified waits until the image's base is verified in the host
// cache (its background fill over).
func waitBaseVerified(b *testing.B, s *Server, image string) {
	eventually(b, 5*time.Minute, func() (bool, string) {
		_, err := os.Stat(filepath.Join(s.StateDir, "compute", "base", image))
		return err == nil, "the base of " + image + " is not verified"
	})
}

func medianDur(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func requireBenchLibvirt(b *testing.B) {
	if os.Getenv("TEST_LIBVIRT_URI") == "" {
		b.Fatal("TEST_LIBVIRT_URI is not set: run `make bench`, which starts libvirtd")
	}
}

// envInt is the integer in the environment variable name, or def.
func envInt(name string, def int) int {
	var n int
	if _, err := fmt.Sscan(os.Getenv(name), &n); err != nil || n <= 0 {
		return def
	}
	return n
}
