package configdrive_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"imagestack/compute"
	"imagestack/compute/configdrive"
)

func sample() configdrive.Metadata {
	return configdrive.Metadata{
		UUID: "6f6b5c8e-1111-4222-8333-944445555666", Name: "My Server ☃", Hostname: "my-server",
		Domain:    configdrive.DefaultDomain,
		ProjectID: "proj1", AvailabilityZone: "nova", AdminPass: "s3cret", LaunchIndex: 0,
		KeyName: "mykey", PublicKey: "ssh-ed25519 AAAAC3Nza test@host", KeyType: "ssh",
		Meta:     map[string]string{"role": "web 😀"},
		UserData: []byte("#!/bin/sh\necho hello\n"),
		NICs: []compute.NIC{{
			PortID: "0123456789abcdef-port", NetworkID: "net-1", MAC: "fa:16:3e:00:00:01",
			Device: "tap0123456789a", MTU: 1450,
			IPs: []compute.FixedIP{{Address: "10.0.0.5", Version: 4, CIDR: "10.0.0.0/24",
				Gateway: "10.0.0.1", DNS: []string{"10.0.0.2"}}},
		}},
	}
}

// isoFile reads one file out of the image through its Joliet tree.
func isoFile(t *testing.T, iso, path string) []byte {
	t.Helper()
	out, err := exec.Command("isoinfo", "-J", "-x", path, "-i", iso).Output()
	if err != nil {
		t.Fatalf("isoinfo -x %s: %v", path, err)
	}
	return out
}

func build(t *testing.T, md configdrive.Metadata) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "disk.config")
	if err := configdrive.Build(context.Background(), dst, md); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestLabelAndTree(t *testing.T) {
	iso := build(t, sample())
	d, err := exec.Command("isoinfo", "-d", "-i", iso).Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(d), "Volume id: config-2\n") || !strings.Contains(string(d), "Joliet") ||
		!strings.Contains(string(d), "Rock Ridge") {
		t.Errorf("isoinfo -d:\n%s", d)
	}
	l, err := exec.Command("isoinfo", "-J", "-f", "-i", iso).Output()
	if err != nil {
		t.Fatal(err)
	}
	files := strings.Fields(string(l))
	for _, want := range []string{"/openstack/latest/meta_data.json", "/openstack/latest/user_data",
		"/openstack/latest/network_data.json", "/openstack/latest/vendor_data.json",
		"/openstack/latest/vendor_data2.json", "/openstack/2012-08-10/meta_data.json",
		"/openstack/2013-10-17/vendor_data.json", "/openstack/2025-04-04/vendor_data2.json"} {
		if !contains(files, want) {
			t.Errorf("no %s in %v", want, files)
		}
	}
	// Folders hold only what their version defined.
	for _, absent := range []string{"/openstack/2012-08-10/vendor_data.json", "/openstack/2013-10-17/network_data.json",
		"/openstack/2015-10-15/vendor_data2.json"} {
		if contains(files, absent) {
			t.Errorf("%s present", absent)
		}
	}
	if got := isoFile(t, iso, "/openstack/latest/user_data"); string(got) != "#!/bin/sh\necho hello\n" {
		t.Errorf("user_data = %q", got)
	}
	if got := isoFile(t, iso, "/openstack/latest/vendor_data2.json"); string(got) != `{"static": {}}` {
		t.Errorf("vendor_data2.json = %s", got)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestMetaData(t *testing.T) {
	iso := build(t, sample())
	raw := isoFile(t, iso, "/openstack/latest/meta_data.json")
	var md map[string]any
	if err := json.Unmarshal(raw, &md); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	want := map[string]any{
		"uuid": "6f6b5c8e-1111-4222-8333-944445555666", "name": "My Server ☃", "hostname": "my-server.novalocal",
		"project_id": "proj1", "availability_zone": "nova", "admin_pass": "s3cret", "launch_index": 0.0,
		"meta":        map[string]any{"role": "web 😀"},
		"public_keys": map[string]any{"mykey": "ssh-ed25519 AAAAC3Nza test@host"},
		"keys":        []any{map[string]any{"name": "mykey", "type": "ssh", "data": "ssh-ed25519 AAAAC3Nza test@host"}},
		"devices":     []any{}, "dedicated_cpus": []any{},
	}
	seed, _ := md["random_seed"].(string)
	delete(md, "random_seed")
	if b, err := base64.StdEncoding.DecodeString(seed); err != nil || len(b) != 512 {
		t.Errorf("random_seed %q: %d bytes, %v", seed, len(b), err)
	}
	if !reflect.DeepEqual(md, want) {
		t.Errorf("meta_data.json = %s", raw)
	}
	if !strings.HasPrefix(string(raw), `{"uuid": "6f6b5c8e`) || !strings.Contains(string(raw), `"name": "My Server \u2603"`) ||
		!strings.Contains(string(raw), `"role": "web \ud83d\ude00"`) {
		t.Errorf("not written as Nova writes it: %s", raw)
	}
	var old map[string]any
	if err := json.Unmarshal(isoFile(t, iso, "/openstack/2012-08-10/meta_data.json"), &old); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"random_seed", "project_id", "devices", "dedicated_cpus"} {
		if _, ok := old[k]; ok {
			t.Errorf("2012-08-10 has %s", k)
		}
	}
}

func TestNoKeyNoUserData(t *testing.T) {
	md := sample()
	md.KeyName, md.UserData, md.AdminPass, md.AvailabilityZone, md.NICs = "", nil, "", "", nil
	iso := build(t, md)
	var got map[string]any
	if err := json.Unmarshal(isoFile(t, iso, "/openstack/latest/meta_data.json"), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"public_keys", "keys", "admin_pass"} {
		if _, ok := got[k]; ok {
			t.Errorf("%s present: %v", k, got)
		}
	}
	if az, ok := got["availability_zone"]; !ok || az != nil {
		t.Errorf("availability_zone = %v, %v; want null", az, ok)
	}
	if out, err := exec.Command("isoinfo", "-J", "-f", "-i", iso).Output(); err != nil || strings.Contains(string(out), "user_data") {
		t.Errorf("user_data written without user data (%v): %s", err, out)
	}
	if nd := isoFile(t, iso, "/openstack/latest/network_data.json"); string(nd) != "{}" {
		t.Errorf("network_data.json = %s", nd)
	}
}

func TestNetworkData(t *testing.T) {
	md := sample()
	md.NICs[0].IPs = append(md.NICs[0].IPs, compute.FixedIP{Address: "fd00::5", Version: 6,
		CIDR: "fd00::/64", Gateway: "fd00::1", DNS: []string{"10.0.0.2"}})
	raw := isoFile(t, build(t, md), "/openstack/latest/network_data.json")
	want := `{"links": [{"id": "tap0123456789a", "vif_id": "0123456789abcdef-port", "type": "bridge", "mtu": 1450, ` +
		`"ethernet_mac_address": "fa:16:3e:00:00:01"}], "networks": [{"id": "network0", "type": "ipv4", ` +
		`"link": "tap0123456789a", "ip_address": "10.0.0.5", "netmask": "255.255.255.0", "routes": [{"network": ` +
		`"0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.0.0.1"}], "network_id": "net-1", "services": [{"type": ` +
		`"dns", "address": "10.0.0.2"}]}, {"id": "network1", "type": "ipv6", "link": "tap0123456789a", ` +
		`"ip_address": "fd00::5", "netmask": "ffff:ffff:ffff:ffff::", "routes": [{"network": "::", "netmask": ` +
		`"::", "gateway": "fd00::1"}], "network_id": "net-1", "services": [{"type": "dns", "address": ` +
		`"10.0.0.2"}]}], "services": [{"type": "dns", "address": "10.0.0.2"}]}`
	if string(raw) != want {
		t.Errorf("network_data.json =\n%s\nwant\n%s", raw, want)
	}
	md = sample()
	md.DHCP = true
	raw = isoFile(t, build(t, md), "/openstack/latest/network_data.json")
	want = `{"links": [{"id": "tap0123456789a", "vif_id": "0123456789abcdef-port", "type": "bridge", "mtu": null, ` +
		`"ethernet_mac_address": "fa:16:3e:00:00:01"}], "networks": [{"id": "network0", "type": "ipv4_dhcp", ` +
		`"link": "tap0123456789a", "network_id": "net-1"}], "services": [{"type": "dns", "address": "10.0.0.2"}]}`
	if string(raw) != want {
		t.Errorf("DHCP network_data.json =\n%s\nwant\n%s", raw, want)
	}
}

func TestFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "disk.config")
	md := sample()
	md.UserData = make([]byte, configdrive.MaxUserData+1)
	if err := configdrive.Build(context.Background(), dst, md); !errors.Is(err, compute.ErrBadRequest) {
		t.Errorf("oversized user data: %v", err)
	}
	md.UserData = make([]byte, configdrive.MaxUserData)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := configdrive.Build(ctx, dst, md); err == nil {
		t.Error("cancelled build succeeded")
	}
	md.NICs[0].IPs[0].CIDR = "bogus"
	if err := configdrive.Build(context.Background(), dst, md); err == nil {
		t.Error("bad subnet accepted")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
	md = sample()
	md.UserData = make([]byte, configdrive.MaxUserData)
	if err := configdrive.Build(context.Background(), dst, md); err != nil {
		t.Errorf("largest user data: %v", err)
	}
}

// A genisoimage that dies half-way leaves neither its output nor a dst.
func TestFailingToolLeavesNothing(t *testing.T) {
	bin, dir := t.TempDir(), t.TempDir()
	script := "#!/bin/sh\necho half-written >\"$2\"\necho 'disk full' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "genisoimage"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	err := configdrive.Build(context.Background(), filepath.Join(dir, "disk.config"), sample())
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Build = %v, want genisoimage's error", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestHostname(t *testing.T) {
	for name, want := range map[string]string{
		"My Server":                   "my-server",
		"web_01.example.com":          "web-01-example-com",
		"--a--":                       "a",
		"Ünïcode ☃ snow":              "ünïcode--snow",
		"!!!":                         "",
		strings.Repeat("a", 70):       strings.Repeat("a", 63),
		"x" + strings.Repeat("☃", 70): "x",
		"a.b-":                        "a-b",
	} {
		if got := configdrive.Hostname(name); got != want {
			t.Errorf("Hostname(%q) = %q, want %q", name, got, want)
		}
	}
	if got := configdrive.InstanceHostname("!!!", "u-1", 1, 0); got != "Server-u-1" {
		t.Errorf("empty: %q", got)
	}
	if got := configdrive.InstanceHostname("Web", "u-1", 3, 1); got != "web-2" {
		t.Errorf("multi: %q", got)
	}
}

// BenchmarkBuild measures a config drive's build, the time it adds to a
// server's boot.
func BenchmarkBuild(b *testing.B) {
	dst := filepath.Join(b.TempDir(), "disk.config")
	md := sample()
	for b.Loop() {
		if err := configdrive.Build(context.Background(), dst, md); err != nil {
			b.Fatal(err)
		}
	}
}
