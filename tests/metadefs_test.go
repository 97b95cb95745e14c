package tests

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// standardMetadefs is where Debian's glance-common installs Glance's
// standard namespace files (scripts/test-env.sh installs it).
const standardMetadefs = "/etc/glance/metadefs"

// TestGlanceclientMetadefs: a new server has loaded Glance's standard
// metadata definitions on its first start; glanceclient's md-* commands
// create, show (with a resource type's prefix), extend and delete a
// namespace as an admin; a member sees public namespaces only and may not
// create one; `imagestack manage load-metadefs` keeps what is stored.
func TestGlanceclientMetadefs(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(standardMetadefs, "*.json"))
	if len(files) == 0 {
		t.Fatalf("no Glance metadata definition files in %s: install glance-common (scripts/test-env.sh does)", standardMetadefs)
	}
	s := NewServer(t, nil, "")
	const ns = "Test::Metadefs"
	// glanceclient takes seconds per command on a busy host: independent
	// commands run side by side.
	out := glanceAll(t, s,
		glanceRun{"admin", []string{"md-namespace-create", ns, "--display-name", "Test definitions", "--visibility", "public"}, ""},
		glanceRun{"admin", []string{"md-namespace-create", "Test::Private"}, ""},
		glanceRun{"demo", []string{"md-namespace-create", "Mine"}, "403"},
		glanceRun{"demo", []string{"md-namespace-show", "OS::Compute::CPUPinning", "--resource-type", "OS::Nova::Flavor"}, ""})
	// The standard namespaces were loaded on the first start; the flavor
	// prefix applies to CPU pinning.
	if !strings.Contains(out[3], "hw:cpu_policy") {
		t.Fatalf("CPU pinning for flavors lacks the hw: prefix:\n%s", out[3])
	}
	out = glanceAll(t, s,
		glanceRun{"admin", []string{"md-property-create", ns, "--name", "speed", "--title", "Speed", "--schema", `{"type": "string", "enum": ["slow", "fast"]}`}, ""},
		glanceRun{"admin", []string{"md-object-create", ns, "--name", "Disk", "--schema",
			`{"description": "a disk", "required": ["size"], "properties": {"size": {"type": "integer", "title": "Size", "minimum": 1}}}`}, ""},
		glanceRun{"admin", []string{"md-tag-create-multiple", ns, "--names", "red,green", "--delim", ","}, ""},
		glanceRun{"admin", []string{"md-resource-type-associate", ns, "--name", "OS::Glance::Image", "--prefix", "test_"}, ""},
		glanceRun{"demo", []string{"md-namespace-list"}, ""},
		glanceRun{"demo", []string{"md-namespace-show", "Test::Private"}, "404"})
	// A member lists the standard and public namespaces, never a private one.
	if l := out[4]; !strings.Contains(l, "OS::Glance::Signatures") || !strings.Contains(l, ns) || strings.Contains(l, "Test::Private") {
		t.Fatalf("member's namespace list:\n%s", l)
	}
	// glanceclient 4.1's --append sends the header as a bool, which its own
	// header encoding rejects before sending ("quote_from_bytes() expected
	// bytes", against Glance 25 too): append as a fixed client would.
	appendTags(t, s, ns, `{"tags": [{"name": "blue"}]}`)
	out = glanceAll(t, s,
		glanceRun{"demo", []string{"md-namespace-show", ns, "--resource-type", "OS::Glance::Image"}, ""},
		glanceRun{"demo", []string{"md-namespace-resource-type-list", ns}, ""},
		glanceRun{"demo", []string{"md-object-show", ns, "Disk"}, ""})
	if show := out[0]; !strings.Contains(show, "test_speed") || !strings.Contains(show, "Test definitions") ||
		!strings.Contains(show, `["blue", "green", "red"]`) || !strings.Contains(show, `["Disk"]`) {
		t.Fatalf("namespace shown for images:\n%s", show)
	}
	if !strings.Contains(out[1], "OS::Glance::Image") || !strings.Contains(out[1], "test_") || !strings.Contains(out[2], "a disk") {
		t.Fatalf("associations or object:\n%s\n%s", out[1], out[2])
	}
	glanceAll(t, s, glanceRun{"admin", []string{"md-namespace-delete", ns}, ""},
		glanceRun{"admin", []string{"md-namespace-delete", "Test::Private"}, ""})

	// Loading again keeps every standard namespace as stored.
	cmd := exec.Command(serverBin, "-config", s.ConfigPath, "manage", "load-metadefs", standardMetadefs)
	cmd.Env = append(os.Environ(), "STATE_DIR="+s.StateDir)
	load, err := cmd.CombinedOutput()
	if err != nil || strings.Count(string(load), "kept namespace") != len(files) {
		t.Fatalf("load-metadefs again: %v\n%s", err, load)
	}
}

// appendTags posts tags to a namespace with X-Openstack-Append: True.
func appendTags(t *testing.T, s *Server, ns, body string) {
	t.Helper()
	c := imageClient(t, s, "admin")
	req, _ := http.NewRequest("POST", s.ImageURL+"/v2/metadefs/namespaces/"+ns+"/tags", strings.NewReader(body))
	req.Header.Set("X-Auth-Token", c.TokenID)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Openstack-Append", "True")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("append tags: %s", resp.Status)
	}
}

// glanceRun is one glanceclient command as cloud; fail, when set, is a text
// the command's failure must show (it must fail then).
type glanceRun struct {
	cloud string
	args  []string
	fail  string
}

// glanceAll runs the commands at once and returns their outputs in order.
func glanceAll(t *testing.T, s *Server, runs ...glanceRun) []string {
	t.Helper()
	outs, errs := make([]string, len(runs)), make([]error, len(runs))
	var wg sync.WaitGroup
	for i, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command("sh", append([]string{"-c", `exec glance "$@" <&-`, "glance"}, r.args...)...)
			cmd.Env = cloudEnv(s.Cloud(r.cloud))
			b, err := cmd.CombinedOutput()
			outs[i], errs[i] = string(b), err
		}()
	}
	wg.Wait()
	for i, r := range runs {
		switch {
		case r.fail == "" && errs[i] != nil:
			t.Fatalf("glance %v as %s: %v\n%s", r.args, r.cloud, errs[i], outs[i])
		case r.fail != "" && (errs[i] == nil || !strings.Contains(outs[i], r.fail)):
			t.Fatalf("glance %v as %s: %v, want a failure with %s\n%s", r.args, r.cloud, errs[i], r.fail, outs[i])
		}
	}
	return outs
}
