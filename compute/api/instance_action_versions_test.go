package api_test

import (
	"strings"
	"testing"

	"imagestack/compute/computetest"
)

// TestInstanceActionEvents: each action records its event with start,
// finish and result; show gives events to admins (with tracebacks) and to
// everyone from 2.51, hostId from 2.62 and host to admins from 2.62; lists
// page from 2.58 with updated_at; a deleted server's actions stay visible
// from 2.21.
func TestInstanceActionEvents(t *testing.T) {
	s := computetest.NewSetup(t, computetest.WithAPI())
	srv := s.Server
	resp, body := do(t, srv, "POST", "/v2.1/servers", "member", `{"server":{"name":"vm","imageRef":"img","flavorRef":"1"}}`)
	if resp.StatusCode != 202 {
		t.Fatalf("create: %d %v", resp.StatusCode, body)
	}
	id := body["server"].(map[string]any)["id"].(string)
	s.Service.Wait()
	do(t, srv, "POST", "/v2.1/servers/"+id+"/action", "member", `{"os-stop":null}`)
	s.Service.Wait()
	_, body = do(t, srv, "GET", "/v2.1/servers/"+id+"/os-instance-actions", "member", "", mv("2.58")...)
	acts := body["instanceActions"].([]any)
	if len(acts) != 2 || acts[0].(map[string]any)["action"] != "stop" || acts[0].(map[string]any)["updated_at"] == nil {
		t.Fatalf("actions at 2.58: %v", body)
	}
	stopReq := acts[0].(map[string]any)["request_id"].(string)
	path := "/v2.1/servers/" + id + "/os-instance-actions/" + stopReq
	_, body = do(t, srv, "GET", path, "member", "", mv("2.50")...)
	if _, has := body["instanceAction"].(map[string]any)["events"]; has {
		t.Errorf("member sees events at 2.50: %v", body)
	}
	_, body = do(t, srv, "GET", path, "member", "", mv("2.51")...)
	ev := body["instanceAction"].(map[string]any)["events"].([]any)[0].(map[string]any)
	if ev["event"] != "compute_stop_instance" || ev["result"] != "Success" || ev["finish_time"] == nil || ev["start_time"] == nil {
		t.Fatalf("event at 2.51: %v", ev)
	}
	if _, has := ev["traceback"]; has {
		t.Errorf("member sees a traceback: %v", ev)
	}
	_, body = do(t, srv, "GET", path, "admin", "", mv("2.62")...)
	ev = body["instanceAction"].(map[string]any)["events"].([]any)[0].(map[string]any)
	if _, has := ev["traceback"]; !has || ev["host"] == nil || len(ev["hostId"].(string)) != 56 {
		t.Errorf("admin's event at 2.62: %v", ev)
	}
	_, body = do(t, srv, "GET", path, "admin", "", mv("2.84")...)
	if !strings.Contains(mustJSON(body), `"details":null`) {
		t.Errorf("details at 2.84: %v", body)
	}
	if resp, _ := do(t, srv, "GET", "/v2.1/servers/"+id+"/os-instance-actions/req-nope", "member", ""); resp.StatusCode != 404 {
		t.Errorf("unknown request id: %d", resp.StatusCode)
	}
	_, body = do(t, srv, "GET", "/v2.1/servers/"+id+"/os-instance-actions?limit=1", "member", "", mv("2.58")...)
	if got := mustJSON(body); strings.Count(got, `"request_id"`) != 1 || !strings.Contains(got, `"links":[{"href"`) {
		t.Errorf("first page: %s", got)
	}
	for _, c := range []struct {
		version, query string
		status         int
	}{{"2.58", "?marker=req-nope", 400}, {"2.58", "?changes-since=yesterday", 400},
		{"2.66", "?changes-since=2030-01-01T00:00:00Z&changes-before=2020-01-01T00:00:00Z", 400}} {
		if resp, _ := do(t, srv, "GET", "/v2.1/servers/"+id+"/os-instance-actions"+c.query, "member", "", mv(c.version)...); resp.StatusCode != c.status {
			t.Errorf("%s at %s: %d", c.query, c.version, resp.StatusCode)
		}
	}
	_, body = do(t, srv, "GET", "/v2.1/servers/"+id+"/os-instance-actions?changes-since=2999-01-01T00:00:00Z", "member", "", mv("2.58")...)
	if len(body["instanceActions"].([]any)) != 0 {
		t.Errorf("changes-since in the future: %v", body)
	}
	do(t, srv, "DELETE", "/v2.1/servers/"+id, "member", "")
	s.Service.Wait()
	if resp, _ := do(t, srv, "GET", "/v2.1/servers/"+id+"/os-instance-actions", "member", "", mv("2.20")...); resp.StatusCode != 404 {
		t.Errorf("deleted server's actions at 2.20: %d", resp.StatusCode)
	}
	_, body = do(t, srv, "GET", "/v2.1/servers/"+id+"/os-instance-actions", "member", "", mv("2.21")...)
	if acts, _ := body["instanceActions"].([]any); len(acts) != 3 {
		t.Errorf("deleted server's actions at 2.21: %v", body)
	}
}
