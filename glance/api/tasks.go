package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/glance"
	"imagestack/glance/service"
)

// The tasks API (/v2/tasks): deprecated in Glance but still served, and
// used by gophercloud's tasks package and glanceclient's task-* commands.
// Unlike GET /v2/images/{id}/tasks, it shows times with a zone ("Z").

// taskDetail is one task as GET/POST /v2/tasks show it: image_id,
// request_id, user_id and expires_at only when set.
type taskDetail struct {
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	Status    string         `json:"status"`
	Owner     string         `json:"owner"`
	Input     map[string]any `json:"input"`
	Result    map[string]any `json:"result"`
	Message   string         `json:"message"`
	ImageID   string         `json:"image_id,omitempty"`
	RequestID string         `json:"request_id,omitempty"`
	UserID    string         `json:"user_id,omitempty"`
	ExpiresAt string         `json:"expires_at,omitempty"`
	CreatedAt string         `json:"created_at"`
	UpdatedAt string         `json:"updated_at"`
	Self      string         `json:"self"`
	Schema    string         `json:"schema"`
}

// taskStub is a task in GET /v2/tasks: no input, result or message.
type taskStub struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Status    string `json:"status"`
	Owner     string `json:"owner"`
	ExpiresAt string `json:"expires_at,omitempty"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
	Self      string `json:"self"`
	Schema    string `json:"schema"`
}

func taskStubView(t *glance.Task) taskStub {
	b := taskStub{ID: t.ID, Type: t.Type, Status: t.Status, Owner: t.Owner, CreatedAt: glanceTime(t.CreatedAt),
		UpdatedAt: glanceTime(t.UpdatedAt), Self: "/v2/tasks/" + t.ID, Schema: "/v2/schemas/task"}
	if t.ExpiresAt != nil {
		b.ExpiresAt = glanceTime(*t.ExpiresAt)
	}
	return b
}

func taskDetailView(t *glance.Task) taskDetail {
	s := taskStubView(t)
	return taskDetail{ID: s.ID, Type: s.Type, Status: s.Status, Owner: s.Owner, Input: t.Input, Result: t.Result,
		Message: t.Message, ImageID: t.ImageID, RequestID: t.RequestID, UserID: t.UserID, ExpiresAt: s.ExpiresAt,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, Self: s.Self, Schema: s.Schema}
}

// taskPage is GET /v2/tasks.
type taskPage struct {
	Tasks  []taskStub `json:"tasks"`
	First  string     `json:"first"`
	Next   string     `json:"next,omitempty"`
	Schema string     `json:"schema"`
}

// parseTaskQuery reads GET /v2/tasks parameters as Glance's tasks
// deserializer does; parameters it does not know are ignored, as there.
func parseTaskQuery(v url.Values) (glance.TaskQuery, error) {
	q := glance.TaskQuery{Limit: defaultLimit, SortKey: v.Get("sort_key"), Desc: true, Status: v.Get("status"),
		Type: v.Get("type"), ImageID: v.Get("image_id"), Marker: v.Get("marker")}
	if v.Has("limit") {
		n, err := strconv.Atoi(v.Get("limit"))
		if err != nil {
			return q, paramError("limit param must be an integer")
		}
		if n < 0 {
			return q, paramError("limit param must be positive")
		}
		q.Limit = min(n, maxLimit)
	}
	if v.Has("marker") && uuid.Validate(q.Marker) != nil {
		return q, paramError("Invalid marker format")
	}
	switch dir := v.Get("sort_dir"); dir {
	case "", "desc":
	case "asc":
		q.Desc = false
	default:
		return q, paramError("Invalid sort direction: " + dir)
	}
	if q.SortKey != "" && !slices.Contains(glance.TaskSortKeys, q.SortKey) {
		return q, paramError("Sort key supplied was not valid.")
	}
	if q.Status != "" && !slices.Contains(glance.TaskStatuses, q.Status) {
		return q, paramError("Invalid status value: " + q.Status)
	}
	if q.Type != "" && !slices.Contains(glance.TaskTypes, q.Type) {
		return q, paramError("Invalid type value: " + q.Type)
	}
	return q, nil
}

// listTasks answers GET /v2/tasks (tasks_api_access is checked first).
func (a *API) listTasks(w http.ResponseWriter, r *http.Request) {
	c := a.caller(r)
	if err := a.svc.TasksAccess(c); err != nil {
		a.fail(w, r, err)
		return
	}
	q, err := parseTaskQuery(r.URL.Query())
	var pe paramError
	if errors.As(err, &pe) {
		badRequest(w, r, pe.Error())
		return
	}
	ts := []*glance.Task{}
	if q.Limit > 0 { // limit=0 asks for an empty page
		if ts, err = a.svc.Tasks(r.Context(), c, q); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	last := ""
	if len(ts) > 0 {
		last = ts[len(ts)-1].ID
	}
	first, next := pageLinksAt("/v2/tasks", r.URL.RawQuery, q.Limit > 0 && len(ts) == q.Limit, last)
	httpx.WriteJSON(w, http.StatusOK, taskPage{Tasks: httpx.ListOf(ts, taskStubView), First: first, Next: next, Schema: "/v2/schemas/tasks"})
}

// showTask answers GET /v2/tasks/{id}.
func (a *API) showTask(w http.ResponseWriter, r *http.Request) {
	t, err := a.svc.Task(r.Context(), a.caller(r), mux.Vars(r)["task_id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, taskDetailView(t))
}

// createTask answers POST /v2/tasks with 201: access first, then the body
// against the task schema, as Glance's deserializer checks them.
func (a *API) createTask(w http.ResponseWriter, r *http.Request) {
	c := a.caller(r)
	if err := a.svc.TasksAccess(c); err != nil {
		a.fail(w, r, err)
		return
	}
	var body map[string]any
	if !decodeJSON(w, r, &body) {
		return
	}
	nt, err := newTaskFromJSON(body)
	if err != nil {
		badRequest(w, r, err.Error())
		return
	}
	t, err := a.svc.CreateTask(r.Context(), c, nt, httpx.RequestID(r.Context()))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v2/tasks/"+t.ID)
	httpx.WriteJSON(w, http.StatusCreated, taskDetailView(t))
}

// deleteTask answers DELETE /v2/tasks/{id} as Glance does: tasks are never
// deleted by hand, only when they expire.
func (a *API) deleteTask(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.TasksAccess(a.caller(r)); err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Allow", http.MethodGet)
	writeError(w, r, http.StatusMethodNotAllowed, "This operation is currently not permitted on Glance Tasks. "+
		"They are auto deleted after reaching the time based on their expires_at property.")
}

// newTaskFromJSON checks a POST /v2/tasks body against the task schema:
// type and input required, type one of the schema's, input an object (or
// null), no attribute the schema does not name (the others it names are
// ignored, as in Glance).
func newTaskFromJSON(body map[string]any) (service.NewTask, error) {
	if body == nil {
		return service.NewTask{}, errors.New("Body expected in request.")
	}
	for _, k := range []string{"type", "input"} {
		if _, ok := body[k]; !ok {
			return service.NewTask{}, fmt.Errorf("Task '%s' is required", k)
		}
	}
	props := taskSchema()["properties"].(map[string]any)
	for k := range body {
		if _, ok := props[k]; !ok {
			return service.NewTask{}, schemaError(fmt.Sprintf("Additional properties are not allowed ('%s' was unexpected)", k))
		}
	}
	typ, ok := body["type"].(string)
	if !ok || !slices.Contains(glance.TaskTypes, typ) {
		return service.NewTask{}, schemaError(fmt.Sprintf("%s is not one of ['%s']", pyRepr(body["type"]), strings.Join(glance.TaskTypes, "', '")))
	}
	input, ok := body["input"].(map[string]any)
	if !ok && body["input"] != nil {
		return service.NewTask{}, schemaError(fmt.Sprintf("%s is not of type 'null', 'object'", pyRepr(body["input"])))
	}
	return service.NewTask{Type: typ, Input: input}, nil
}

// schemaError is Glance's wording for a body the task schema refuses.
func schemaError(reason string) error {
	return errors.New("Provided object does not match schema 'task': " + reason)
}

// pyRepr shows a JSON value roughly as Python's repr does in jsonschema's
// messages.
func pyRepr(v any) string {
	if s, ok := v.(string); ok {
		return "'" + s + "'"
	}
	return fmt.Sprint(v)
}

// taskProperties are the task schema's properties (Glance's _TASK_SCHEMA);
// the list's items leave out input, result and message.
func taskProperties(stub bool) map[string]any {
	optObject := []string{"null", "object"}
	p := map[string]any{
		"id":         prop("string", "An identifier for the task", "pattern", uuidRegex),
		"type":       prop("string", "The type of task represented by this content", "enum", glance.TaskTypes),
		"status":     prop("string", "The current status of this task", "enum", glance.TaskStatuses),
		"input":      prop(optObject, "The parameters required by task, JSON blob"),
		"result":     prop(optObject, "The result of current task, JSON blob"),
		"owner":      prop("string", "An identifier for the owner of this task"),
		"message":    prop("string", "Human-readable informative message only included when appropriate (usually on failure)"),
		"image_id":   prop("string", "Image associated with the task"),
		"request_id": prop("string", "Human-readable informative request-id"),
		"user_id":    prop("string", "User associated with the task"),
		"expires_at": prop([]string{"null", "string"}, "Datetime when this resource would be subject to removal"),
		"created_at": prop("string", "Datetime when this resource was created"),
		"updated_at": prop("string", "Datetime when this resource was updated"),
		"self":       map[string]any{"readOnly": true, "type": "string"},
		"schema":     map[string]any{"readOnly": true, "type": "string"},
	}
	if stub {
		delete(p, "input")
		delete(p, "result")
		delete(p, "message")
	}
	return p
}

// taskSchema is GET /v2/schemas/task: glanceclient builds its task model
// from it and validates every task it shows against it.
func taskSchema() map[string]any {
	return map[string]any{"name": "task", "properties": taskProperties(false)}
}

// tasksSchema is GET /v2/schemas/tasks (Glance serves the minimal
// collection schema).
func tasksSchema() map[string]any {
	return map[string]any{
		"name": "tasks",
		"properties": map[string]any{
			"tasks":  map[string]any{"type": "array", "items": map[string]any{"name": "task", "properties": taskProperties(true)}},
			"schema": map[string]any{"type": "string"},
		},
		"links": []map[string]string{{"rel": "describedby", "href": "{schema}"}},
	}
}
