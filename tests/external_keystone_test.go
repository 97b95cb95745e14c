package tests

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/endpoints"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/limits"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/regions"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/registeredlimits"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/services"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"
)

// The real Keystone scripts/test-keystone.sh runs (Debian's Keystone 22).
const (
	realKeystone       = "http://127.0.0.1:15000/v3"
	realKeystoneClouds = "/tmp/real-openstack/clouds.yaml"
)

// realKeystoneAdmin starts the real Keystone when it is not running and
// returns an identity client as its admin.
func realKeystoneAdmin(t *testing.T) *gophercloud.ServiceClient {
	t.Helper()
	out, err := exec.Command("bash", "../scripts/test-keystone.sh").CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/test-keystone.sh: %v\n%s", err, out)
	}
	return keystoneClient(t, "admin", "adminpw", "admin")
}

func keystoneClient(t *testing.T, user, password, project string) *gophercloud.ServiceClient {
	t.Helper()
	pc, err := openstack.AuthenticatedClient(t.Context(), gophercloud.AuthOptions{IdentityEndpoint: realKeystone,
		Username: user, Password: password, DomainID: "default",
		Scope: &gophercloud.AuthScope{ProjectName: project, DomainID: "default"}})
	if err != nil {
		t.Fatalf("log in to the real Keystone as %s: %v", user, err)
	}
	c, err := openstack.NewIdentityV3(pc, gophercloud.EndpointOpts{Region: "RegionOne"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// keystoneFixture is what the test makes in the real Keystone, all removed
// at its end: projects, users with roles, a region with an identity endpoint.
type keystoneFixture struct {
	t      *testing.T
	admin  *gophercloud.ServiceClient
	suffix string
	region string
}

func (f *keystoneFixture) project(name string) string {
	f.t.Helper()
	p, err := projects.Create(f.t.Context(), f.admin, projects.CreateOpts{Name: name + f.suffix, DomainID: "default"}).Extract()
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { _ = projects.Delete(context.Background(), f.admin, p.ID).ExtractErr() })
	return p.ID
}

// user makes user name (password name+"pw") with role on project and
// returns its id.
func (f *keystoneFixture) user(name, projectID, role string) string {
	f.t.Helper()
	u, err := users.Create(f.t.Context(), f.admin, users.CreateOpts{Name: name + f.suffix, DomainID: "default",
		Password: name + "pw", DefaultProjectID: projectID}).Extract()
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { _ = users.Delete(context.Background(), f.admin, u.ID).ExtractErr() })
	if err := roles.Assign(f.t.Context(), f.admin, f.roleID(role), roles.AssignOpts{UserID: u.ID, ProjectID: projectID}).ExtractErr(); err != nil {
		f.t.Fatal(err)
	}
	return u.ID
}

func (f *keystoneFixture) roleID(name string) string {
	f.t.Helper()
	pages, err := roles.List(f.admin, roles.ListOpts{Name: name}).AllPages(f.t.Context())
	if err != nil {
		f.t.Fatal(err)
	}
	rs, _ := roles.ExtractRoles(pages)
	if len(rs) != 1 {
		f.t.Fatalf("the real Keystone has %d roles named %s", len(rs), name)
	}
	return rs[0].ID
}

// regionWithIdentity gives the test's region Keystone's own endpoint, as an
// operator's every region has, and removes at the end whatever endpoint the
// region has then (register-endpoints' included), the services that
// register-endpoints made and the region.
func (f *keystoneFixture) regionWithIdentity() {
	t, ctx := f.t, f.t.Context()
	t.Helper()
	pages, err := services.List(f.admin, services.ListOpts{ServiceType: "identity"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := services.ExtractServices(pages)
	if len(ids) == 0 {
		t.Fatal("the real Keystone lists no identity service")
	}
	if _, err := endpoints.Create(ctx, f.admin, endpoints.CreateOpts{Availability: gophercloud.AvailabilityPublic,
		Region: f.region, URL: realKeystone, ServiceID: ids[0].ID}).Extract(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background() // the test's context has ended
		pages, err := endpoints.List(f.admin, endpoints.ListOpts{RegionID: f.region}).AllPages(ctx)
		if err != nil {
			t.Errorf("listing the test region's endpoints: %v", err)
			return
		}
		eps, _ := endpoints.ExtractEndpoints(pages)
		for _, e := range eps {
			_ = endpoints.Delete(ctx, f.admin, e.ID).ExtractErr()
		}
		_ = regions.Delete(ctx, f.admin, f.region).ExtractErr()
	})
}

// deleteServicesMade removes the catalog services register-endpoints
// reported making (lines "created service NAME (TYPE), id ID").
func (f *keystoneFixture) deleteServicesMade(out string) {
	for _, line := range strings.Split(out, "\n") {
		if _, id, ok := strings.Cut(line, "), id "); ok && strings.HasPrefix(line, "created service ") {
			_ = services.Delete(context.Background(), f.admin, strings.TrimSpace(id)).ExtractErr()
		}
	}
}

// TestExternalKeystone runs imagestack as a drop-in beside a real Keystone
// 22: register-endpoints puts it into Keystone's catalog, the openstack CLI
// logged in by Keystone finds it there and lists, uploads, downloads and
// shares images, Keystone's unified limits bound them (image_count_total),
// compute checks projects in Keystone, and a token revoked in Keystone
// stops working within cache_ttl (2 s here).
func TestExternalKeystone(t *testing.T) {
	admin := realKeystoneAdmin(t)
	f := &keystoneFixture{t: t, admin: admin, suffix: fmt.Sprintf("-ext%d", time.Now().UnixNano()%1e9)}
	f.region = "istest" + f.suffix
	svcProject, aliceProject, bobProject := f.project("istest-svc"), f.project("istest-a"), f.project("istest-b")
	svcUser := f.user("svc", svcProject, "admin")
	f.user("alice", aliceProject, "member")
	f.user("bob", bobProject, "member")
	f.regionWithIdentity()

	s := NewServer(t, nil, fmt.Sprintf(`identity:
  mode: external
  external: {auth_url: %q, username: svc%s, password: svcpw, project_name: istest-svc%s, region: %s,
    cache_ttl: 2s, negative_cache_ttl: 1s}
`, realKeystone, f.suffix, f.suffix, f.region))

	register := func() string {
		cmd := exec.Command(serverBin, "-config", s.ConfigPath, "manage", "register-endpoints", "-os-cloud", "real-admin")
		cmd.Env = append(cleanEnv(), "OS_CLIENT_CONFIG_FILE="+realKeystoneClouds, "STATE_DIR="+s.StateDir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("register-endpoints: %v\n%s", err, out)
		}
		return string(out)
	}
	first := register()
	t.Cleanup(func() { f.deleteServicesMade(first) })
	if !strings.Contains(first, "created image public endpoint in "+f.region+": "+s.ImageURL) ||
		!strings.Contains(first, "created compute admin endpoint in "+f.region+": "+s.ComputeURL+"/v2.1") {
		t.Fatalf("register-endpoints:\n%s", first)
	}
	if again := register(); !strings.Contains(again, "nothing to do") {
		t.Fatalf("register-endpoints again changed the catalog:\n%s", again)
	}

	f.imageCountLimits(svcUser, aliceProject)
	clouds := externalClouds(t, f)
	checkImagesThroughCatalog(t, s, clouds, f, bobProject)
	checkImageCountLimit(t, s, f)
	checkRevocationBound(t, s, admin, f)
	checkComputeProjects(t, s, admin, bobProject)
}

// imageCountLimits gives the service account the system reader role (to
// read unified limits, as oslo.limit's system_scope = all) and limits the
// image count in the test's region to 10 by default and to 1 for project.
func (f *keystoneFixture) imageCountLimits(svcUser, project string) {
	t, ctx := f.t, f.t.Context()
	t.Helper()
	url := f.admin.ServiceURL("system", "users", svcUser, "roles", f.roleID("reader"))
	if _, err := f.admin.Put(ctx, url, nil, nil, &gophercloud.RequestOpts{OkCodes: []int{204}}); err != nil {
		t.Fatalf("system reader role for the service account: %v", err)
	}
	pages, err := services.List(f.admin, services.ListOpts{ServiceType: "image", Name: "glance"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	svcs, _ := services.ExtractServices(pages)
	if len(svcs) != 1 {
		t.Fatalf("the real Keystone has %d image services named glance", len(svcs))
	}
	regs, err := registeredlimits.BatchCreate(ctx, f.admin, registeredlimits.BatchCreateOpts{{RegionID: f.region,
		ServiceID: svcs[0].ID, ResourceName: "image_count_total", DefaultLimit: 10}}).Extract()
	if err != nil {
		t.Fatalf("registered limit: %v", err)
	}
	t.Cleanup(func() { _ = registeredlimits.Delete(context.Background(), f.admin, regs[0].ID).ExtractErr() })
	own, err := limits.BatchCreate(ctx, f.admin, limits.BatchCreateOpts{{RegionID: f.region, ServiceID: svcs[0].ID,
		ProjectID: project, ResourceName: "image_count_total", ResourceLimit: 1}}).Extract()
	if err != nil {
		t.Fatalf("project limit: %v", err)
	}
	t.Cleanup(func() { _ = limits.Delete(context.Background(), f.admin, own[0].ID).ExtractErr() })
}

// checkImageCountLimit: alice's project, limited to 1 image in Keystone,
// has one: creating another is 413.
func checkImageCountLimit(t *testing.T, s *Server, f *keystoneFixture) {
	alice := keystoneClient(t, "alice"+f.suffix, "alicepw", "istest-a"+f.suffix)
	code, body := postWithToken(t, s.ImageURL+"/v2/images", alice.Token(), `{"name":"over","disk_format":"raw","container_format":"bare"}`)
	if code != 413 || !strings.Contains(body, "image_count_total is over limit of 1") {
		t.Fatalf("image create past the project's image_count_total of 1 in Keystone: %d %s", code, body)
	}
}

// postWithToken sends POST url with a JSON body and token and returns the
// status and the answer.
func postWithToken(t *testing.T, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("X-Auth-Token", token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// externalClouds writes a clouds.yaml whose clouds log in to the real
// Keystone in the test's region.
func externalClouds(t *testing.T, f *keystoneFixture) string {
	var b strings.Builder
	b.WriteString("clouds:\n")
	for _, u := range []string{"alice", "bob"} {
		fmt.Fprintf(&b, "  %s:\n    auth: {auth_url: %q, username: %s%s, password: %spw, project_name: istest-%c%s, user_domain_name: Default, project_domain_name: Default}\n    region_name: %s\n    identity_api_version: 3\n",
			u, realKeystone, u, f.suffix, u, u[0], f.suffix, f.region)
	}
	path := filepath.Join(t.TempDir(), "clouds.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func checkImagesThroughCatalog(t *testing.T, s *Server, clouds string, f *keystoneFixture, bobProject string) {
	cli := func(cloud string, args ...string) string {
		t.Helper()
		out, errOut, err := s.runCLI(clouds, cloud, args...)
		if err != nil {
			t.Fatalf("openstack --os-cloud %s %s: %v\n%s%s", cloud, strings.Join(args, " "), err, out, errOut)
		}
		return strings.TrimSpace(out)
	}
	data := make([]byte, 3<<20+17)
	_, _ = rand.Read(data)
	blob := filepath.Join(t.TempDir(), "disk.raw")
	if err := os.WriteFile(blob, data, 0o600); err != nil {
		t.Fatal(err)
	}
	// The CLI can only have found imagestack in Keystone's catalog: the
	// clouds name no image endpoint.
	id := cli("alice", "image", "create", "--file", blob, "--disk-format", "raw", "--container-format", "bare", "--shared", "-f", "value", "-c", "id", "ext-img")
	if out := cli("alice", "image", "list", "-f", "value", "-c", "ID", "-c", "Status"); out != id+" active" {
		t.Fatalf("alice's image list: %q, want %q", out, id+" active")
	}
	saved := filepath.Join(t.TempDir(), "saved")
	cli("alice", "image", "save", "--file", saved, id)
	if got, _ := os.ReadFile(saved); !bytes.Equal(got, data) {
		t.Fatalf("downloaded %d bytes, not the %d uploaded", len(got), len(data))
	}
	cli("alice", "image", "add", "project", id, bobProject)
	cli("bob", "image", "set", "--accept", id)
	if out := cli("bob", "image", "list", "-f", "value", "-c", "ID"); out != id {
		t.Fatalf("bob's image list after accepting: %q", out)
	}
	cli("bob", "image", "save", "--file", saved, id)
	if got, _ := os.ReadFile(saved); !bytes.Equal(got, data) {
		t.Fatal("bob's download differs from the upload")
	}
}

// get sends GET url with token and returns the status and the challenge.
func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	req.Header.Set("X-Auth-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
}

func checkRevocationBound(t *testing.T, s *Server, admin *gophercloud.ServiceClient, f *keystoneFixture) {
	alice := keystoneClient(t, "alice"+f.suffix, "alicepw", "istest-a"+f.suffix)
	token := alice.Token()
	if code, _ := get(t, s.ImageURL+"/v2/images", token); code != 200 {
		t.Fatalf("alice's token: %d", code)
	}
	if err := tokens.Revoke(t.Context(), admin, token).Err; err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	for {
		code, challenge := get(t, s.ImageURL+"/v2/images", token)
		if code == 401 {
			if want := `Keystone uri="` + realKeystone + `"`; challenge != want {
				t.Errorf("WWW-Authenticate %q, want %q", challenge, want)
			}
			break
		}
		if time.Since(revoked) > 3500*time.Millisecond {
			t.Fatalf("a token revoked %s ago still answers %d (cache_ttl 2s)", time.Since(revoked), code)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("revoked token refused %s after its revocation", time.Since(revoked).Round(10*time.Millisecond))
	if code, _ := get(t, s.ComputeURL+"/v2.1/flavors", token); code != 401 {
		t.Errorf("compute with the revoked token: %d", code)
	}
}

// checkComputeProjects: compute asks Keystone (as its service user) whether
// a project exists before giving it flavor access.
func checkComputeProjects(t *testing.T, s *Server, admin *gophercloud.ServiceClient, bobProject string) {
	token := admin.Token()
	post := func(path, body string) (int, string) {
		return postWithToken(t, s.ComputeURL+"/v2.1"+path, token, body)
	}
	if code, body := post("/flavors", `{"flavor":{"name":"ext-private","ram":64,"vcpus":1,"disk":0,"id":"ext-private","os-flavor-access:is_public":false}}`); code != 200 {
		t.Fatalf("create flavor as Keystone's admin: %d %s", code, body)
	}
	if code, body := post("/flavors/ext-private/action", `{"addTenantAccess":{"tenant":"no-such-project"}}`); code != 400 ||
		!strings.Contains(body, "is not a valid project") {
		t.Errorf("flavor access for a project Keystone lacks: %d %s", code, body)
	}
	if code, body := post("/flavors/ext-private/action", `{"addTenantAccess":{"tenant":"`+bobProject+`"}}`); code != 200 {
		t.Errorf("flavor access for bob's project: %d %s", code, body)
	}
}
