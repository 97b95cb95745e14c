package tests

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"imagestack/compute/computetest/linuxguest"
)

// TestLinuxGuestEndToEnd is issue 13's proof with the Debian openstack CLI
// and a real Linux guest: a key pair and user data reach the guest through
// its config drive, the guest gets its fixed address by DHCP on the
// network's bridge and serves HTTP there, reached from the network's
// namespace; a snapshot of it boots with an address of its own.
func TestLinuxGuestEndToEnd(t *testing.T) {
	requireLibvirt(t)
	g := linuxguest.ForTest(t)
	s := NewServer(t, nil, "")
	amiID := uploadLinuxGuest(t, s, g)

	// The user's own key, imported as the README shows: the .pub file ends
	// with a newline, which the guest must not see as part of the key.
	keyFile := filepath.Join(t.TempDir(), "id")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "me@laptop", "-f", keyFile).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	s.MustCLI("demo", "keypair", "create", "--public-key", keyFile+".pub", "mykey")
	pubFile, err := os.ReadFile(keyFile + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	pub := strings.TrimSpace(string(pubFile))
	userData := filepath.Join(t.TempDir(), "init.sh")
	if err := os.WriteFile(userData, []byte("#!/bin/sh\necho USERDATA-RAN-$((6 * 7))\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vm1 := bootGuest(t, s, "vm1", amiID, "--key-name", "mykey", "--user-data", userData, "--network", "private")
	c := waitGuest(t, s, "vm1")
	if c.UUID != vm1.id || c.PublicKey != pub || c.UserDataOutput != "USERDATA-RAN-42\n" || c.UserDataExit != 0 || c.IP != vm1.addr || c.Hostname != "vm1.novalocal" {
		t.Errorf("vm1's guest reported %+v; want uuid %s, key %q, its user data's output and address %s", c, vm1.id, pub, vm1.addr)
	}
	fetchFromNetwork(t, s, vm1.addr, vm1.id)

	s.MustCLI("demo", "server", "image", "create", "--wait", "--name", "vm1-snap", "vm1")
	vm2 := bootGuest(t, s, "vm2", "vm1-snap", "--network", "private")
	if vm2.addr == vm1.addr {
		t.Fatalf("the snapshot's server got vm1's address %s", vm1.addr)
	}
	if c := waitGuest(t, s, "vm2"); c.UUID != vm2.id || c.IP != vm2.addr || c.HasUserData {
		t.Errorf("vm2's guest reported %+v; want uuid %s, address %s, no user data", c, vm2.id, vm2.addr)
	}
	fetchFromNetwork(t, s, vm2.addr, vm2.id)

	// The fixed address survives a stop and start: the guest asks DHCP
	// again and gets the same one.
	boots := strings.Count(s.MustCLI("demo", "console", "log", "show", "vm1"), linuxguest.BootMarker)
	s.MustCLI("demo", "server", "stop", "vm1")
	waitStatus2(t, s, "vm1", "SHUTOFF")
	s.MustCLI("demo", "server", "start", "vm1")
	eventually(t, 5*time.Minute, func() (bool, string) {
		out, _, _ := s.CLI("demo", "console", "log", "show", "vm1")
		c := linuxguest.ParseConsole([]byte(out))
		return strings.Count(out, linuxguest.BootMarker) > boots && c.Ready && c.IP == vm1.addr, "vm1 after start:\n" + out
	})
	fetchFromNetwork(t, s, vm1.addr, vm1.id)
	s.MustCLI("demo", "server", "delete", "--wait", "vm1", "vm2")
}

// uploadLinuxGuest uploads the guest's kernel (aki), ramdisk (ari) and
// disk (ami, naming the other two) and returns the ami's id.
func uploadLinuxGuest(t testing.TB, s *Server, g linuxguest.Guest) string {
	create := func(name, file, format string, props ...string) string {
		args := append([]string{"image", "create", "--file", file, "--disk-format", format, "--container-format", format, "-f", "value", "-c", "id"}, props...)
		return strings.TrimSpace(s.MustCLI("demo", append(args, name)...))
	}
	kernel := create("guest-kernel", g.Kernel, "aki")
	ramdisk := create("guest-ramdisk", g.Ramdisk, "ari")
	return create("guest", g.Disk, "ami", "--property", "kernel_id="+kernel, "--property", "ramdisk_id="+ramdisk,
		"--property", "os_command_line="+g.Cmdline)
}

type bootedGuest struct{ id, addr string }

var privateAddr = regexp.MustCompile(`private\W+([0-9.]+)`)

// bootGuest creates a server with the CLI, waits for ACTIVE and reads its
// address on the network "private" from server show.
func bootGuest(t testing.TB, s *Server, name, image string, args ...string) bootedGuest {
	t.Helper()
	out := s.MustCLI("demo", append([]string{"server", "create", "--image", image, "--flavor", "m1.tiny", "--wait", "-f", "json"}, append(args, name)...)...)
	var created map[string]any
	if err := json.Unmarshal([]byte(out), &created); err != nil || created["status"] != "ACTIVE" {
		t.Fatalf("server create %s: %s", name, out)
	}
	show := s.MustCLI("demo", "server", "show", "-f", "value", "-c", "addresses", name)
	m := privateAddr.FindStringSubmatch(show)
	if m == nil {
		t.Fatalf("server show %s: no address on private: %q", name, show)
	}
	if list := s.MustCLI("demo", "server", "list", "-f", "value", "-c", "Name", "-c", "Networks"); !strings.Contains(list, m[1]) {
		t.Fatalf("server list does not show %s: %q", m[1], list)
	}
	return bootedGuest{id: created["id"].(string), addr: m[1]}
}

// waitGuest waits (TCG boots take tens of seconds) until the server's
// guest says it serves HTTP, and returns what it reported on its console.
func waitGuest(t *testing.T, s *Server, name string) linuxguest.Console {
	t.Helper()
	var c linuxguest.Console
	eventually(t, 5*time.Minute, func() (bool, string) {
		out, _, _ := s.CLI("demo", "console", "log", "show", name)
		c = linuxguest.ParseConsole([]byte(out))
		return c.Ready, "the guest of " + name + " is not ready:\n" + out
	})
	return c
}

// fetchFromNetwork gets http://addr/ from inside the network's DHCP
// namespace, as operators reach guests on a Neutron network, and expects
// the page to name the server.
func fetchFromNetwork(t testing.TB, s *Server, addr, id string) {
	t.Helper()
	netID := strings.TrimSpace(s.MustCLI("demo", "network", "show", "-f", "value", "-c", "id", "private"))
	var page string
	eventually(t, 2*time.Minute, func() (bool, string) {
		out, err := exec.Command("ip", "netns", "exec", "qdhcp-"+netID, "curl", "-sS", "--max-time", "5", "http://"+addr+"/").CombinedOutput()
		page = string(out)
		return err == nil && strings.Contains(page, id), "GET http://" + addr + "/ in qdhcp-" + netID + ": " + page
	})
}
