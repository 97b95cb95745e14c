package api_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"imagestack/compute/computetest"
)

// TestCreateGuestInputs: what POST /servers gives the guest is validated
// as Nova does, stored and shown: addresses (with type and MAC in the
// server, plain in /ips), accessIPs and config_drive.
func TestCreateGuestInputs(t *testing.T) {
	nets := computetest.NewNetworks()
	nets.Add("11111111-1111-1111-1111-111111111111", "private", "10.0.0")
	e := computetest.NewSetup(t, computetest.WithAPI(), computetest.WithNetworks(nets), computetest.WithConfigDrives(false))
	srv := e.Server
	for name, c := range map[string]struct {
		extra, msg string
	}{
		"user data not base64":  {`"user_data": "%%%"`, "User data needs to be valid base 64."},
		"user data too long":    {`"user_data": "` + strings.Repeat("QUFB", 16384) + `"`, "user_data"},
		"accessIPv4 not an IP":  {`"accessIPv4": "10.0.0"`, "accessIPv4"},
		"accessIPv6 given a v4": {`"accessIPv6": "10.0.0.1"`, "accessIPv6"},
		"network uuid bad":      {`"networks": [{"uuid": "private"}]`, "Bad networks format"},
		"network unknown":       {`"networks": [{"uuid": "33333333-3333-3333-3333-333333333333"}]`, "could not be found"},
		"fixed ip bad":          {`"networks": [{"uuid": "11111111-1111-1111-1111-111111111111", "fixed_ip": "x"}]`, "Invalid fixed IP"},
		"config drive bad":      {`"config_drive": "maybe"`, "config_drive"},
		"zone unknown":          {`"availability_zone": "elsewhere"`, "availability zone"},
	} {
		resp, body := do(t, srv, "POST", "/v2.1/servers", "member", `{"server": {"name": "vm", "imageRef": "img", "flavorRef": "42", `+c.extra+`}}`)
		msg, _ := body["badRequest"].(map[string]any)["message"].(string)
		if resp.StatusCode != 400 || !strings.Contains(msg, c.msg) {
			t.Errorf("%s: %d %v, want 400 saying %q", name, resp.StatusCode, body, c.msg)
		}
	}
	ud := base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\necho hello\n"))
	resp, body := do(t, srv, "POST", "/v2.1/servers", "member", `{"server": {"name": "vm", "imageRef": "img", "flavorRef": "42",
		"user_data": "`+ud+`", "accessIPv4": "192.0.2.7", "accessIPv6": "2001:db8::7", "config_drive": "True", "adminPass": "pw",
		"availability_zone": "nova", "networks": [{"uuid": "11111111-1111-1111-1111-111111111111"}]}}`)
	if resp.StatusCode != 202 || body["server"].(map[string]any)["adminPass"] != "pw" {
		t.Fatalf("create: %d %v", resp.StatusCode, body)
	}
	id := body["server"].(map[string]any)["id"].(string)
	e.Service.Wait()
	_, body = do(t, srv, "GET", "/v2.1/servers/"+id, "member", "")
	sv := body["server"].(map[string]any)
	addr := sv["addresses"].(map[string]any)["private"].([]any)[0].(map[string]any)
	if addr["addr"] != "10.0.0.10" || addr["version"] != 4.0 || addr["OS-EXT-IPS:type"] != "fixed" || addr["OS-EXT-IPS-MAC:mac_addr"] == "" ||
		sv["accessIPv4"] != "192.0.2.7" || sv["accessIPv6"] != "2001:db8::7" || sv["config_drive"] != "True" {
		t.Fatalf("server view %v", sv)
	}
	_, body = do(t, srv, "GET", "/v2.1/servers/"+id+"/ips", "member", "")
	if got := body["addresses"].(map[string]any)["private"].([]any)[0].(map[string]any); got["addr"] != "10.0.0.10" || len(got) != 2 {
		t.Fatalf("/ips: %v", body)
	}
	if _, body = do(t, srv, "GET", "/v2.1/servers/"+id+"/ips/private", "member", ""); body["private"] == nil {
		t.Fatalf("/ips/private: %v", body)
	}
	if resp, _ := do(t, srv, "GET", "/v2.1/servers/"+id+"/ips/other", "member", ""); resp.StatusCode != 404 {
		t.Fatalf("/ips of an unknown network: %d", resp.StatusCode)
	}
	if b, _ := e.Drives.Last(id); string(b.Server.UserData) != "#!/bin/sh\necho hello\n" || b.AdminPass != "pw" {
		t.Fatalf("config drive got %+v", b)
	}
}
