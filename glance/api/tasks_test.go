package api

import (
	"encoding/json"
	"net/url"
	"testing"
)

// TestTaskBodiesAndParameters: POST /v2/tasks bodies and GET /v2/tasks
// parameters refused with Glance 25's messages (first line of its
// jsonschema text), and the schemas glanceclient loads.
func TestTaskBodiesAndParameters(t *testing.T) {
	for body, want := range map[string]string{
		`{}`:                                 "Task 'type' is required",
		`{"type":"import"}`:                  "Task 'input' is required",
		`{"type":"foo","input":{}}`:          "Provided object does not match schema 'task': 'foo' is not one of ['import', 'api_image_import']",
		`{"type":"import","input":[]}`:       "Provided object does not match schema 'task': [] is not of type 'null', 'object'",
		`{"type":"import","input":{},"b":1}`: "Provided object does not match schema 'task': Additional properties are not allowed ('b' was unexpected)",
	} {
		var m map[string]any
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatal(err)
		}
		if _, err := newTaskFromJSON(m); err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
	if nt, err := newTaskFromJSON(map[string]any{"type": "import", "input": nil, "status": "pending"}); err != nil || nt.Input != nil {
		t.Errorf("input null: %+v %v", nt, err)
	}
	for query, want := range map[string]string{
		"limit=x": "limit param must be an integer", "limit=-1": "limit param must be positive", "marker=abc": "Invalid marker format",
		"sort_dir=up": "Invalid sort direction: up", "sort_key=size": "Sort key supplied was not valid.",
		"status=done": "Invalid status value: done", "type=copy": "Invalid type value: copy",
	} {
		v, _ := url.ParseQuery(query)
		if _, err := parseTaskQuery(v); err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", query, err, want)
		}
	}
	q, err := parseTaskQuery(url.Values{"limit": {"5000"}, "sort_dir": {"asc"}, "type": {"api_image_import"}})
	if err != nil || q.Limit != maxLimit || q.Desc || q.Type != "api_image_import" {
		t.Errorf("parsed %+v %v", q, err)
	}
	if _, ok := taskSchema()["additionalProperties"]; ok || len(taskProperties(false)) != 15 || len(taskProperties(true)) != 12 {
		t.Error("the task schema differs from Glance 25's")
	}
}
