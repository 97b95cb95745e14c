package tests

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/limits"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/registeredlimits"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"

	"imagestack/common/db/dbtest"
)

// TestUnifiedLimitsCLI: an operator manages the image service's limits with
// the openstack CLI (registered limit and limit create, list, show, set,
// delete), and the image service enforces them: an upload past
// image_size_total is 413 and leaves no data, a create past
// image_count_total is 413, and /v2/info/usage reports both.
func TestUnifiedLimitsCLI(t *testing.T) {
	s := NewServer(t, nil, "")
	var rl, l map[string]any
	cliJSON(t, s, "admin", &rl, "registered", "limit", "create", "--service", "image", "--default-limit", "1000", "image_size_total")
	cliJSON(t, s, "admin", &map[string]any{}, "registered", "limit", "create", "--service", "image", "--default-limit", "2", "image_count_total")
	cliJSON(t, s, "admin", &l, "limit", "create", "--project", "demo", "--service", "image", "--resource-limit", "5", "image_size_total")
	if rl["service_id"] != "image" || rl["default_limit"] != 1000.0 || l["resource_limit"] != 5.0 {
		t.Fatalf("created: %v %v", rl, l)
	}
	rlID, lID := rl["id"].(string), l["id"].(string)
	var list []map[string]any
	cliJSON(t, s, "admin", &list, "registered", "limit", "list", "--service", "image")
	if len(list) != 2 {
		t.Fatalf("registered limit list: %v", list)
	}
	s.MustCLI("admin", "limit", "set", "--resource-limit", "1", lID)
	cliJSON(t, s, "demo", &l, "limit", "show", lID) // a member reads its project's limit
	if l["resource_limit"] != 1.0 {
		t.Fatalf("limit after set: %v", l)
	}
	if _, stderr, err := s.CLI("demo", "limit", "set", "--resource-limit", "100", lID); err == nil || !strings.Contains(stderr, "403") {
		t.Fatalf("demo set its own limit: %v %s", err, stderr)
	}
	if _, stderr, err := s.CLI("admin", "registered", "limit", "delete", rlID); err == nil || !strings.Contains(stderr, "project limits associated") {
		t.Fatalf("registered limit with a project limit deleted: %v %s", err, stderr)
	}

	// 3 MiB past the project's 1 MiB: 413, no image data left anywhere.
	big := filepath.Join(t.TempDir(), "big.raw")
	writeRandom(t, big, 3<<20)
	_, stderr, err := s.CLI("demo", "image", "create", "--file", big, "--disk-format", "raw", "--container-format", "bare", "big")
	if err == nil || !strings.Contains(stderr, "413") {
		t.Fatalf("upload past image_size_total: %v %s", err, stderr)
	}
	assertBlobs(t, s, 0)
	small := filepath.Join(t.TempDir(), "small.raw")
	writeRandom(t, small, 1<<20+(1<<19)) // 1.5 MiB: 1 MiB rounded down, as Glance counts
	s.MustCLI("demo", "image", "create", "--file", small, "--disk-format", "raw", "--container-format", "bare", "small")
	s.MustCLI("demo", "image", "create", "--disk-format", "raw", "--container-format", "bare", "second")
	if _, stderr, err := s.CLI("demo", "image", "create", "--disk-format", "raw", "--container-format", "bare", "third"); err == nil ||
		!strings.Contains(stderr, "Resource image_count_total is over limit of 2 due to current usage 2 and delta 1") {
		t.Fatalf("create past image_count_total: %v %s", err, stderr)
	}
	usage := demoUsage(t, s)
	if fmt.Sprint(usage) != "map[image_count_total:map[limit:2 usage:2] image_count_uploading:map[limit:-1 usage:0] "+
		"image_size_total:map[limit:1 usage:1] image_stage_total:map[limit:-1 usage:0]]" {
		t.Fatalf("usage: %v", usage)
	}
	s.MustCLI("admin", "limit", "delete", lID)
	s.MustCLI("admin", "registered", "limit", "delete", rlID)
	cliJSON(t, s, "admin", &list, "limit", "list")
	if len(list) != 0 {
		t.Fatalf("limits left: %v", list)
	}
}

func writeRandom(t *testing.T, path string, n int) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// assertBlobs fails unless the file store holds exactly want blobs (those
// of the active images) and no temporary file.
func assertBlobs(t *testing.T, s *Server, want int) {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Join(s.StateDir, "images", "blobs"))
	tmp, _ := os.ReadDir(filepath.Join(s.StateDir, "images", "tmp"))
	if len(entries) != want || len(tmp) != 0 {
		t.Fatalf("store holds %d blobs (want %d) and %d temporary files", len(entries), want, len(tmp))
	}
}

func demoUsage(t *testing.T, s *Server) map[string]any {
	t.Helper()
	token, _ := demoAuth(t, s)
	status, _, body := getJSON(t, "GET", s.ImageURL+"/v2/info/usage", token)
	if status != 200 {
		t.Fatalf("usage: %d %v", status, body)
	}
	return body["usage"].(map[string]any)
}

// TestUnifiedLimitsGophercloud, on SQLite and MariaDB: gophercloud's
// registeredlimits and limits packages manage the limits; uploads and stages
// stop with 413 as soon as they cross image_size_total / image_stage_total
// and leave the image queued with no data; concurrent uploads of one
// project never store more than the limit together.
func TestUnifiedLimitsGophercloud(t *testing.T) {
	for _, engine := range []string{"sqlite", "mariadb"} {
		t.Run(engine, func(t *testing.T) {
			var env []string
			if engine == "mariadb" {
				env = []string{"IMAGESTACK_DATABASE_DSN=" + dbtest.MySQLDSN(t)}
			}
			unifiedLimitsGophercloud(t, NewServer(t, env, ""))
		})
	}
}

func unifiedLimitsGophercloud(t *testing.T, s *Server) {
	ctx := t.Context()
	admin, err := openstack.AuthenticatedClient(ctx, authOptions(s, "admin"))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := openstack.NewIdentityV3(admin, gophercloud.EndpointOpts{})
	demo, demoProject := demoAuth(t, s)
	rls, err := registeredlimits.BatchCreate(ctx, id, registeredlimits.BatchCreateOpts{
		{ServiceID: "image", ResourceName: "image_size_total", DefaultLimit: 100},
		{ServiceID: "image", ResourceName: "image_stage_total", DefaultLimit: 2},
	}).Extract()
	if err != nil || len(rls) != 2 {
		t.Fatalf("registered limits: %v %v", rls, err)
	}
	ls, err := limits.BatchCreate(ctx, id, limits.BatchCreateOpts{
		{ServiceID: "image", ProjectID: demoProject, ResourceName: "image_size_total", ResourceLimit: 1},
	}).Extract()
	if err != nil || len(ls) != 1 || ls[0].ResourceLimit != 1 {
		t.Fatalf("limits: %v %v", ls, err)
	}
	four := 4
	if l, err := limits.Update(ctx, id, ls[0].ID, limits.UpdateOpts{ResourceLimit: &four}).Extract(); err != nil || l.ResourceLimit != 4 {
		t.Fatalf("limit update: %v %v", l, err)
	}
	pages, _ := limits.List(id, limits.ListOpts{ProjectID: demoProject}).AllPages(ctx)
	if all, _ := limits.ExtractLimits(pages); len(all) != 1 || all[0].ResourceName != "image_size_total" {
		t.Fatalf("limit list: %v", all)
	}
	if m, err := limits.GetEnforcementModel(ctx, id).Extract(); err != nil || m.Name != "flat" {
		t.Fatalf("model: %v %v", m, err)
	}
	if _, err := registeredlimits.Get(ctx, id, rls[0].ID).Extract(); err != nil {
		t.Fatal(err)
	}

	// Stage past 2 MiB: 413, the image queued again with nothing staged.
	img := createImage(t, s, demo, "staged")
	if st, body := putData(t, s, demo, img, "stage", 3<<20); st != 413 || !strings.Contains(body, "image_stage_total") {
		t.Fatalf("stage past image_stage_total = %d %s", st, body)
	}
	if status := imageStatus(t, s, demo, img); status != "queued" {
		t.Fatalf("after refused stage: %s", status)
	}
	for _, dir := range []string{"blobs", "tmp"} {
		if staged, _ := os.ReadDir(filepath.Join(s.StateDir, "staging", dir)); len(staged) != 0 {
			t.Fatalf("staging/%s holds %d files", dir, len(staged))
		}
	}
	// Three concurrent 3 MiB uploads against 4 MiB: at most one stores.
	var wg sync.WaitGroup
	statuses := make([]int, 3)
	for i := range statuses {
		im := createImage(t, s, demo, fmt.Sprint("c", i))
		wg.Add(1)
		go func() { defer wg.Done(); statuses[i], _ = putData(t, s, demo, im, "file", 3<<20) }()
	}
	wg.Wait()
	ok := 0
	for _, st := range statuses {
		if st == 204 {
			ok++
		} else if st != 413 {
			t.Fatalf("concurrent uploads answered %v", statuses)
		}
	}
	if ok > 1 {
		t.Fatalf("concurrent uploads %v: %d stored past the 4 MiB limit", statuses, ok)
	}
	assertBlobs(t, s, ok)
	if u := demoUsage(t, s)["image_size_total"].(map[string]any); u["usage"].(float64) != float64(3*ok) || u["limit"] != 4.0 {
		t.Fatalf("usage after concurrent uploads %v: %v", statuses, u)
	}
	if err := limits.Delete(ctx, id, ls[0].ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := registeredlimits.Delete(ctx, id, rls[1].ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
}

// demoAuth returns a token of demo's and demo's project id.
func demoAuth(t *testing.T, s *Server) (token, project string) {
	t.Helper()
	provider, err := openstack.AuthenticatedClient(t.Context(), authOptions(s, "demo"))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := openstack.NewIdentityV3(provider, gophercloud.EndpointOpts{})
	p, err := tokens.Get(t.Context(), id, provider.Token()).ExtractProject()
	if err != nil {
		t.Fatal(err)
	}
	return provider.Token(), p.ID
}

func imageRequest(t *testing.T, method, url, token string, body io.Reader, contentType string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, body)
	req.Header.Set("X-Auth-Token", token)
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

func createImage(t *testing.T, s *Server, token, name string) string {
	t.Helper()
	st, body := imageRequest(t, "POST", s.ImageURL+"/v2/images", token,
		strings.NewReader(`{"name":"`+name+`","disk_format":"raw","container_format":"bare"}`), "application/json")
	if st != 201 {
		t.Fatalf("create image: %d %s", st, body)
	}
	_, rest, _ := strings.Cut(body, `"id": "`)
	if rest == "" {
		_, rest, _ = strings.Cut(body, `"id":"`)
	}
	return rest[:36]
}

// putData sends n random bytes to the image's file or stage.
func putData(t *testing.T, s *Server, token, image, what string, n int) (int, string) {
	b := make([]byte, n)
	rand.Read(b)
	return imageRequest(t, "PUT", s.ImageURL+"/v2/images/"+image+"/"+what, token, bytes.NewReader(b), "application/octet-stream")
}

func imageStatus(t *testing.T, s *Server, token, image string) string {
	t.Helper()
	st, _, body := getJSON(t, "GET", s.ImageURL+"/v2/images/"+image, token)
	if st != 200 {
		t.Fatalf("show image: %d", st)
	}
	return body["status"].(string)
}
