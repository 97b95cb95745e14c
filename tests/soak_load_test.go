package tests

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// uploadBehaviour is how one load client sends its image data.
type uploadBehaviour int

const (
	uploadIdle    uploadBehaviour = iota // headers, then nothing
	uploadStalled                        // one chunk, then nothing
	uploadSlow                           // small chunks at a steady pace, then the end
)

// loadUpload runs one chunked PUT as the behaviour says, for at most run,
// and returns the status the server answered.
func loadUpload(s *Server, token, id string, how uploadBehaviour, run time.Duration) (int, http.Header) {
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.ImageURL, "http://"))
	if err != nil {
		return -1, nil
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT /v2/images/%s/file HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\nAccept: application/json\r\n"+
		"Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n", id, token)
	answered := make(chan *http.Response, 1)
	go func() {
		conn.SetReadDeadline(time.Now().Add(run + 2*time.Minute))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			answered <- nil
			return
		}
		io.Copy(io.Discard, resp.Body)
		answered <- resp
	}()
	chunk := bytes.Repeat([]byte("l"), 64<<10)
	send := func() bool {
		_, err := fmt.Fprintf(conn, "%x\r\n%s\r\n", len(chunk), chunk)
		return err == nil
	}
	switch how {
	case uploadStalled:
		send()
	case uploadSlow:
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for end := time.Now().Add(run); time.Now().Before(end); <-tick.C {
			select {
			case resp := <-answered: // refused before the end (503)
				return statusOf(resp)
			default:
			}
			if !send() {
				break
			}
		}
		io.WriteString(conn, "0\r\n\r\n")
	}
	resp := <-answered
	return statusOf(resp)
}

func statusOf(resp *http.Response) (int, http.Header) {
	if resp == nil {
		return -1, nil
	}
	return resp.StatusCode, resp.Header
}

// TestSoakLoad: hundreds of idle, stalled and slow uploads at once beside a
// steady stream of reads. Uploads past image.max_concurrent_uploads are 503
// with Retry-After, idle and stalled ones end with 408 after
// upload_idle_timeout, slow ones complete; no other status appears, reads
// keep their latency, and the server's RSS stays within the stated bound.
func TestSoakLoad(t *testing.T) {
	const slots = 32                  // image.max_concurrent_uploads (the default)
	const perUpload = 12 << 20        // one hashing chunk and one write buffer of 4 MiB, plus slack
	const boundSlack int64 = 96 << 20 // goroutines, connections, database, GC headroom
	uploads := soakPick(150, 600)
	run := soakPick(4*time.Second, 45*time.Second)
	idle := soakPick("2s", "10s")
	s := NewServer(t, nil, "image:\n  upload_idle_timeout: "+idle+"\n")
	c := imageClient(t, s, "demo")
	ctx := t.Context()
	pid := s.cmd.Process.Pid

	readable, err := images.Create(ctx, c, images.CreateOpts{Name: "read-me", DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := uploadRaw(s, c.TokenID, readable.ID, bytes.NewReader(bytes.Repeat([]byte("r"), 4<<20))); err != nil || resp.StatusCode != 204 {
		t.Fatalf("upload of the image to read: %v %v", resp, err)
	}
	ids := make([]string, uploads)
	for i := range ids {
		im, err := images.Create(ctx, c, images.CreateOpts{Name: fmt.Sprintf("load-%d", i), DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = im.ID
	}
	reads := func(d time.Duration) ([]time.Duration, map[int]int) {
		var lat []time.Duration
		codes := map[int]int{}
		for end := time.Now().Add(d); time.Now().Before(end); {
			for _, path := range []string{"/v2/images/" + readable.ID, "/v2/images?limit=50", "/v2/images/" + readable.ID + "/file"} {
				start := time.Now()
				req, _ := http.NewRequest("GET", s.ImageURL+path, nil)
				req.Header.Set("X-Auth-Token", c.TokenID)
				resp, err := http.DefaultClient.Do(req)
				code := -1
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					code = resp.StatusCode
				}
				codes[code]++
				lat = append(lat, time.Since(start))
			}
			time.Sleep(20 * time.Millisecond)
		}
		return lat, codes
	}
	baseLat, _ := reads(2 * time.Second)
	idleRSS := procKB(pid, "VmRSS") << 10
	resetPeak(pid)

	var mu sync.Mutex
	statuses := map[string]int{}
	var wg sync.WaitGroup
	for i, id := range ids {
		how := uploadBehaviour(i % 3)
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, hdr := loadUpload(s, c.TokenID, id, how, run)
			key := fmt.Sprintf("%s:%d", []string{"idle", "stalled", "slow"}[how], code)
			if code == 503 && hdr.Get("Retry-After") == "" {
				key += " without Retry-After"
			}
			mu.Lock()
			statuses[key]++
			mu.Unlock()
		}()
	}
	loadLat, readCodes := reads(run)
	wg.Wait()
	peak := procKB(pid, "VmHWM") << 10

	bound := idleRSS + slots*perUpload + boundSlack
	p95 := func(l []time.Duration) time.Duration { slices.Sort(l); return l[len(l)*95/100] }
	soakReport(t, "%d uploads (idle, stalled, slow) for %v beside reads: statuses %v", uploads, run, statuses)
	soakReport(t, "reads: %d during load, statuses %v, p95 %v (before the load: %v)", len(loadLat), readCodes, p95(loadLat), p95(baseLat))
	soakReport(t, "server RSS: %d MiB idle, peak %d MiB under load, bound %d MiB (idle + %d slots x %d MiB + %d MiB)",
		idleRSS>>20, peak>>20, bound>>20, slots, perUpload>>20, boundSlack>>20)
	for key, n := range statuses {
		ok := map[string]bool{"idle:408": true, "stalled:408": true, "slow:204": true, "idle:503": true, "stalled:503": true, "slow:503": true}
		if !ok[key] {
			t.Errorf("%d uploads answered %s", n, key)
		}
	}
	if statuses["slow:204"] == 0 || statuses["idle:408"]+statuses["stalled:408"] == 0 {
		t.Errorf("expected some completed and some timed-out uploads: %v", statuses)
	}
	if len(readCodes) != 1 || readCodes[200] == 0 {
		t.Errorf("reads under load answered %v, want only 200", readCodes)
	}
	if p95(loadLat) > max(3*p95(baseLat), p95(baseLat)+150*time.Millisecond) {
		t.Errorf("read p95 under load %v, before %v", p95(loadLat), p95(baseLat))
	}
	if peak > bound {
		t.Errorf("server RSS peak %d MiB over the bound %d MiB", peak>>20, bound>>20)
	}
}
