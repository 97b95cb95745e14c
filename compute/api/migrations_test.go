package api_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"imagestack/compute"
	"imagestack/compute/computetest"
)

// movedServer boots a server through the API, records it on h1 and marks
// h1 down.
func movedServer(t *testing.T, e *computetest.Setup) string {
	t.Helper()
	resp, body := do(t, e.Server, "POST", "/v2.1/servers", "member", `{"server": {"name": "vm", "imageRef": "img", "flavorRef": "42"}}`)
	if resp.StatusCode != 202 {
		t.Fatalf("create: %d %v", resp.StatusCode, body)
	}
	id := body["server"].(map[string]any)["id"].(string)
	e.Service.Wait()
	e.PlaceOn(t, id, "h1")
	return id
}

// TestEvacuateAndMigrationsAPI: evacuate answers as Nova does at each
// microversion (adminPass before 2.14, no body after, 400 while the
// host is up), and os-migrations shows the evacuation with the fields of
// each microversion.
func TestEvacuateAndMigrationsAPI(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithHosts("h1", "h2"), computetest.WithAPI())
	id := movedServer(t, e)
	act := "/v2.1/servers/" + id + "/action"
	resp, body := do(t, e.Server, "POST", act, "admin", `{"evacuate": {"onSharedStorage": false}}`)
	if resp.StatusCode != 400 || !strings.Contains(fmt.Sprint(body), "Compute service of h1 is still in use.") {
		t.Fatalf("evacuate from a live host: %d %v", resp.StatusCode, body)
	}
	e.Hosts.SetUp("h1", false)
	for _, c := range []struct{ v, body string }{
		{"2.1", `{"evacuate": {}}`}, {"2.1", `{"evacuate": {"onSharedStorage": true, "adminPass": "x"}}`},
		{"2.14", `{"evacuate": {"onSharedStorage": false}}`}, {"2.29", `{"evacuate": {"force": true}}`},
		{"2.68", `{"evacuate": {"host": "h2", "force": true}}`},
	} {
		if resp, body := do(t, e.Server, "POST", act, "admin", c.body, mv(c.v)...); resp.StatusCode != 400 {
			t.Errorf("evacuate %s at %s: %d %v", c.body, c.v, resp.StatusCode, body)
		}
	}
	if resp, _ := do(t, e.Server, "POST", act, "member", `{"evacuate": {"onSharedStorage": false}}`); resp.StatusCode != 403 {
		t.Fatalf("a member evacuates: %d", resp.StatusCode)
	}
	resp, body = do(t, e.Server, "POST", act, "admin", `{"evacuate": {"onSharedStorage": "False"}}`)
	if pass, _ := body["adminPass"].(string); resp.StatusCode != 200 || pass == "" {
		t.Fatalf("evacuate at 2.1: %d %v", resp.StatusCode, body)
	}
	e.Service.Wait()
	resp, body = do(t, e.Server, "GET", "/v2.1/servers/"+id, "admin", "", mv("2.80")...)
	sv := body["server"].(map[string]any)
	if sv["status"] != "ACTIVE" || sv["OS-EXT-SRV-ATTR:host"] != "h2" {
		t.Fatalf("after evacuate: %v", sv)
	}
	base := "created_at dest_compute dest_host dest_node id instance_uuid new_instance_type_id old_instance_type_id " +
		"source_compute source_node status updated_at"
	for _, c := range []struct{ v, keys string }{
		{"2.1", base}, {"2.23", base + " migration_type"}, {"2.59", base + " migration_type uuid"},
		{"2.80", base + " migration_type project_id user_id uuid"},
	} {
		resp, body := do(t, e.Server, "GET", "/v2.1/os-migrations", "admin", "", mv(c.v)...)
		ms, _ := body["migrations"].([]any)
		if resp.StatusCode != 200 || len(ms) != 1 {
			t.Fatalf("os-migrations at %s: %d %v", c.v, resp.StatusCode, body)
		}
		m := ms[0].(map[string]any)
		want := strings.Fields(c.keys)
		slices.Sort(want)
		if strings.Join(keysOf(m), " ") != strings.Join(want, " ") || m["source_compute"] != "h1" || m["dest_compute"] != "h2" ||
			m["status"] != "done" || m["instance_uuid"] != id || m["old_instance_type_id"] != nil {
			t.Errorf("migration at %s: %v", c.v, m)
		}
		if c.v == "2.80" && (m["migration_type"] != "evacuation" || m["project_id"] != computetest.MemberCreds.ProjectID) {
			t.Errorf("migration at 2.80: %v", m)
		}
	}
	if resp, _ := do(t, e.Server, "GET", "/v2.1/os-migrations", "member", ""); resp.StatusCode != 403 {
		t.Errorf("a member lists migrations: %d", resp.StatusCode)
	}
	e.Hosts.SetUp("h1", true)
	e.Hosts.SetUp("h2", false)
	resp, body = do(t, e.Server, "POST", act, "admin", `{"evacuate": {"host": "h1"}}`, mv("2.14")...)
	if resp.StatusCode != 200 || body != nil {
		t.Fatalf("evacuate at 2.14: %d %v", resp.StatusCode, body)
	}
	e.Service.Wait()
}

// TestMigrationsQueryAndMigrate: filters, 2.59 paging and its refusal of
// unknown parameters, the migrate action (flavor ids as integers), and
// the per-server live migration URLs.
func TestMigrationsQueryAndMigrate(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithHosts("h1", "h2"), computetest.WithAPI())
	id := movedServer(t, e)
	act := "/v2.1/servers/" + id + "/action"
	if resp, body := do(t, e.Server, "POST", act, "admin", `{"migrate": {"host": "h2"}}`, mv("2.56")...); resp.StatusCode != 202 {
		t.Fatalf("migrate: %d %v", resp.StatusCode, body)
	}
	e.Service.Wait()
	if resp, body := do(t, e.Server, "POST", act, "member", `{"confirmResize": null}`); resp.StatusCode != 204 {
		t.Fatalf("confirm: %d %v", resp.StatusCode, body)
	}
	e.Service.Wait()
	if resp, body := do(t, e.Server, "POST", act, "admin", `{"migrate": null}`); resp.StatusCode != 202 {
		t.Fatalf("migrate back: %d %v", resp.StatusCode, body)
	}
	e.Service.Wait()
	resp, body := do(t, e.Server, "GET", "/v2.1/os-migrations?migration_type=migration&limit=1", "admin", "", mv("2.59")...)
	ms, _ := body["migrations"].([]any)
	links, _ := body["migrations_links"].([]any)
	if resp.StatusCode != 200 || len(ms) != 1 || len(links) != 1 {
		t.Fatalf("first page: %d %v", resp.StatusCode, body)
	}
	m := ms[0].(map[string]any)
	if m["status"] != "finished" || m["source_compute"] != "h2" || m["old_instance_type_id"] != float64(42) || m["new_instance_type_id"] != float64(42) {
		t.Fatalf("newest migration: %v", m)
	}
	href := links[0].(map[string]any)["href"].(string)
	next := href[strings.Index(href, "/v2.1/"):]
	_, body = do(t, e.Server, "GET", next, "admin", "", mv("2.59")...)
	if ms, _ := body["migrations"].([]any); len(ms) != 1 || ms[0].(map[string]any)["status"] != "confirmed" {
		t.Fatalf("second page %s: %v", next, body)
	}
	for _, c := range []struct {
		v, q string
		want int
	}{{"2.58", "?foo=1", 200}, {"2.59", "?foo=1", 400}, {"2.59", "?marker=nope", 400}, {"2.79", "?user_id=x", 400},
		{"2.66", "?changes-since=2030-01-01T00:00:00Z&changes-before=2029-01-01T00:00:00Z", 400}} {
		if resp, _ := do(t, e.Server, "GET", "/v2.1/os-migrations"+c.q, "admin", "", mv(c.v)...); resp.StatusCode != c.want {
			t.Errorf("os-migrations%s at %s: %d, want %d", c.q, c.v, resp.StatusCode, c.want)
		}
	}
	_, body = do(t, e.Server, "GET", "/v2.1/os-migrations?host=h1&changes-since=2000-01-01T00:00:00Z", "admin", "", mv("2.80")...)
	if ms, _ := body["migrations"].([]any); len(ms) != 2 {
		t.Errorf("migrations of h1: %v", body)
	}
	if resp, body := do(t, e.Server, "GET", "/v2.1/servers/"+id+"/migrations", "admin", "", mv("2.23")...); resp.StatusCode != 200 || len(body["migrations"].([]any)) != 0 {
		t.Errorf("server migrations in progress: %d %v", resp.StatusCode, body)
	}
	id1 := fmt.Sprint(m["id"])
	if resp, body := do(t, e.Server, "GET", "/v2.1/servers/"+id+"/migrations/"+id1, "admin", "", mv("2.23")...); resp.StatusCode != 404 ||
		!strings.Contains(fmt.Sprint(body), "is not live-migration") {
		t.Errorf("show a cold migration: %d %v", resp.StatusCode, body)
	}
	if resp, _ := do(t, e.Server, "GET", "/v2.1/servers/"+id+"/migrations", "admin", "", mv("2.22")...); resp.StatusCode != 404 {
		t.Errorf("server migrations at 2.22: %d", resp.StatusCode)
	}
}

// TestServerMigrationsInProgress: a live migration under way is listed
// and shown under its server with Nova's fields (progress null), and
// os-migrations links to it from 2.23.
func TestServerMigrationsInProgress(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithHosts("h1", "h2"), computetest.WithAPI())
	id := movedServer(t, e)
	now := time.Now().UTC()
	m := compute.Migration{UUID: "11111111-2222-3333-4444-555555555555", ServerID: id, Type: compute.MigrationLive,
		Status: compute.MigrationRunning, SourceCompute: "h1", SourceNode: "h1.node", DestCompute: "h2", DestNode: "h2.node",
		DestHost: "h2", ProjectID: "A", UserID: "u-A", CreatedAt: now, UpdatedAt: now}
	if err := e.Repo.CreateMigration(context.Background(), &m); err != nil {
		t.Fatal(err)
	}
	base := "created_at dest_compute dest_host dest_node disk_processed_bytes disk_remaining_bytes disk_total_bytes id " +
		"memory_processed_bytes memory_remaining_bytes memory_total_bytes server_uuid source_compute source_node status updated_at"
	mid := fmt.Sprint(m.ID)
	for _, c := range []struct{ v, keys string }{{"2.23", base}, {"2.59", base + " uuid"}, {"2.80", base + " project_id user_id uuid"}} {
		resp, body := do(t, e.Server, "GET", "/v2.1/servers/"+id+"/migrations", "admin", "", mv(c.v)...)
		ms, _ := body["migrations"].([]any)
		want := strings.Fields(c.keys)
		slices.Sort(want)
		if resp.StatusCode != 200 || len(ms) != 1 || strings.Join(keysOf(ms[0].(map[string]any)), " ") != strings.Join(want, " ") {
			t.Fatalf("server migrations at %s: %d %v", c.v, resp.StatusCode, body)
		}
		resp, body = do(t, e.Server, "GET", "/v2.1/servers/"+id+"/migrations/"+mid, "admin", "", mv(c.v)...)
		if got, _ := body["migration"].(map[string]any); resp.StatusCode != 200 || got["server_uuid"] != id || got["status"] != "running" {
			t.Fatalf("show at %s: %d %v", c.v, resp.StatusCode, body)
		}
	}
	if resp, _ := do(t, e.Server, "GET", "/v2.1/servers/"+id+"/migrations", "member", "", mv("2.23")...); resp.StatusCode != 403 {
		t.Errorf("a member lists server migrations: %d", resp.StatusCode)
	}
	_, body := do(t, e.Server, "GET", "/v2.1/os-migrations", "admin", "", mv("2.23")...)
	links, _ := body["migrations"].([]any)[0].(map[string]any)["links"].([]any)
	if len(links) != 2 || !strings.HasSuffix(links[0].(map[string]any)["href"].(string), "/v2.1/servers/"+id+"/migrations/"+mid) {
		t.Errorf("links of a live migration in progress: %v", body)
	}
}

// TestLiveMigrateAPI: os-migrateLive takes Nova's body at each
// microversion (disk_over_commit before 2.25, "auto" from it) and answers
// 202; the server ends on the other host.
func TestLiveMigrateAPI(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithHosts("h1", "h2"), computetest.WithAPI())
	id := movedServer(t, e)
	act := "/v2.1/servers/" + id + "/action"
	for _, c := range []struct{ v, body string }{
		{"2.1", `{"os-migrateLive": {"host": null, "block_migration": true}}`},
		{"2.1", `{"os-migrateLive": {"host": null, "block_migration": "auto", "disk_over_commit": false}}`},
		{"2.25", `{"os-migrateLive": {"block_migration": "auto"}}`},
		{"2.25", `{"os-migrateLive": {"host": null, "block_migration": "auto", "disk_over_commit": false}}`},
		{"2.68", `{"os-migrateLive": {"host": "h2", "block_migration": "auto", "force": true}}`},
		{"2.25", `{"os-migrateLive": {"host": "h9", "block_migration": "auto"}}`},
	} {
		if resp, body := do(t, e.Server, "POST", act, "admin", c.body, mv(c.v)...); resp.StatusCode != 400 {
			t.Errorf("%s at %s: %d %v", c.body, c.v, resp.StatusCode, body)
		}
	}
	if resp, body := do(t, e.Server, "POST", act, "admin", `{"os-migrateLive": {"host": null, "block_migration": "auto"}}`, mv("2.25")...); resp.StatusCode != 202 {
		t.Fatalf("live migrate: %d %v", resp.StatusCode, body)
	}
	e.Service.Wait()
	_, body := do(t, e.Server, "GET", "/v2.1/servers/"+id, "admin", "")
	if sv := body["server"].(map[string]any); sv["status"] != "ACTIVE" || sv["OS-EXT-SRV-ATTR:host"] != "h2" {
		t.Fatalf("after live migration: %v", sv)
	}
	if resp, body := do(t, e.Server, "POST", act, "admin", `{"os-migrateLive": {"host": "h1", "block_migration": true, "disk_over_commit": false}}`); resp.StatusCode != 202 {
		t.Fatalf("live migrate at 2.1: %d %v", resp.StatusCode, body)
	}
	e.Service.Wait()
}
