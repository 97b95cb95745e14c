package tests

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
)

// cliJSON runs the CLI as cloud with -f json and decodes its output.
func cliJSON(t *testing.T, s *Server, cloud string, out any, args ...string) {
	t.Helper()
	raw := s.MustCLI(cloud, append(args, "-f", "json")...)
	if err := json.Unmarshal([]byte(raw), out); err != nil {
		t.Fatalf("openstack %s: %v\n%s", strings.Join(args, " "), err, raw)
	}
}

// TestNetworkCLI drives the network API with the openstack CLI: the
// default network as admin and demo, creating and deleting a network and
// subnet as admin, refused for demo, ports, security groups and rules.
func TestNetworkCLI(t *testing.T) {
	s := NewServer(t, nil, "")
	var entry map[string]any
	cliJSON(t, s, "demo", &entry, "catalog", "show", "network")
	if entry["name"] != "neutron" || !strings.Contains(toJSON(entry["endpoints"]), s.NetworkURL) || strings.Contains(toJSON(entry["endpoints"]), "v2.0") {
		t.Fatalf("catalog entry (Neutron's root URL): %v", entry)
	}
	var nets []map[string]any
	cliJSON(t, s, "demo", &nets, "network", "list")
	if len(nets) != 1 || nets[0]["Name"] != "private" {
		t.Fatalf("demo sees the shared default network: %v", nets)
	}
	var net map[string]any
	cliJSON(t, s, "admin", &net, "network", "show", "private")
	if net["status"] != "ACTIVE" || net["shared"] != true || net["mtu"] != 1500.0 {
		t.Fatalf("network show: %v", net)
	}
	var subs []map[string]any
	cliJSON(t, s, "admin", &subs, "subnet", "list")
	if len(subs) != 1 || subs[0]["Name"] != "private-subnet" || subs[0]["Subnet"] != "10.0.0.0/24" {
		t.Fatalf("subnet list: %v", subs)
	}
	var ps []map[string]any
	cliJSON(t, s, "admin", &ps, "port", "list", "--long")
	if len(ps) != 1 || !strings.Contains(toJSON(ps[0]["Fixed IP Addresses"]), "10.0.0.2") || ps[0]["Device Owner"] != "network:dhcp" {
		t.Fatalf("port list (the DHCP port): %v", ps)
	}
	var groups []map[string]any
	cliJSON(t, s, "demo", &groups, "security", "group", "list")
	if len(groups) != 1 || groups[0]["Name"] != "default" {
		t.Fatalf("demo's default group: %v", groups)
	}
	var rules []map[string]any
	cliJSON(t, s, "demo", &rules, "security", "group", "rule", "list", groups[0]["ID"].(string))
	if len(rules) != 4 {
		t.Fatalf("Neutron's four default rules: %v", rules)
	}
	s.MustCLI("demo", "security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22", "default")
	cliJSON(t, s, "demo", &rules, "security", "group", "rule", "list", "default")
	if len(rules) != 5 || !strings.Contains(toJSON(rules), "22:22") {
		t.Fatalf("after adding ssh: %v", rules)
	}
	s.MustCLI("admin", "network", "create", "net2")
	s.MustCLI("admin", "subnet", "create", "--network", "net2", "--subnet-range", "192.0.2.0/24", "sub2")
	if _, errOut, err := s.CLI("demo", "network", "create", "mine"); err == nil || !strings.Contains(errOut, "disallowed by policy") {
		t.Fatalf("demo creates a network: %v %s", err, errOut)
	}
	if _, errOut, err := s.CLI("demo", "subnet", "delete", "sub2"); err == nil {
		t.Fatalf("demo deletes admin's subnet: %s", errOut)
	}
	s.MustCLI("admin", "subnet", "delete", "sub2")
	s.MustCLI("admin", "network", "delete", "net2")
	cliJSON(t, s, "admin", &nets, "network", "list")
	if len(nets) != 1 {
		t.Fatalf("after delete: %v", nets)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestGophercloudNetworking lists networks and ports through gophercloud
// v2's networking client, which finds the API in the catalog.
func TestGophercloudNetworking(t *testing.T) {
	s := NewServer(t, nil, "")
	ctx := t.Context()
	provider, err := openstack.AuthenticatedClient(ctx, authOptions(s, "demo"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := openstack.NewNetworkV2(provider, gophercloud.EndpointOpts{Region: "RegionOne"})
	if err != nil {
		t.Fatal(err)
	}
	pages, err := networks.List(c, networks.ListOpts{Name: "private"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nets, err := networks.ExtractNetworks(pages)
	if err != nil || len(nets) != 1 || !nets[0].Shared || len(nets[0].Subnets) != 1 || nets[0].Status != "ACTIVE" {
		t.Fatalf("networks: %+v %v", nets, err)
	}
	p, err := ports.Create(ctx, c, ports.CreateOpts{NetworkID: nets[0].ID, Name: "mine"}).Extract()
	if err != nil || len(p.FixedIPs) != 1 || !strings.HasPrefix(p.MACAddress, "fa:16:3e:") {
		t.Fatalf("port create: %+v %v", p, err)
	}
	pages, err = ports.List(c, ports.ListOpts{NetworkID: nets[0].ID}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list, err := ports.ExtractPorts(pages)
	if err != nil || len(list) != 1 || list[0].ID != p.ID || list[0].FixedIPs[0].IPAddress != "10.0.0.3" {
		t.Fatalf("demo's ports (not the admin's DHCP port): %+v %v", list, err)
	}
	if _, err := networks.Get(ctx, c, "nope").Extract(); !gophercloud.ResponseCodeIs(err, 404) {
		t.Fatalf("unknown network: %v", err)
	}
}
