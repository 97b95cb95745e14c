package tests

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
)

func authOptions(s *Server, cloud string) gophercloud.AuthOptions {
	c := s.Cloud(cloud)
	return gophercloud.AuthOptions{
		IdentityEndpoint: c["auth_url"], Username: c["username"], Password: c["password"],
		DomainName: c["user_domain_name"],
		Scope:      &gophercloud.AuthScope{ProjectName: c["project_name"], DomainName: c["project_domain_name"]},
	}
}

// TestGophercloudAuthAndEndpoints authenticates with gophercloud v2 and
// resolves the image and compute endpoints from the catalog.
func TestGophercloudAuthAndEndpoints(t *testing.T) {
	s := NewServer(t, nil, "")
	ctx := t.Context()
	for _, cloud := range []string{"admin", "demo"} {
		provider, err := openstack.AuthenticatedClient(ctx, authOptions(s, cloud))
		if err != nil {
			t.Fatalf("%s: AuthenticatedClient: %v", cloud, err)
		}
		img, err := openstack.NewImageV2(provider, gophercloud.EndpointOpts{Region: "RegionOne"})
		if err != nil {
			t.Fatalf("NewImageV2: %v", err)
		}
		if want := s.ImageURL + "/v2/"; img.ResourceBaseURL() != want {
			t.Fatalf("image endpoint %q, want %q", img.ResourceBaseURL(), want)
		}
		cmp, err := openstack.NewComputeV2(provider, gophercloud.EndpointOpts{Region: "RegionOne"})
		if err != nil {
			t.Fatalf("NewComputeV2: %v", err)
		}
		if want := s.ComputeURL + "/v2.1/"; cmp.ResourceBaseURL() != want {
			t.Fatalf("compute endpoint %q, want %q", cmp.ResourceBaseURL(), want)
		}
		// The endpoints really serve their version documents.
		resp, err := http.Get(s.ComputeURL + "/v2.1")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("compute version doc: %v %v", resp, err)
		}
		resp.Body.Close()
		id, err := openstack.NewIdentityV3(provider, gophercloud.EndpointOpts{})
		if err != nil {
			t.Fatal(err)
		}
		res := tokens.Get(ctx, id, provider.Token())
		u, err := res.ExtractUser()
		if err != nil || u.Name != cloud {
			t.Fatalf("validate own token: %+v %v", u, err)
		}
	}
	bad := authOptions(s, "demo")
	bad.Password = "wrong"
	_, err := openstack.AuthenticatedClient(ctx, bad)
	if !gophercloud.ResponseCodeIs(err, http.StatusUnauthorized) {
		t.Fatalf("wrong password: %v", err)
	}
}

// TestOpenstackCLIIdentity is the CLI walk-through with Debian's
// python3-openstackclient.
func TestOpenstackCLIIdentity(t *testing.T) {
	s := NewServer(t, nil, "")
	if p := s.PrintedCloudsPath(); p != s.CloudsPath() {
		t.Fatalf("server printed clouds.yaml path %q, want %q", p, s.CloudsPath())
	}
	if st, err := os.Stat(s.CloudsPath()); err != nil || st.Mode().Perm()&0o077 != 0 {
		t.Fatalf("clouds.yaml must exist and be private: %v %v", st.Mode(), err)
	}

	out := s.MustCLI("admin", "token", "issue", "-f", "json")
	var tok map[string]string
	if err := json.Unmarshal([]byte(out), &tok); err != nil || tok["id"] == "" || tok["project_id"] == "" || tok["user_id"] == "" {
		t.Fatalf("token issue: %q %v", out, err)
	}

	out = s.MustCLI("demo", "catalog", "list", "-f", "json")
	var cat []map[string]any
	if err := json.Unmarshal([]byte(out), &cat); err != nil {
		t.Fatalf("catalog list: %q", out)
	}
	types := map[string]string{}
	for _, c := range cat {
		types[c["Type"].(string)] = c["Name"].(string)
		eps, _ := c["Endpoints"].([]any)
		if len(eps) != 3 {
			t.Errorf("catalog entry %v: want public, internal and admin endpoints", c)
		}
		for _, ep := range eps {
			if m := ep.(map[string]any); m["region_id"] != "RegionOne" || !strings.HasPrefix(m["url"].(string), "http://127.0.0.1:") {
				t.Errorf("endpoint %v", m)
			}
		}
	}
	if len(types) != 4 || types["identity"] != "keystone" || types["image"] != "glance" || types["compute"] != "nova" || types["network"] != "neutron" {
		t.Fatalf("catalog list shows %v, want identity, image, compute and network only", types)
	}

	// A wrong password fails with 401.
	_, errOut, err := s.CLI("demo", "--os-password", "wrong", "token", "issue")
	if err == nil || !strings.Contains(errOut, "401") {
		t.Fatalf("wrong password: err=%v stderr=%s", err, errOut)
	}

	// Identity management as admin, then the new user scopes to its project.
	s.MustCLI("admin", "project", "create", "p2")
	s.MustCLI("admin", "user", "create", "--project", "p2", "--password", "x", "u2")
	s.MustCLI("admin", "role", "add", "--user", "u2", "--project", "p2", "member")
	out = s.MustCLI("admin", "role", "assignment", "list", "--user", "u2", "--names", "-f", "json")
	if !strings.Contains(out, `"member"`) || !strings.Contains(out, "p2@Default") {
		t.Fatalf("role assignment list: %s", out)
	}
	out, errOut, _ = s.CLIAs("u2", "x", "p2", "token", "issue", "-f", "json")
	if err := json.Unmarshal([]byte(out), &tok); err != nil || tok["project_id"] == "" {
		t.Fatalf("u2 token scoped to p2: %q %s", out, errOut)
	}
	for _, listing := range [][]string{{"project", "list"}, {"user", "list"}, {"role", "list"}} {
		out = s.MustCLI("admin", append(listing, "-f", "value")...)
		if !strings.Contains(out, "admin") || !strings.Contains(out, "demo") && listing[0] != "role" {
			t.Fatalf("%v as admin: %q", listing, out)
		}
	}
	// A member may not list identity objects; for projects the CLI then falls
	// back to the member's own projects (GET /v3/users/{id}/projects).
	for _, listing := range [][]string{{"user", "list"}, {"role", "list"}, {"project", "create", "p3"}, {"user", "create", "u3"}} {
		_, errOut, err = s.CLI("demo", listing...)
		if err == nil || !strings.Contains(errOut, "403") {
			t.Fatalf("%v as member must be forbidden: %v %s", listing, err, errOut)
		}
	}
	out = s.MustCLI("demo", "project", "list", "-f", "value", "-c", "Name")
	if strings.TrimSpace(out) != "demo" {
		t.Fatalf("project list as member shows %q, want only its own project", out)
	}
	s.MustCLI("admin", "user", "set", "--password", "y", "u2")
	if _, _, err := s.CLIAs("u2", "x", "p2", "token", "issue"); err == nil {
		t.Fatal("old password still accepted after user set --password")
	}
	if out, errOut, err := s.CLIAs("u2", "y", "p2", "token", "issue"); err != nil {
		t.Fatalf("new password: %v %s %s", err, out, errOut)
	}
	s.MustCLI("admin", "role", "remove", "--user", "u2", "--project", "p2", "member")
	if _, errOut, err := s.CLIAs("u2", "y", "p2", "token", "issue"); err == nil || !strings.Contains(errOut, "401") {
		t.Fatal("u2 scoped to p2 after its role was removed")
	}
	s.MustCLI("admin", "user", "delete", "u2")
	s.MustCLI("admin", "project", "delete", "p2")
	out = s.MustCLI("admin", "project", "list", "-f", "value", "-c", "Name")
	if strings.Contains(out, "p2") {
		t.Fatalf("p2 still listed: %q", out)
	}
}

// TestTokensSurviveRestart issues a token, restarts the server, and uses it.
func TestTokensSurviveRestart(t *testing.T) {
	s := NewServer(t, nil, "")
	ctx := t.Context()
	provider, err := openstack.AuthenticatedClient(ctx, authOptions(s, "demo"))
	if err != nil {
		t.Fatal(err)
	}
	token := provider.Token()
	passwordBefore := s.Cloud("demo")["password"]
	s.Stop()
	s.Start()
	if s.Cloud("demo")["password"] != passwordBefore {
		t.Fatal("bootstrap password changed across restart")
	}
	req, _ := http.NewRequest("GET", s.IdentityURL+"/v3/auth/projects", nil)
	req.Header.Set("X-Auth-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("token after restart = %d", resp.StatusCode)
	}
}
