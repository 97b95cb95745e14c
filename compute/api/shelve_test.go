package api_test

import (
	"net/http"
	"testing"

	"imagestack/compute/computetest"
)

// TestShelveActions: shelve, shelveOffload and unshelve as users see them:
// 202s, the statuses and power states Nova shows, 409s with Nova's text,
// the admin-only offload and unshelve's zone from 2.77.
func TestShelveActions(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithAPI(), computetest.WithShelvedOffloadTime(-1))
	id := e.Boot(t, e.Member).ID
	path := "/v2.1/servers/" + id
	action := func(tok, body string, hdr ...string) (*http.Response, map[string]any) {
		t.Helper()
		resp, m := do(t, e.Server, "POST", path+"/action", tok, body, hdr...)
		e.Service.Wait()
		return resp, m
	}
	show := func() (string, float64, any) {
		_, body := do(t, e.Server, "GET", path, "member", "")
		sv := body["server"].(map[string]any)
		return sv["status"].(string), sv["OS-EXT-STS:power_state"].(float64), sv["OS-EXT-STS:task_state"]
	}
	if resp, body := action("member", `{"unshelve": null}`); resp.StatusCode != 409 ||
		body["conflictingRequest"].(map[string]any)["message"] != "Cannot 'unshelve' instance "+id+" while it is in vm_state active" {
		t.Fatalf("unshelve an active server: %d %v", resp.StatusCode, body)
	}
	if resp, _ := action("member", `{"shelve": {}}`); resp.StatusCode != 202 {
		t.Fatalf("shelve: %d", resp.StatusCode)
	}
	if st, ps, task := show(); st != "SHELVED" || ps != 4 || task != nil {
		t.Fatalf("after shelve: %s %v %v", st, ps, task)
	}
	if resp, _ := action("member", `{"shelveOffload": null}`); resp.StatusCode != 403 {
		t.Fatalf("member offloads: %d", resp.StatusCode)
	}
	// Before 2.77 the zone is ignored; from 2.77 {} and unknown keys are 400.
	if resp, _ := action("admin", `{"shelveOffload": null}`); resp.StatusCode != 202 {
		t.Fatalf("admin offloads: %d", resp.StatusCode)
	}
	if st, ps, _ := show(); st != "SHELVED_OFFLOADED" || ps != 4 {
		t.Fatalf("after shelveOffload: %s %v", st, ps)
	}
	if _, list := do(t, e.Server, "GET", "/v2.1/servers?status=SHELVED_OFFLOADED", "member", ""); len(list["servers"].([]any)) != 1 {
		t.Fatalf("list by status SHELVED_OFFLOADED: %v", list)
	}
	v277 := []string{"OpenStack-API-Version", "compute 2.77"}
	for _, body := range []string{`{"unshelve": {}}`, `{"unshelve": {"host": "h"}}`, `{"unshelve": {"availability_zone": 1}}`, `{"unshelve": "nova"}`} {
		if resp, _ := action("member", body, v277...); resp.StatusCode != 400 {
			t.Errorf("%s at 2.77: %d, want 400", body, resp.StatusCode)
		}
	}
	if resp, body := action("member", `{"unshelve": {"availability_zone": "elsewhere"}}`, v277...); resp.StatusCode != 400 ||
		body["badRequest"].(map[string]any)["message"] != "The requested availability zone is not available" {
		t.Fatalf("unknown zone: %d %v", resp.StatusCode, body)
	}
	if resp, _ := action("member", `{"unshelve": {"availability_zone": "nova"}}`, v277...); resp.StatusCode != 202 {
		t.Fatalf("unshelve into nova: %d", resp.StatusCode)
	}
	if st, ps, _ := show(); st != "ACTIVE" || ps != 1 {
		t.Fatalf("after unshelve: %s %v", st, ps)
	}
	if live := e.Images.Live(); len(live) != 0 {
		t.Fatalf("shelved image left: %v", live)
	}
}

// TestImageActionsAt245: createImage and createBackup answer a Location
// before 2.45 (a backup only when rotation > 0) and {"image_id"} from 2.45;
// createBackup's body is checked as Nova's schema does.
func TestImageActionsAt245(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithAPI())
	id := e.Boot(t, e.Member).ID
	path := "/v2.1/servers/" + id + "/action"
	v245 := []string{"OpenStack-API-Version", "compute 2.45"}
	check := func(body string, hdr []string, wantLocation string, wantBody bool) {
		t.Helper()
		resp, m := do(t, e.Server, "POST", path, "member", body, hdr...)
		e.Service.Wait()
		_, hasID := m["image_id"]
		if resp.StatusCode != 202 || resp.Header.Get("Location") != wantLocation || hasID != wantBody {
			t.Fatalf("%s %v: %d Location %q body %v", body, hdr, resp.StatusCode, resp.Header.Get("Location"), m)
		}
	}
	check(`{"createImage": {"name": "s"}}`, nil, "http://image/v2/images/snap", false)
	check(`{"createImage": {"name": "s"}}`, v245, "", true)
	check(`{"createBackup": {"name": "b", "backup_type": "daily", "rotation": "2"}}`, nil, e.Server.URL+"/v2.1/images/snap-3", false)
	check(`{"createBackup": {"name": "b", "backup_type": "daily", "rotation": 0}}`, nil, "", false)
	check(`{"createBackup": {"name": "b", "backup_type": "", "rotation": 1, "metadata": {"k": "v"}}}`, v245, "", true)
	for _, body := range []string{
		`{"createBackup": {"backup_type": "daily", "rotation": 1}}`,
		`{"createBackup": {"name": "b", "rotation": 1}}`,
		`{"createBackup": {"name": "b", "backup_type": "daily"}}`,
		`{"createBackup": {"name": "b", "backup_type": "daily", "rotation": -1}}`,
		`{"createBackup": {"name": "b", "backup_type": "daily", "rotation": "1a"}}`,
		`{"createBackup": {"name": "b", "backup_type": "daily", "rotation": 1.5}}`,
		`{"createBackup": {"name": "b", "backup_type": 7, "rotation": 1}}`,
		`{"createBackup": {"name": "b", "backup_type": "daily", "rotation": 1, "extra": 1}}`,
		`{"createBackup": {"name": "b", "backup_type": "daily", "rotation": 1, "metadata": {"k": 1}}}`,
		`{"createBackup": {"name": "", "backup_type": "daily", "rotation": 1}}`,
		`{"createBackup": null}`,
	} {
		if resp, _ := do(t, e.Server, "POST", path, "member", body); resp.StatusCode != 400 {
			t.Errorf("%s: %d, want 400", body, resp.StatusCode)
		}
	}
}
