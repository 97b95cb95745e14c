package api_test

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"imagestack/compute"
	"imagestack/compute/computetest"
)

// The tests here pin whole response bodies, so that a change in how a view
// is built (maps then, typed views now) cannot change the wire: every key,
// every null and every omitted key.

// wantBody fails unless got is the JSON document want, in which each
// {name} stands for vars[name]; key order does not matter.
func wantBody(t *testing.T, what string, got map[string]any, want string, vars map[string]string) {
	t.Helper()
	pairs := make([]string, 0, 2*len(vars))
	for k, v := range vars {
		pairs = append(pairs, "{"+k+"}", v)
	}
	doc := strings.NewReplacer(pairs...).Replace(want)
	var w any
	if err := json.Unmarshal([]byte(doc), &w); err != nil {
		t.Fatalf("%s: the wanted body is not JSON: %v\n%s", what, err, doc)
	}
	var g any
	if err := json.Unmarshal([]byte(mustJSON(got)), &g); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, mustJSON(g), mustJSON(w))
	}
}

const (
	novaTimeFormat  = "2006-01-02T15:04:05Z"
	usageTimeFormat = "2006-01-02T15:04:05.000000"
)

// serverDetailJSON is a server's full view; fault is "" or `"fault": {...},`.
const serverDetailJSON = `{
	"id": "{id}", "name": "{name}", "status": "{status}", "tenant_id": "A", "user_id": "u-A",
	"metadata": {"k": "v", "role": "web"}, "hostId": "{hostId}", "created": "{created}", "updated": "{updated}",
	"image": {"id": "img", "links": [{"rel": "bookmark", "href": "{url}/images/img"}]},
	"flavor": {"id": "42", "links": [{"rel": "bookmark", "href": "{url}/flavors/42"}]},
	"addresses": {}, "accessIPv4": "", "accessIPv6": "",
	"links": [{"rel": "self", "href": "{url}/v2.1/servers/{id}"}, {"rel": "bookmark", "href": "{url}/servers/{id}"}],
	"key_name": "kp", "config_drive": "", {progress}
	"OS-DCF:diskConfig": "MANUAL", "OS-EXT-AZ:availability_zone": "nova",
	"OS-EXT-STS:vm_state": "{vm_state}", "OS-EXT-STS:task_state": {task_state}, "OS-EXT-STS:power_state": {power_state},
	"OS-SRV-USG:launched_at": {launched_at}, "OS-SRV-USG:terminated_at": null,
	{fault}
	"os-extended-volumes:volumes_attached": [], "security_groups": [{"name": "default"}]
}`

// serverShortJSON is the server as PUT and rebuild answer before 2.75.
const serverShortJSON = `{
	"id": "{id}", "name": "{name}", "status": "{status}", "tenant_id": "A", "user_id": "u-A",
	"metadata": {"k": "v", "role": "web"}, "hostId": "{hostId}", "created": "{created}", "updated": "{updated}",
	"image": {"id": "img", "links": [{"rel": "bookmark", "href": "{url}/images/img"}]},
	"flavor": {"id": "42", "links": [{"rel": "bookmark", "href": "{url}/flavors/42"}]},
	"addresses": {}, "accessIPv4": "", "accessIPv6": "", {progress} {fault}
	"links": [{"rel": "self", "href": "{url}/v2.1/servers/{id}"}, {"rel": "bookmark", "href": "{url}/servers/{id}"}],
	"OS-DCF:diskConfig": "MANUAL"
}`

// serverVars are the values of serverDetailJSON for sv as stored.
func serverVars(sv *compute.Server, url string) map[string]string {
	v := map[string]string{
		"id": sv.ID, "name": sv.Name, "status": sv.Status(), "hostId": compute.HostID(sv.ProjectID), "url": url,
		"created": sv.CreatedAt.UTC().Format(novaTimeFormat), "updated": sv.UpdatedAt.UTC().Format(novaTimeFormat),
		"vm_state": sv.VMState, "task_state": "null", "power_state": strconv.Itoa(int(sv.PowerState)),
		"launched_at": "null", "fault": "", "progress": "",
	}
	if slices.Contains([]string{"ACTIVE", "BUILD", "REBUILD"}, sv.Status()) {
		v["progress"] = `"progress": 0,`
	}
	if sv.TaskState != "" {
		v["task_state"] = `"` + sv.TaskState + `"`
	}
	if sv.LaunchedAt != nil {
		v["launched_at"] = `"` + sv.LaunchedAt.UTC().Format(usageTimeFormat) + `"`
	}
	if sv.VMState == compute.VMError && sv.Fault != "" {
		v["fault"] = `"fault": {"code": 500, "message": "` + sv.Fault + `", "created": "` + v["updated"] + `"},`
	}
	return v
}

// TestServerBodies pins the server bodies: create answer, detail (active,
// in a task, in error with its fault), brief and detailed lists with
// servers_links, rebuild answer, metadata and console output.
func TestServerBodies(t *testing.T) {
	s := computetest.NewSetup(t, computetest.WithAPI())
	srv := s.Server
	pub := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ0Bq0+Q9xrSd9Ldv9rQ0YlK8Hj1ZJk3s3hJY1b6e0a test@host"
	if resp, body := do(t, srv, "POST", "/v2.1/os-keypairs", "member", `{"keypair":{"name":"kp","public_key":"`+pub+`"}}`); resp.StatusCode != 200 {
		t.Fatalf("key pair: %d %v", resp.StatusCode, body)
	}
	resp, body := do(t, srv, "POST", "/v2.1/servers", "member",
		`{"server":{"name":"vm","imageRef":"img","flavorRef":"42","key_name":"kp","metadata":{"k":"v","role":"web"}}}`)
	if resp.StatusCode != 202 {
		t.Fatalf("create: %d %v", resp.StatusCode, body)
	}
	created, _ := body["server"].(map[string]any)
	id, _ := created["id"].(string)
	pass, _ := created["adminPass"].(string)
	wantBody(t, "create", body, `{"server": {"id": "{id}", "OS-DCF:diskConfig": "MANUAL", "adminPass": "{pass}",
		"security_groups": [{"name": "default"}],
		"links": [{"rel": "self", "href": "{url}/v2.1/servers/{id}"}, {"rel": "bookmark", "href": "{url}/servers/{id}"}]}}`,
		map[string]string{"id": id, "pass": pass, "url": srv.URL})
	s.Service.Wait()
	path := "/v2.1/servers/" + id
	show := func(what string) {
		t.Helper()
		_, body := do(t, srv, "GET", path, "member", "")
		wantBody(t, what, body, `{"server": `+serverDetailJSON+`}`, serverVars(s.Get(t, id), srv.URL))
	}
	show("active")
	_, body = do(t, srv, "GET", "/v2.1/servers/detail", "member", "")
	wantBody(t, "detail list", body, `{"servers": [`+serverDetailJSON+`]}`, serverVars(s.Get(t, id), srv.URL))
	_, body = do(t, srv, "GET", "/v2.1/servers?limit=1", "member", "")
	wantBody(t, "brief list", body, `{"servers": [{"id": "{id}", "name": "vm",
		"links": [{"rel": "self", "href": "{url}/v2.1/servers/{id}"}, {"rel": "bookmark", "href": "{url}/servers/{id}"}]}],
		"servers_links": [{"rel": "next", "href": "{url}/v2.1/servers?limit=1&marker={id}"}]}`,
		map[string]string{"id": id, "url": srv.URL})
	_, body = do(t, srv, "GET", "/v2.1/servers?limit=2", "member", "")
	wantBody(t, "brief list, last page", body, `{"servers": [{"id": "{id}", "name": "vm",
		"links": [{"rel": "self", "href": "{url}/v2.1/servers/{id}"}, {"rel": "bookmark", "href": "{url}/servers/{id}"}]}]}`,
		map[string]string{"id": id, "url": srv.URL})

	gate := s.Hypervisor.Hold("rebuild")
	resp, body = do(t, srv, "POST", path+"/action", "member", `{"rebuild":{"imageRef":"img","name":"vm"}}`)
	gate.Entered(t)
	rebuilt, _ := body["server"].(map[string]any)
	vars := serverVars(s.Get(t, id), srv.URL)
	vars["pass"], _ = rebuilt["adminPass"].(string)
	wantBody(t, "rebuild", body, `{"server": `+strings.Replace(serverShortJSON, "{fault}", `{fault} "adminPass": "{pass}",`, 1)+`}`, vars)
	gate.Release(nil)
	s.Service.Wait()
	if resp.StatusCode != 202 || vars["pass"] == "" {
		t.Fatalf("rebuild: %d %v", resp.StatusCode, body)
	}

	set := func(change func(sv *compute.Server)) {
		t.Helper()
		sv := s.Get(t, id)
		change(sv)
		if err := s.Repo.UpdateServer(context.Background(), sv); err != nil {
			t.Fatal(err)
		}
	}
	set(func(sv *compute.Server) { sv.TaskState = compute.TaskRebooting })
	show("in a task")
	set(func(sv *compute.Server) {
		sv.VMState, sv.TaskState, sv.Fault = compute.VMError, "", "spawn failed: no disk"
	})
	show("in error")
	set(func(sv *compute.Server) { sv.VMState, sv.PowerState = compute.VMActive, compute.PowerRunning })

	_, body = do(t, srv, "GET", path+"/metadata", "member", "")
	wantBody(t, "metadata", body, `{"metadata": {"k": "v", "role": "web"}}`, nil)
	_, body = do(t, srv, "POST", path+"/metadata", "member", `{"metadata": {"n": "1"}}`)
	wantBody(t, "metadata merge", body, `{"metadata": {"k": "v", "role": "web", "n": "1"}}`, nil)
	_, body = do(t, srv, "GET", path+"/metadata/k", "member", "")
	wantBody(t, "metadata item", body, `{"meta": {"k": "v"}}`, nil)
	_, body = do(t, srv, "PUT", path+"/metadata/k", "member", `{"meta": {"k": "w"}}`)
	wantBody(t, "metadata item set", body, `{"meta": {"k": "w"}}`, nil)
	s.Hypervisor.SetConsole(id, []byte("line 1\nline 2\n"))
	_, body = do(t, srv, "POST", path+"/action", "member", `{"os-getConsoleOutput":{"length":1}}`)
	wantBody(t, "console output", body, `{"output": "line 2\n"}`, nil)
	_, body = do(t, srv, "GET", "/v2.1/servers/nope", "member", "")
	wantBody(t, "not found", body, `{"itemNotFound": {"code": 404, "message": "Instance nope could not be found."}}`, nil)
}

// flavorLinks is a flavor's links in views, for {id}.
const flavorLinks = `"links": [{"rel": "self", "href": "{url}/v2.1/flavors/{id}"}, {"rel": "bookmark", "href": "{url}/flavors/{id}"}]`

// TestFlavorBodies pins flavor bodies: detail (default and created,
// swap "" or a number), brief and detailed lists with flavors_links,
// extra specs and flavor access.
func TestFlavorBodies(t *testing.T) {
	srv := computetest.NewSetup(t, computetest.WithAPI()).Server
	u := map[string]string{"url": srv.URL, "id": "42"}
	_, body := do(t, srv, "GET", "/v2.1/flavors/42", "member", "")
	nano := `{"id": "42", "name": "m1.nano", "ram": 128, "vcpus": 1, "disk": 1, "swap": "", "rxtx_factor": 1,
		"OS-FLV-EXT-DATA:ephemeral": 0, "OS-FLV-DISABLED:disabled": false, "os-flavor-access:is_public": true, ` + flavorLinks + `}`
	wantBody(t, "show", body, `{"flavor": `+nano+`}`, u)
	_, body = do(t, srv, "GET", "/v2.1/flavors/detail?minRam=128&limit=1&sort_key=memory_mb", "member", "")
	wantBody(t, "detail list", body, `{"flavors": [`+nano+`],
		"flavors_links": [{"rel": "next", "href": "{url}/v2.1/flavors/detail?limit=1&marker=42&minRam=128&sort_key=memory_mb"}]}`, u)
	_, body = do(t, srv, "GET", "/v2.1/flavors?minRam=128&limit=2&sort_key=memory_mb", "member", "")
	wantBody(t, "brief list", body, `{"flavors": [{"id": "42", "name": "m1.nano", `+flavorLinks+`},
		{"id": "84", "name": "m1.micro", "links": [{"rel": "self", "href": "{url}/v2.1/flavors/84"}, {"rel": "bookmark", "href": "{url}/flavors/84"}]}],
		"flavors_links": [{"rel": "next", "href": "{url}/v2.1/flavors?limit=2&marker=84&minRam=128&sort_key=memory_mb"}]}`, u)
	_, body = do(t, srv, "GET", "/v2.1/flavors?minRam=100000", "member", "")
	wantBody(t, "empty list", body, `{"flavors": []}`, nil)

	resp, body := do(t, srv, "POST", "/v2.1/flavors", "admin", `{"flavor":{"name":"p.big","ram":64,"vcpus":2,"disk":3,"id":"pb",
		"swap":512,"OS-FLV-EXT-DATA:ephemeral":4,"rxtx_factor":2.5,"os-flavor-access:is_public":false}}`)
	if resp.StatusCode != 200 {
		t.Fatalf("create: %d %v", resp.StatusCode, body)
	}
	u["id"] = "pb"
	wantBody(t, "create", body, `{"flavor": {"id": "pb", "name": "p.big", "ram": 64, "vcpus": 2, "disk": 3, "swap": 512,
		"rxtx_factor": 2.5, "OS-FLV-EXT-DATA:ephemeral": 4, "OS-FLV-DISABLED:disabled": false,
		"os-flavor-access:is_public": false, `+flavorLinks+`}}`, u)

	_, body = do(t, srv, "POST", "/v2.1/flavors/pb/os-extra_specs", "admin", `{"extra_specs":{"hw:numa_nodes":2,"k":"v"}}`)
	wantBody(t, "extra specs create", body, `{"extra_specs": {"hw:numa_nodes": "2", "k": "v"}}`, nil)
	_, body = do(t, srv, "GET", "/v2.1/flavors/pb/os-extra_specs", "admin", "")
	wantBody(t, "extra specs", body, `{"extra_specs": {"hw:numa_nodes": "2", "k": "v"}}`, nil)
	_, body = do(t, srv, "GET", "/v2.1/flavors/pb/os-extra_specs/k", "admin", "")
	wantBody(t, "extra spec", body, `{"k": "v"}`, nil)
	_, body = do(t, srv, "PUT", "/v2.1/flavors/pb/os-extra_specs/k", "admin", `{"k": "w"}`)
	wantBody(t, "extra spec update", body, `{"k": "w"}`, nil)
	_, body = do(t, srv, "GET", "/v2.1/flavors/42/os-extra_specs", "member", "")
	wantBody(t, "no extra specs", body, `{"extra_specs": {}}`, nil)

	_, body = do(t, srv, "GET", "/v2.1/flavors/pb/os-flavor-access", "admin", "")
	wantBody(t, "no access", body, `{"flavor_access": []}`, nil)
	_, body = do(t, srv, "POST", "/v2.1/flavors/pb/action", "admin", `{"addTenantAccess":{"tenant":"A"}}`)
	wantBody(t, "add access", body, `{"flavor_access": [{"flavor_id": "pb", "tenant_id": "A"}]}`, nil)
}

// TestKeyPairBodies pins os-keypairs: generated and imported create
// answers, show and list.
func TestKeyPairBodies(t *testing.T) {
	s := computetest.NewSetup(t, computetest.WithAPI())
	srv := s.Server
	pub := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ0Bq0+Q9xrSd9Ldv9rQ0YlK8Hj1ZJk3s3hJY1b6e0a test@host"
	_, body := do(t, srv, "POST", "/v2.1/os-keypairs", "member", `{"keypair":{"name":"imp","public_key":"`+pub+`"}}`)
	k, err := s.Repo.GetKeyPair(context.Background(), "u-A", "imp")
	if err != nil {
		t.Fatal(err)
	}
	v := map[string]string{"pub": pub, "fp": k.Fingerprint, "created": k.CreatedAt.UTC().Format(novaTimeFormat)}
	if !strings.Contains(k.Fingerprint, ":") {
		t.Fatalf("fingerprint %q", k.Fingerprint)
	}
	wantBody(t, "import", body, `{"keypair": {"name": "imp", "public_key": "{pub}", "fingerprint": "{fp}", "user_id": "u-A"}}`, v)
	_, body = do(t, srv, "POST", "/v2.1/os-keypairs", "member", `{"keypair":{"name":"gen"}}`)
	gen, _ := body["keypair"].(map[string]any)
	g := map[string]string{}
	for _, key := range []string{"public_key", "private_key", "fingerprint"} {
		g[key], _ = gen[key].(string)
	}
	wantBody(t, "generate", body, `{"keypair": {"name": "gen", "public_key": "{public_key}", "private_key": {private_key},
		"fingerprint": "{fingerprint}", "user_id": "u-A"}}`, map[string]string{"public_key": g["public_key"],
		"private_key": mustJSON(g["private_key"]), "fingerprint": g["fingerprint"]})
	_, body = do(t, srv, "GET", "/v2.1/os-keypairs/imp", "member", "")
	wantBody(t, "show", body, `{"keypair": {"name": "imp", "public_key": "{pub}", "fingerprint": "{fp}", "user_id": "u-A",
		"created_at": "{created}", "deleted": false, "deleted_at": null, "updated_at": null, "id": 0}}`, v)
	_, body = do(t, srv, "GET", "/v2.1/os-keypairs", "member", "")
	v["gpub"], v["gfp"] = g["public_key"], g["fingerprint"]
	wantBody(t, "list", body, `{"keypairs": [
		{"keypair": {"name": "gen", "public_key": "{gpub}", "fingerprint": "{gfp}"}},
		{"keypair": {"name": "imp", "public_key": "{pub}", "fingerprint": "{fp}"}}]}`, v)
}

// TestLimitAndZoneBodies pins limits, quota sets, tenant usage, server
// groups, availability zones and the version documents.
func TestLimitAndZoneBodies(t *testing.T) {
	s := computetest.NewSetup(t, computetest.WithAPI())
	srv := s.Server
	_, body := do(t, srv, "GET", "/v2.1/limits", "member", "")
	wantBody(t, "limits", body, `{"limits": {"rate": [], "absolute": {
		"maxTotalInstances": 10, "maxTotalCores": 20, "maxTotalRAMSize": 51200,
		"totalInstancesUsed": 0, "totalCoresUsed": 0, "totalRAMUsed": 0,
		"maxTotalKeypairs": 100, "maxServerMeta": 128, "maxImageMeta": 128,
		"maxPersonality": 5, "maxPersonalitySize": 10240, "maxServerGroups": 10,
		"maxServerGroupMembers": 10, "totalServerGroupsUsed": 0,
		"maxSecurityGroups": 10, "maxSecurityGroupRules": 20, "totalSecurityGroupsUsed": 0,
		"maxTotalFloatingIps": 10, "totalFloatingIpsUsed": 0}}}`, nil)
	limits := `"instances": 10, "cores": 20, "ram": 51200, "key_pairs": 100, "metadata_items": 128,
		"server_groups": 10, "server_group_members": 10, "injected_files": 5, "injected_file_content_bytes": 10240,
		"injected_file_path_bytes": 255, "fixed_ips": -1, "floating_ips": 10, "security_groups": 10, "security_group_rules": 20`
	for _, p := range []string{"/v2.1/os-quota-sets/A", "/v2.1/os-quota-sets/A/defaults"} {
		_, body = do(t, srv, "GET", p, "member", "")
		wantBody(t, p, body, `{"quota_set": {"id": "A", `+limits+`}}`, nil)
	}
	_, body = do(t, srv, "GET", "/v2.1/os-quota-sets/A/detail", "member", "")
	wantBody(t, "quota detail", body, `{"quota_set": {"id": "A",
		"instances": {"limit": 10, "in_use": 0, "reserved": 0}, "cores": {"limit": 20, "in_use": 0, "reserved": 0},
		"ram": {"limit": 51200, "in_use": 0, "reserved": 0}, "key_pairs": {"limit": 100, "in_use": 0, "reserved": 0},
		"metadata_items": {"limit": 128, "in_use": 0, "reserved": 0}, "server_groups": {"limit": 10, "in_use": 0, "reserved": 0},
		"server_group_members": {"limit": 10, "in_use": 0, "reserved": 0}, "injected_files": {"limit": 5, "in_use": 0, "reserved": 0},
		"injected_file_content_bytes": {"limit": 10240, "in_use": 0, "reserved": 0},
		"injected_file_path_bytes": {"limit": 255, "in_use": 0, "reserved": 0}, "fixed_ips": {"limit": -1, "in_use": 0, "reserved": 0},
		"floating_ips": {"limit": 10, "in_use": 0, "reserved": 0}, "security_groups": {"limit": 10, "in_use": 0, "reserved": 0},
		"security_group_rules": {"limit": 20, "in_use": 0, "reserved": 0}}}`, nil)

	sv := s.Boot(t, s.Member)
	// A period that has ended (the API reads whole seconds).
	end := sv.CreatedAt.UTC().Truncate(time.Second).Add(time.Second)
	time.Sleep(time.Until(end) + 10*time.Millisecond)
	h := end.Sub(sv.CreatedAt).Hours()
	num := func(f float64) string { return mustJSON(f) }
	_, body = do(t, srv, "GET", "/v2.1/os-simple-tenant-usage/A?start=2020-01-01T00:00:00&end="+end.Format("2006-01-02T15:04:05"), "member", "")
	wantBody(t, "usage", body, `{"tenant_usage": {"tenant_id": "A", "start": "2020-01-01T00:00:00.000000", "stop": "{stop}",
		"total_hours": {h}, "total_vcpus_usage": {h}, "total_memory_mb_usage": {ram}, "total_local_gb_usage": {h},
		"server_usages": [{"instance_id": "{id}", "name": "vm", "hours": {h}, "memory_mb": 128, "local_gb": 1, "vcpus": 1,
			"tenant_id": "A", "flavor": "42", "started_at": "{started}", "ended_at": null, "state": "active", "uptime": {uptime}}]}}`,
		map[string]string{"stop": end.Format(usageTimeFormat), "h": num(h), "ram": num(h * 128), "id": sv.ID,
			"started": sv.CreatedAt.UTC().Format(usageTimeFormat), "uptime": strconv.Itoa(int(h * 3600))})
	// A period ending in the future ends now, as in Nova.
	_, body = do(t, srv, "GET", "/v2.1/os-simple-tenant-usage/A?start=2020-01-01T00:00:00&end=2099-01-01T00:00:00", "member", "")
	u := body["tenant_usage"].(map[string]any)
	if stop, _ := time.Parse(usageTimeFormat, u["stop"].(string)); stop.After(time.Now()) || u["total_hours"].(float64) > time.Since(sv.CreatedAt).Hours() {
		t.Fatalf("usage up to 2099 counts the future: %v", u)
	}
	_, body = do(t, srv, "GET", "/v2.1/os-server-groups", "member", "")
	wantBody(t, "server groups", body, `{"server_groups": []}`, nil)

	_, body = do(t, srv, "GET", "/v2.1/os-availability-zone", "member", "")
	wantBody(t, "zones", body, `{"availabilityZoneInfo": [{"zoneName": "nova", "zoneState": {"available": true}, "hosts": null}]}`, nil)
	_, body = do(t, srv, "GET", "/v2.1/os-availability-zone/detail", "admin", "")
	host, _ := os.Hostname()
	// The conductor and scheduler were updated as this process answered,
	// nova-compute at its host's last heartbeat.
	updated := regexp.MustCompile(`"updated_at":"([0-9T:.-]+)"`).FindAllStringSubmatch(mustJSON(body), -1)
	if len(updated) != 3 || len(updated[0][1]) != len(usageTimeFormat) || len(updated[2][1]) != len(usageTimeFormat) {
		t.Fatalf("zone detail updated_at: %v", body)
	}
	wantBody(t, "zones detail", body, `{"availabilityZoneInfo": [{"zoneName": "internal", "zoneState": {"available": true},
		"hosts": {"{host}": {"nova-conductor": {"available": true, "active": true, "updated_at": "{updated}"},
			"nova-scheduler": {"available": true, "active": true, "updated_at": "{updated}"}}}},
		{"zoneName": "nova", "zoneState": {"available": true},
		"hosts": {"{host}": {"nova-compute": {"available": true, "active": true, "updated_at": "{heartbeat}"}}}}]}`,
		map[string]string{"host": host, "updated": updated[0][1], "heartbeat": updated[2][1]})

	v21 := `{"id": "v2.1", "status": "CURRENT", "version": "2.90", "min_version": "2.1", "updated": "2013-07-23T11:33:21Z",
		"links": [{"rel": "self", "href": "{url}/v2.1/"}]`
	_, body = do(t, srv, "GET", "/", "", "")
	wantBody(t, "versions", body, `{"versions": [{"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
		"updated": "2011-01-21T11:33:21Z", "links": [{"rel": "self", "href": "{url}/v2/"}]}, `+v21+`}]}`, map[string]string{"url": srv.URL})
	_, body = do(t, srv, "GET", "/v2.1", "", "")
	wantBody(t, "version", body, `{"version": `+v21+`, "media-types": [{"base": "application/json",
		"type": "application/vnd.openstack.compute+json;version=2.1"}]}}`, map[string]string{"url": srv.URL})
}
