package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// replicaClients is how many clients send requests at once in the replica
// benchmark, and replicaWindow how long each sample lasts.
const (
	replicaClients = 8
	replicaWindow  = 5 * time.Second
)

// replicaHTTP keeps a connection per client open, as real clients do.
var replicaHTTP = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: replicaClients}, Timeout: time.Minute}

// BenchmarkReplicas measures token issue and image create+list throughput
// through one API replica (api-1 directly) and through HAProxy over the
// three replicas of the test topology (scripts/topology.sh, without
// compute hosts), alternating, three samples each, and prints the rates
// and the median ratio (3 replicas / 1).
func BenchmarkReplicas(b *testing.B) {
	b.Setenv("TOPO_COMPUTE", "0")
	tp := StartTopology(b)
	demo := tp.Cloud("demo")
	one := strings.Replace(demo["auth_url"], "127.0.0.10", "127.0.0.11", 1)
	three := demo["auth_url"]
	for b.Loop() {
		for _, c := range []struct {
			name string
			run  func(identity string) float64
		}{
			{"token issue (POST /v3/auth/tokens)", func(id string) float64 { return rate(b, func() error { _, err := issueToken(id, demo); return err }) }},
			{"image create + list (POST /v2/images, GET /v2/images?limit=20)", func(id string) float64 { return createListRate(b, id, demo) }},
		} {
			var r1, r3 []float64
			for range 3 {
				r1 = append(r1, c.run(one))
				r3 = append(r3, c.run(three))
			}
			fmt.Printf("replicas: %s, %d clients, %v per sample: 1 replica %s/s, 3 replicas behind HAProxy %s/s; median ratio %.2fx\n",
				c.name, replicaClients, replicaWindow, joinRates(r1), joinRates(r3), median(r3)/median(r1))
		}
	}
}

// rate runs replicaClients loops of op for replicaWindow and returns the
// successful ops per second; any failure fails the benchmark.
func rate(b *testing.B, op func() error) float64 {
	var n atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	end := time.Now().Add(replicaWindow)
	for range replicaClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				if err := op(); err != nil {
					failed.Store(err)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		b.Fatal(err)
	}
	return float64(n.Load()) / replicaWindow.Seconds()
}

// createListRate is rate of one image create and one list of 20, with a
// token issued once through the same endpoint; the images are deleted
// afterwards.
func createListRate(b *testing.B, identity string, cloud map[string]string) float64 {
	tok, err := issueToken(identity, cloud)
	if err != nil {
		b.Fatal(err)
	}
	image := strings.Replace(identity, ":5000", ":9292", 1)
	image = strings.TrimSuffix(strings.TrimSuffix(image, "/v3"), "/")
	var mu sync.Mutex
	var ids []string
	r := rate(b, func() error {
		var im struct{ ID string }
		if err := call("POST", image+"/v2/images", tok, map[string]any{"name": "replica-bench", "disk_format": "raw", "container_format": "bare"}, &im); err != nil {
			return err
		}
		mu.Lock()
		ids = append(ids, im.ID)
		mu.Unlock()
		return call("GET", image+"/v2/images?limit=20", tok, nil, nil)
	})
	for _, id := range ids {
		_ = call("DELETE", image+"/v2/images/"+id, tok, nil, nil)
	}
	return r
}

// issueToken issues a project-scoped token for cloud's user at identity.
func issueToken(identity string, c map[string]string) (string, error) {
	body := map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{"user": map[string]any{
			"name": c["username"], "password": c["password"], "domain": map[string]string{"name": c["user_domain_name"]}}}},
		"scope": map[string]any{"project": map[string]any{"name": c["project_name"], "domain": map[string]string{"name": c["project_domain_name"]}}}}}
	data, _ := json.Marshal(body)
	resp, err := replicaHTTP.Post(strings.TrimSuffix(identity, "/")+"/auth/tokens", "application/json", bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("token issue at %s: %s", identity, resp.Status)
	}
	return resp.Header.Get("X-Subject-Token"), nil
}

// call sends a JSON request with tok and decodes a 2xx answer into out.
func call(method, url, tok string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, _ := json.Marshal(in)
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return err
	}
	req.Header.Set("X-Auth-Token", tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := replicaHTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: %s %s", method, url, resp.Status, msg)
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func joinRates(rs []float64) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = fmt.Sprintf("%.0f", r)
	}
	return strings.Join(s, "/")
}

func median(rs []float64) float64 {
	s := slices.Clone(rs)
	slices.Sort(s)
	return s[len(s)/2]
}
