package tests

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/tasks"
)

// TestTasksAPI drives the tasks API as gophercloud's tasks package and
// glanceclient's task-* commands use it: legacy import tasks created from
// a URL (the image appears, active, with the data's checksum), Glance's
// 400s, admin-only access, list filters and paging through `next`, and
// times with a zone.
func TestTasksAPI(t *testing.T) {
	data := make([]byte, 96<<10)
	rand.Read(data)
	sum := md5.Sum(data)
	web := serveDisk(t, data)
	s := NewServer(t, nil, "image: {web_download: {allowed_networks: [\"127.0.0.1/32\"]}}")
	c := imageClient(t, s, "admin")
	legacy := func(from string, props map[string]any) tasks.CreateOpts {
		return tasks.CreateOpts{Type: "import", Input: map[string]any{"import_from": from, "import_from_format": "raw", "image_properties": props}}
	}

	created, err := tasks.Create(t.Context(), c, legacy(web.URL+"/disk.raw", map[string]any{"name": "legacy", "disk_format": "raw", "container_format": "bare"})).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if created.Status != "pending" || created.Type != "import" || created.CreatedAt.IsZero() || created.Self != "/v2/tasks/"+created.ID {
		t.Fatalf("created task: %+v", created)
	}
	done := waitLegacyTask(t, c, created.ID, "success")
	imageID, _ := done.Result["image_id"].(string)
	im, err := images.Get(t.Context(), c, imageID).Extract()
	if err != nil || im.Status != "active" || im.Checksum != hex.EncodeToString(sum[:]) || im.Name != "legacy" {
		t.Fatalf("imported image: %+v %v", im, err)
	}
	if d := done.ExpiresAt.Sub(done.UpdatedAt); d != 48*time.Hour {
		t.Fatalf("expires_at %v is %v after updated_at, want Glance's 48 hours", done.ExpiresAt, d)
	}

	// A task whose input lacks a field fails, leaving no image behind.
	bad, err := tasks.Create(t.Context(), c, tasks.CreateOpts{Type: "import", Input: map[string]any{"import_from": web.URL + "/disk.raw", "image_properties": map[string]any{}}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if failed := waitLegacyTask(t, c, bad.ID, "failure"); failed.Message != "Input does not contain 'import_from_format' field" {
		t.Fatalf("failed task: %+v", failed)
	}
	// A download that fails deletes the image the task made.
	missing, err := tasks.Create(t.Context(), c, legacy(web.URL+"/missing", map[string]any{"name": "gone", "disk_format": "raw", "container_format": "bare"})).Extract()
	if err != nil {
		t.Fatal(err)
	}
	waitLegacyTask(t, c, missing.ID, "failure")
	if all, _ := images.List(c, images.ListOpts{Name: "gone"}).AllPages(t.Context()); all != nil {
		if ims, _ := images.ExtractImages(all); len(ims) != 0 {
			t.Fatalf("a failed import task left its image: %+v", ims)
		}
	}

	checkTaskErrors(t, s, c, web.URL)
	checkTaskList(t, c, created.ID, bad.ID, missing.ID)
	checkGlanceTaskCLI(t, s, web.URL)

}

// TestTaskExpiry: with a short task_time_to_live, a task that has ended
// shows expires_at that much after it ended, then is gone: 404, and no
// longer listed.
func TestTaskExpiry(t *testing.T) {
	s := NewServer(t, nil, "image: {task_time_to_live: 3s}")
	c := imageClient(t, s, "admin")
	task, err := tasks.Create(t.Context(), c, tasks.CreateOpts{Type: "import", Input: map[string]any{"import_from": "http://example.com/disk.raw"}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	done := waitLegacyTask(t, c, task.ID, "failure") // no import_from_format
	if d := done.ExpiresAt.Sub(done.UpdatedAt); d != 3*time.Second {
		t.Fatalf("expires_at %v is %v after updated_at", done.ExpiresAt, d)
	}
	eventually(t, 10*time.Second, func() (bool, string) {
		_, err := tasks.Get(t.Context(), c, task.ID).Extract()
		return gophercloud.ResponseCodeIs(err, 404), fmt.Sprintf("expired task: %v", err)
	})
	if all := listAllTasks(t, c, tasks.ListOpts{}); len(all) != 0 {
		t.Fatalf("expired tasks listed: %+v", all)
	}
}

// waitLegacyTask polls a task until it has status, and returns it.
func waitLegacyTask(t *testing.T, c *gophercloud.ServiceClient, id, status string) *tasks.Task {
	t.Helper()
	var tk *tasks.Task
	eventually(t, 30*time.Second, func() (bool, string) {
		var err error
		tk, err = tasks.Get(t.Context(), c, id).Extract()
		if err != nil {
			return false, err.Error()
		}
		return tk.Status == status, "task " + id + " is " + tk.Status + ": " + tk.Message
	})
	return tk
}

func listAllTasks(t *testing.T, c *gophercloud.ServiceClient, opts tasks.ListOpts) []tasks.Task {
	t.Helper()
	pages, err := tasks.List(c, opts).AllPages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	all, err := tasks.ExtractTasks(pages)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// checkTaskErrors: Glance's 400s, and 403 for non-admins.
func checkTaskErrors(t *testing.T, s *Server, c *gophercloud.ServiceClient, webURL string) {
	t.Helper()
	for _, in := range []tasks.CreateOpts{
		{Type: "nonsense", Input: map[string]any{}},
		{Type: "import", Input: map[string]any{}},
		{Type: "import", Input: map[string]any{"import_from": "file:///etc/passwd"}},
		{Type: "import", Input: map[string]any{"import_from": "ftp://example.com/x"}},
		{Type: "import", Input: map[string]any{"import_from": "http://10.1.2.3/disk.raw"}}, // not an allowed network
		{Type: "api_image_import", Input: map[string]any{}},
	} {
		if _, err := tasks.Create(t.Context(), c, in).Extract(); !gophercloud.ResponseCodeIs(err, 400) {
			t.Fatalf("create %+v: %v, want 400", in, err)
		}
	}
	for _, q := range []tasks.ListOpts{{SortDir: "sideways"}, {SortKey: "size"}, {Status: "done"}, {Marker: "not-a-uuid"}, {Marker: "6a1c8f02-59e4-4b4e-9d80-2a6a1a4a1a4a"}} {
		if _, err := tasks.List(c, q).AllPages(t.Context()); !gophercloud.ResponseCodeIs(err, 400) {
			t.Fatalf("list %+v: %v, want 400", q, err)
		}
	}
	demo := imageClient(t, s, "demo")
	if _, err := tasks.List(demo, nil).AllPages(t.Context()); !gophercloud.ResponseCodeIs(err, 403) {
		t.Fatalf("demo lists tasks: %v", err)
	}
	if _, err := tasks.Create(t.Context(), demo, tasks.CreateOpts{Type: "import", Input: map[string]any{"import_from": webURL}}).Extract(); !gophercloud.ResponseCodeIs(err, 403) {
		t.Fatalf("demo creates a task: %v", err)
	}
}

// checkTaskList: filters, sort and paging one task at a time through `next`.
func checkTaskList(t *testing.T, c *gophercloud.ServiceClient, success string, failures ...string) {
	t.Helper()
	ids := func(ts []tasks.Task) []string {
		var out []string
		for _, tk := range ts {
			out = append(out, tk.ID)
			if tk.CreatedAt.IsZero() || tk.ExpiresAt.IsZero() || tk.Input != nil {
				t.Fatalf("listed task: %+v", tk)
			}
		}
		return out
	}
	if got := ids(listAllTasks(t, c, tasks.ListOpts{Status: tasks.TaskStatusSuccess})); len(got) != 1 || got[0] != success {
		t.Fatalf("successful tasks: %v", got)
	}
	// Tasks made within a second are ordered by id: compare the pages with
	// the whole list in one page.
	want := ids(listAllTasks(t, c, tasks.ListOpts{SortDir: "asc"}))
	if got := ids(listAllTasks(t, c, tasks.ListOpts{Limit: 1, SortDir: "asc"})); len(want) != 1+len(failures) || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("tasks one per page, oldest first: %v, want %v", got, want)
	}
	if got := ids(listAllTasks(t, c, tasks.ListOpts{Limit: 2, SortKey: "status", SortDir: "desc"})); len(got) != 3 || got[0] != success {
		t.Fatalf("tasks by status: %v", got)
	}
}

// checkGlanceTaskCLI: glanceclient loads /v2/schemas/task(s) and validates
// what it shows against them.
func checkGlanceTaskCLI(t *testing.T, s *Server, webURL string) {
	t.Helper()
	glance := func(args ...string) string {
		cmd := exec.Command("glance", args...)
		cmd.Env = cloudEnv(s.Cloud("admin"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("glance %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	out := glance("task-create", "--type", "import", "--input",
		`{"import_from": "`+webURL+`/disk.raw", "import_from_format": "raw", "image_properties": {"name": "via-glance-task", "disk_format": "raw", "container_format": "bare"}}`)
	m := regexp.MustCompile(`\|\s*id\s*\|\s*([0-9a-f-]{36})\s*\|`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("glance task-create: %s", out)
	}
	waitLegacyTask(t, imageClient(t, s, "admin"), m[1], "success")
	if out = glance("task-show", m[1]); !strings.Contains(out, "success") || !strings.Contains(out, "image_id") {
		t.Fatalf("glance task-show: %s", out)
	}
	if out = glance("task-list", "--sort-key", "status", "--page-size", "2"); strings.Count(out, "| import") != 4 {
		t.Fatalf("glance task-list: %s", out)
	}
}
