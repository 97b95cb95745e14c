// Package tests holds black-box tests: they build the real server binary, start
// it on free ports with its own state directory, and drive it with the real
// clients (gophercloud v2 and Debian's openstack CLI).
package tests

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

var serverBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "imagestack-bin")
	if err != nil {
		panic(err)
	}
	serverBin = filepath.Join(dir, "imagestack")
	build := exec.Command("go", "build", "-o", serverBin, "../cmd/imagestack")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building server:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Server is one running imagestack process.
type Server struct {
	t           testing.TB
	StateDir    string
	ConfigPath  string
	IdentityURL string // root, e.g. http://127.0.0.1:41234
	ImageURL    string
	ComputeURL  string
	NetworkURL  string
	ConsoleURL  string   // the console proxy's root
	MetricsURL  string   // the /metrics and /healthcheck listener's root
	Env         []string // extra environment for the process
	cmd         *exec.Cmd
	exited      chan struct{}
	log         *syncBuffer
	printedPath chan string // receives the clouds.yaml path the server prints
}

// shortTempDir is a fresh directory removed at the end of the test, with
// a short path whatever the test's name: a server's VNC socket lives below
// its state directory, and a unix socket path has at most 107 bytes.
func shortTempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "is-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// Ports handed to test servers come from below the kernel's ephemeral range
// (32768 and up here), so that no outgoing connection (a CLI, a curl, the
// server's own clients) can take a port between the moment it is chosen
// and a server's restart on it; each is handed out once per test process.
var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

func freePort(t testing.TB) string {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 1000 {
		p := 20000 + rand.IntN(12000)
		if portsGiven[p] {
			continue
		}
		addr := fmt.Sprintf("127.0.0.1:%d", p)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		l.Close()
		portsGiven[p] = true
		return addr
	}
	t.Fatal("no free port between 20000 and 32000")
	return ""
}

// NewServer writes a config with free ports and starts the server. extra
// config YAML (may be empty) is appended to the generated file.
func NewServer(t testing.TB, env []string, extra string) *Server {
	t.Helper()
	s := &Server{t: t, StateDir: shortTempDir(t), Env: env}
	id, img, cmp, nw, con := freePort(t), freePort(t), freePort(t), freePort(t), freePort(t)
	s.IdentityURL, s.ImageURL, s.ComputeURL = "http://"+id, "http://"+img, "http://"+cmp
	s.NetworkURL, s.ConsoleURL = "http://"+nw, "http://"+con
	met := freePort(t)
	s.MetricsURL = "http://" + met
	cfg := map[string]map[string]any{
		"identity": {"listen": id}, "image": {"listen": img},
		"compute": {"listen": cmp, "virt_type": "qemu", "console": map[string]string{"listen": con}},
		"network": {"listen": nw},
		"metrics": {"listen": met},
		"log":     {"format": "text", "level": "info"},
	}
	var more map[string]map[string]any
	if err := yaml.Unmarshal([]byte(extra), &more); err != nil {
		t.Fatalf("extra config: %v", err)
	}
	for section, kv := range more {
		if cfg[section] == nil {
			cfg[section] = map[string]any{}
		}
		for k, v := range kv {
			cfg[section][k] = v
		}
	}
	if cfg["identity"]["mode"] == "external" { // no identity API of its own
		s.IdentityURL = ""
	}
	data, _ := yaml.Marshal(cfg)
	s.ConfigPath = filepath.Join(t.TempDir(), "imagestack.yaml")
	if err := os.WriteFile(s.ConfigPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	// Cleanups run last-registered first: the server stops, then any guest
	// it left behind goes.
	t.Cleanup(func() { removeDomainsUnder(t, s.StateDir); removeNetworksUnder(t, s.StateDir) })
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start launches the process and waits until all four APIs answer.
func (s *Server) Start() {
	t := s.t
	t.Helper()
	s.log = &syncBuffer{}
	s.cmd = exec.Command(serverBin, "-config", s.ConfigPath)
	s.cmd.Env = append(append(os.Environ(), "STATE_DIR="+s.StateDir), s.Env...)
	stdout, _ := s.cmd.StdoutPipe()
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) { _ = cmd.Wait(); close(exited) }(s.cmd, s.exited)
	s.printedPath = make(chan string, 1)
	go func(out chan<- string) {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "clouds.yaml written to "); ok {
				out <- strings.TrimSpace(p)
			}
		}
	}(s.printedPath)
	deadline := time.Now().Add(30 * time.Second)
	for _, u := range []string{s.IdentityURL + "/v3", s.ImageURL + "/versions", s.ComputeURL + "/", s.NetworkURL + "/"} {
		if u == "/v3" { // external identity mode
			continue
		}
		for {
			resp, err := http.Get(u)
			if err == nil {
				resp.Body.Close()
				break
			}
			select {
			case <-s.exited:
				t.Fatalf("server exited during start-up:\n%s", s.log.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("server did not come up (%s): %v\n%s", u, err, s.log.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// syncBuffer is the server's log: written by the process's output copier,
// read by tests while the server runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Stop ends the process (SIGTERM, then kill).
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
	if s.t.Failed() {
		s.t.Logf("server log:\n%s", s.log.String())
	}
}

// PrintedCloudsPath returns the clouds.yaml path the server printed on start.
func (s *Server) PrintedCloudsPath() string {
	select {
	case p := <-s.printedPath:
		return p
	case <-time.After(5 * time.Second):
		return ""
	}
}

// Kill ends the process abruptly (SIGKILL), as a crash would.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// CloudsPath is $STATE_DIR/clouds.yaml.
func (s *Server) CloudsPath() string { return filepath.Join(s.StateDir, "clouds.yaml") }

// Cloud returns the auth section of a cloud in clouds.yaml.
func (s *Server) Cloud(name string) map[string]string {
	s.t.Helper()
	return cloudAuth(s.t, s.CloudsPath(), name)
}

// cloudAuth returns the auth section of a cloud in the clouds.yaml at path.
func cloudAuth(t testing.TB, path, name string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Clouds map[string]struct {
			Auth map[string]string `yaml:"auth"`
		} `yaml:"clouds"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("clouds.yaml: %v", err)
	}
	c, ok := doc.Clouds[name]
	if !ok {
		t.Fatalf("clouds.yaml has no cloud %q", name)
	}
	return c.Auth
}

// CLI runs Debian's openstack CLI against the server as cloud and returns
// stdout, stderr and the exit error.
func (s *Server) CLI(cloud string, args ...string) (string, string, error) {
	s.t.Helper()
	return s.runCLI(s.CloudsPath(), cloud, args...)
}

// CLIAs runs the CLI as another user, through a clouds.yaml of its own (the
// CLI gives a cloud's project precedence over --os-project-name).
func (s *Server) CLIAs(user, password, project string, args ...string) (string, string, error) {
	s.t.Helper()
	path := filepath.Join(s.t.TempDir(), "clouds.yaml")
	doc := fmt.Sprintf("clouds:\n  other:\n    auth: {auth_url: %q, username: %q, password: %q, project_name: %q, user_domain_name: Default, project_domain_name: Default}\n    region_name: RegionOne\n    identity_api_version: 3\n",
		s.IdentityURL+"/v3", user, password, project)
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		s.t.Fatal(err)
	}
	return s.runCLI(path, "other", args...)
}

func (s *Server) runCLI(clouds, cloud string, args ...string) (string, string, error) {
	s.t.Helper()
	return openstackCLI(s.t, clouds, cloud, args...)
}

// openstackCLI runs Debian's openstack CLI as cloud of the clouds.yaml at
// clouds and returns stdout, stderr and the exit error.
func openstackCLI(t testing.TB, clouds, cloud string, args ...string) (string, string, error) {
	t.Helper()
	if _, err := exec.LookPath("openstack"); err != nil {
		t.Fatal("the openstack CLI is not installed: run `make test` as root, which installs python3-openstackclient")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "openstack", append([]string{"--os-cloud", cloud}, args...)...)
	cmd.Env = append(cleanEnv(), "OS_CLIENT_CONFIG_FILE="+clouds)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// MustCLI is CLI failing the test on error.
func (s *Server) MustCLI(cloud string, args ...string) string {
	s.t.Helper()
	out, errOut, err := s.CLI(cloud, args...)
	if err != nil {
		s.t.Fatalf("openstack %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// cleanEnv is the test's environment without OS_* variables, so a developer's
// own cloud settings cannot leak into the CLI runs.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OS_") {
			env = append(env, kv)
		}
	}
	return env
}

// eventually polls cond until it holds or timeout passes; then it fails the
// test with what cond last reported.
func eventually(t testing.TB, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v: %s", timeout, state)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
