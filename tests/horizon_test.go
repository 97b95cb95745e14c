package tests

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// horizonRoot is where Debian's openstack-dashboard package installs
// Horizon's manage.py.
const horizonRoot = "/usr/share/openstack-dashboard"

// horizonSettings is a Django settings module layered over the packaged
// one: it points Horizon at the test's identity URL (from the environment,
// so that two Horizons never share a settings file), keeps sessions in
// signed cookies (no memcached), logs every API request Horizon makes
// with its answer (tokens hashed), for the log a failed test prints, and
// takes HORIZON_IMAGES_UPLOAD_MODE from each request's
// imagestack_upload_mode cookie, so that one Horizon serves both the
// 'legacy' and the 'direct' upload. The mode only picks which path the
// browser's Create Image takes (Horizon's server side serves both); Horizon
// reads it once, at import, into the /api/settings/ answer, which is where
// the middleware sets it.
const horizonSettings = `import os
from openstack_dashboard.settings import *  # noqa: F401,F403
OPENSTACK_KEYSTONE_URL = os.environ["HZ_KEYSTONE_URL"]
ALLOWED_HOSTS = ['*']
SESSION_ENGINE = 'django.contrib.sessions.backends.signed_cookies'
HORIZON_IMAGES_UPLOAD_MODE = 'legacy'


class UploadModeFromCookie:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from openstack_dashboard.api.rest.config import Settings
        mode = request.COOKIES.get('imagestack_upload_mode', 'legacy')
        mode = mode if mode in ('legacy', 'direct') else 'legacy'
        Settings.SPECIALS['HORIZON_IMAGES_UPLOAD_MODE'] = mode
        return self.get_response(request)


MIDDLEWARE = list(MIDDLEWARE) + ['imagestack_test_settings.UploadModeFromCookie']
LOGGING['handlers']['imagestack_api'] = {'level': 'DEBUG', 'class': 'logging.StreamHandler', 'formatter': 'console'}
for _name in ('keystoneauth', 'keystoneclient', 'novaclient', 'glanceclient', 'neutronclient'):
    LOGGING['loggers'][_name] = {'handlers': ['imagestack_api'], 'level': 'DEBUG', 'propagate': False}
`

// Horizon is one Django development server of Debian's Horizon, started by
// a test against one imagestack and stopped at the test's end.
type Horizon struct {
	URL     string // e.g. http://127.0.0.1:41235
	LogPath string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// StartHorizon runs Horizon on a free loopback port against identityV3
// (e.g. http://127.0.0.1:5000/v3) and waits until its login page answers.
// It is killed (with anything it started) when the test ends; a failed
// test prints its log.
func StartHorizon(t *testing.T, identityV3 string) *Horizon {
	t.Helper()
	return StartHorizonOn(t, identityV3, freePort(t))
}

// StartHorizonOn is StartHorizon on addr (host:port), for a test that must
// know Horizon's origin before it starts the server (CORS).
func StartHorizonOn(t *testing.T, identityV3, addr string) *Horizon {
	t.Helper()
	if _, err := os.Stat(filepath.Join(horizonRoot, "manage.py")); err != nil {
		t.Fatal("Horizon is not installed (openstack-dashboard): run scripts/test-env.sh, which installs it")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "imagestack_test_settings.py"), []byte(horizonSettings), 0o644); err != nil {
		t.Fatal(err)
	}
	h := &Horizon{URL: "http://" + addr, LogPath: filepath.Join(dir, "horizon.log"), exited: make(chan struct{})}
	logf, err := os.Create(h.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	h.cmd = exec.Command("/usr/bin/python3", "manage.py", "runserver", strings.TrimPrefix(h.URL, "http://"), "--insecure", "--noreload")
	h.cmd.Dir = horizonRoot
	h.cmd.Env = append(cleanEnv(), "HZ_KEYSTONE_URL="+identityV3, "PYTHONPATH="+dir,
		"DJANGO_SETTINGS_MODULE=imagestack_test_settings", "PYTHONDONTWRITEBYTECODE=1")
	h.cmd.Stdout, h.cmd.Stderr = logf, logf
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = h.cmd.Wait(); close(h.exited) }()
	t.Cleanup(func() { h.stop(t) })
	h.waitUp(t)
	return h
}

func (h *Horizon) waitUp(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(h.URL + "/auth/login/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-h.exited:
			t.Fatalf("Horizon exited during start-up:\n%s", h.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("Horizon did not answer in 90s (%v):\n%s", err, h.Log())
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// stop kills Horizon's process group and prints its log if the test failed.
func (h *Horizon) stop(t *testing.T) {
	_ = syscall.Kill(-h.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-h.exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
		<-h.exited
	}
	if t.Failed() {
		t.Logf("Horizon log (%s):\n%s", h.LogPath, h.Log())
	}
}

// Log is Horizon's output so far without the deprecation warnings its
// policy files print at start-up.
func (h *Horizon) Log() string {
	data, _ := os.ReadFile(h.LogPath)
	var keep []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, "DeprecationWarning") || strings.Contains(line, "failed scope check") ||
			strings.TrimSpace(line) == "warnings.warn(" {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n")
}

// browserDir holds the node scripts and their package.json.
const browserDir = "browser"

// installBrowserDeps runs `npm ci` in tests/browser unless playwright-core
// is there already; a lock keeps two test processes from installing at once.
func installBrowserDeps(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("npm"); err != nil {
		t.Fatal("npm is not installed: run scripts/test-env.sh")
	}
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		t.Fatal("/usr/bin/chromium is not installed: run scripts/test-env.sh")
	}
	lock, err := os.OpenFile(filepath.Join(browserDir, ".install.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(filepath.Join(browserDir, "node_modules", "playwright-core", "package.json")); err == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = browserDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in tests/browser: %v\n%s", err, out)
	}
}

// runBrowser runs the node script tests/browser/<script> with cfg as its
// JSON configuration ($HORIZON_TEST), within timeout; it returns the
// script's output and whether it passed. Chromium and node are killed with
// their process group when the script ends or times out.
func runBrowser(t *testing.T, script string, cfg map[string]any, timeout time.Duration) (string, bool) {
	t.Helper()
	data, _ := json.Marshal(cfg)
	cmd := exec.Command("node", script)
	cmd.Dir = browserDir
	// Chromium's profile and sockets go to a folder the test removes, even
	// when the browser is killed.
	cmd.Env = append(cleanEnv(), "HORIZON_TEST="+string(data), "TMPDIR="+t.TempDir())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(timeout):
		err = fmt.Errorf("timed out after %v", timeout)
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	// Chromium's helpers are in node's process group: none may outlive it.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if err != nil {
		return out.String() + "\n" + err.Error(), false
	}
	return out.String(), true
}

// artifactsDir is a folder for the browser's screenshots, kept (and named
// in the log) only when the test fails.
func artifactsDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "horizon-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("browser screenshots kept in %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	return dir
}

// horizonSteps turns on the browser flows that need the server actions
// and hypervisor routes of issue 14: resize with confirm, suspend/resume,
// shelve/unshelve, and the pre-2.53 GET /os-hypervisors/{host}/servers of
// Horizon's hypervisor page. All are on; the switches let a run focus.
var horizonSteps = map[string]bool{
	"resize":            true,
	"suspend":           true,
	"shelve":            true,
	"hypervisorServers": true,
}

// TestHorizon drives Horizon as a person would. As demo: the Compute and
// Network pages, a key pair made with Horizon's dialog, an instance launched
// from the Images panel's Launch button (an uploaded image, a flavor, the
// shared network, the default security group, a key pair made with the CLI)
// until Active with its address, then Edit Instance (a rename), Lock and
// Unlock, Pause and Resume, Create Snapshot (listed in Images), the detail
// page's Overview, Action Log (a row per action) and Console tabs (noVNC
// must connect), and Delete. As admin, while the instance runs: Admin >
// Overview (the demo project's usage), Hypervisors (the host counting the
// instance, its servers, the compute service) and Flavors, creating a private flavor
// the demo project gets access to, which demo's Launch Instance then lists.
// Before all that, demo creates an image from a local file in Horizon's
// legacy upload mode and one in its direct mode (the browser PUTs the file
// to the image API, which CORS allows from Horizon's origin only); both
// must download byte for byte. Metadata from Glance's standard metadefs is
// added with the Launch wizard's Metadata step and the instance's, the
// image's and the private flavor's Update Metadata dialogs.
// Any 5xx, error toast (but the Neutron ones listed in horizon.mjs) or
// Django error page fails it. $HORIZON_SHOTS names a folder for
// screenshots of the key pages.
func TestHorizon(t *testing.T) {
	// The test's name is short on purpose: its state directory, named after
	// it, holds the servers' VNC sockets, whose paths have at most 107 bytes.
	requireLibvirt(t)
	installBrowserDeps(t)
	// Horizon's origin is known before the server starts: CORS allows it
	// (and only it) for the direct upload.
	horizonAddr := freePort(t)
	s := NewServer(t, nil, "cors:\n  allowed_origins: [http://"+horizonAddr+"]\n")
	s.MustCLI("demo", "image", "create", "--file", bootImage(t, "IMAGESTACK-HORIZON"), "--disk-format", "raw",
		"--container-format", "bare", "horizon-tiny")
	s.MustCLI("demo", "keypair", "create", "--private-key", filepath.Join(t.TempDir(), "key"), "horizon-key")
	h := StartHorizonOn(t, s.IdentityURL+"/v3", horizonAddr)
	checkCORS(t, s.ImageURL+"/v2/images/x/file", h.URL)
	uploads := horizonUploads(t)
	demo, admin := s.Cloud("demo"), s.Cloud("admin")
	cfg := map[string]any{
		"url": h.URL, "username": demo["username"], "password": demo["password"], "project": demo["project_name"],
		"admin": map[string]string{"username": admin["username"], "password": admin["password"]},
		"image": "horizon-tiny", "flavor": "m1.nano", "keypair": "horizon-key",
		"network": "private", "securityGroup": "default", "newKeypair": "horizon-made-key",
		"instance": "horizon-vm", "renamed": "horizon-vm-renamed", "snapshot": "horizon-vm-snap",
		"resizeFlavor": "m1.micro", "privateFlavor": "horizon-private", "steps": horizonSteps,
		"artifacts": artifactsDir(t), "shots": os.Getenv("HORIZON_SHOTS"), "activeTimeoutMs": 240_000,
		"imageURL": s.ImageURL, "uploads": uploads, "metadata": horizonMetadata, "metadataImage": uploads[0]["name"],
	}
	out, ok := runBrowser(t, "horizon.mjs", cfg, 12*time.Minute)
	t.Logf("browser:\n%s", out)
	if !ok {
		t.Fatal("the Horizon browser run failed (see above)")
	}
	// What the browser did must be what the API says: the snapshot is an
	// image of demo's, the flavor private with demo's project given access,
	// the server gone.
	var image map[string]any
	if show := s.MustCLI("demo", "image", "show", "-f", "json", "horizon-vm-snap"); json.Unmarshal([]byte(show), &image) != nil ||
		image["status"] == "killed" || image["status"] == "deleted" {
		t.Fatalf("the snapshot made in Horizon: %s", show)
	}
	var flavor map[string]any
	if show := s.MustCLI("demo", "flavor", "show", "-f", "json", "horizon-private"); json.Unmarshal([]byte(show), &flavor) != nil ||
		flavor["os-flavor-access:is_public"] != false || flavor["vcpus"] != float64(1) || flavor["ram"] != float64(64) {
		t.Fatalf("the private flavor made in Horizon, as demo sees it: %s", show)
	}
	if list := s.MustCLI("demo", "server", "list", "-f", "value", "-c", "Name"); strings.TrimSpace(list) != "" {
		t.Fatalf("servers left after Horizon deleted its instance: %s", list)
	}
	for _, u := range uploads {
		sameImageBytes(t, s, u["name"], u["file"])
	}
	checkHorizonMetadata(t, s, uploads[0]["name"], "horizon-private")
}

// horizonMetadata are the properties Horizon's Update Metadata dialogs
// and the Launch wizard's Metadata step add from Glance's standard metadefs
// (which the server loads from /etc/glance/metadefs at its first start):
// namespace (and object, after " > ") and label as Horizon's tree shows
// them, the name with the resource type's prefix (hw_ on images, hw: on
// flavors; servers take the namespaces whose properties_target is metadata).
var horizonMetadata = map[string]map[string]string{
	"image":    {"namespace": "Watchdog Behavior", "label": "Watchdog Action", "name": "hw_watchdog_action", "value": "reset"},
	"flavor":   {"namespace": "Watchdog Behavior", "label": "Watchdog Action", "name": "hw:watchdog_action", "value": "poweroff"},
	"launch":   {"namespace": "Database Software > MySQL", "label": "Version", "name": "sw_database_mysql_version", "value": "8.0"},
	"instance": {"namespace": "Runtime Environment > Python", "label": "Version", "name": "sw_runtime_python_version", "value": "3.11"},
}

// checkHorizonMetadata asks the image and compute APIs (through
// gophercloud) whether the image's and the flavor's Update Metadata
// dialogs did their work.
func checkHorizonMetadata(t *testing.T, s *Server, image, flavor string) {
	t.Helper()
	want := horizonMetadata["image"]
	if got := findImage(t, imageClient(t, s, "admin"), image).Properties[want["name"]]; got != want["value"] {
		t.Errorf("image %s after Update Metadata in Horizon: %s=%v, want %s", image, want["name"], got, want["value"])
	}
	cc := computeClient(t, s, "admin")
	pages, err := flavors.ListDetail(cc, flavors.ListOpts{AccessType: flavors.AllAccess}).AllPages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	all, _ := flavors.ExtractFlavors(pages)
	want = horizonMetadata["flavor"]
	for _, f := range all {
		if f.Name != flavor {
			continue
		}
		specs, err := flavors.ListExtraSpecs(t.Context(), cc, f.ID).Extract()
		if err != nil || specs[want["name"]] != want["value"] {
			t.Errorf("flavor %s after Update Metadata in Horizon: %v %v, want %s=%s", flavor, specs, err, want["name"], want["value"])
		}
		return
	}
	t.Errorf("no flavor %s", flavor)
}

// findImage is the image named name.
func findImage(t *testing.T, ic *gophercloud.ServiceClient, name string) images.Image {
	t.Helper()
	pages, err := images.List(ic, images.ListOpts{Name: name}).AllPages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	found, err := images.ExtractImages(pages)
	if err != nil || len(found) != 1 {
		t.Fatalf("images named %s: %v %v", name, found, err)
	}
	return found[0]
}

// checkCORS sends url the preflight a browser sends before Horizon's
// direct upload, from Horizon's origin and from another: only Horizon's
// gets CORS headers, both without a token.
func checkCORS(t *testing.T, url, horizon string) {
	t.Helper()
	for origin, allowed := range map[string]bool{horizon: true, "http://elsewhere.example.com": false} {
		req, _ := http.NewRequest(http.MethodOptions, url, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "PUT")
		req.Header.Set("Access-Control-Request-Headers", "content-type,x-auth-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("Access-Control-Allow-Origin")
		if resp.StatusCode != http.StatusNoContent || (got == origin) != allowed || (!allowed && got != "") {
			t.Fatalf("preflight from %s: %s, Access-Control-Allow-Origin %q (allowed: %v)", origin, resp.Status, got, allowed)
		}
	}
}

// horizonUploads are the images TestHorizon creates from a local file, one
// per Horizon upload mode, each with bytes of its own (an odd size, so that
// a lost or doubled chunk shows).
func horizonUploads(t *testing.T) []map[string]string {
	dir := t.TempDir()
	var uploads []map[string]string
	for i, mode := range []string{"legacy", "direct"} {
		data := make([]byte, 3<<20+12345*(i+1))
		if _, err := rand.Read(data); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, "horizon-"+mode+".raw")
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
		uploads = append(uploads, map[string]string{"mode": mode, "name": "horizon-" + mode + "-upload", "file": file})
	}
	return uploads
}

// sameImageBytes downloads the image through the image API (gophercloud)
// and compares it with the file it was made from.
func sameImageBytes(t *testing.T, s *Server, name, file string) {
	t.Helper()
	ic := imageClient(t, s, "demo")
	rc, err := imagedata.Download(t.Context(), ic, findImage(t, ic, name).ID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("image %s made in Horizon: %d bytes downloaded differ from the %d uploaded", name, len(got), len(want))
	}
}
