package linuxguest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"imagestack/compute"
	"imagestack/compute/computetest/linuxguest"
	"imagestack/compute/configdrive"
)

// syncBuffer collects the guest's console output while QEMU writes it.
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

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// boot starts the guest under QEMU (software emulation, user-mode
// networking: its DHCP and the guest's address live inside QEMU) with the
// config drive as an IDE CD-ROM, as Nova attaches it, and port 80 of the
// guest forwarded to a loopback port. It returns the console and the port.
func boot(t *testing.T, g linuxguest.Guest, drive string) (*syncBuffer, int) {
	t.Helper()
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", "-accel", "tcg", "-m", "256", "-nographic",
		"-no-reboot", "-kernel", g.Kernel, "-initrd", g.Ramdisk, "-append", g.Cmdline+" panic=-1",
		"-drive", "file="+g.Disk+",format=raw,if=virtio,readonly=on",
		"-drive", "file="+drive+",media=cdrom,if=ide",
		"-netdev", fmt.Sprintf("user,id=n0,hostfwd=tcp:127.0.0.1:%d-:80", port),
		"-device", "virtio-net-pci,netdev=n0,mac=fa:16:3e:00:00:01")
	console := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = console, console
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("qemu-system-x86_64: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	deadline := time.After(4 * time.Minute)
	for !strings.Contains(console.String(), linuxguest.ReadyMarker) {
		select {
		case <-done:
			t.Fatalf("QEMU exited before the guest was ready:\n%s", console)
		case <-deadline:
			t.Fatalf("guest not ready after 4 minutes:\n%s", console)
		case <-time.After(500 * time.Millisecond):
		}
	}
	return console, port
}

func TestGuestReadsConfigDriveRunsUserDataServesHTTP(t *testing.T) {
	g := linuxguest.ForTest(t)
	const uuid = "0b4ae3c5-8d2e-4f63-9a62-3f5e4a0c1d77"
	const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGuestTestKey tester@imagestack"
	md := configdrive.Metadata{
		UUID: uuid, Name: "Guest One", Hostname: configdrive.Hostname("Guest One"), ProjectID: "p1",
		Domain:           configdrive.DefaultDomain,
		AvailabilityZone: "nova", KeyName: "k1", PublicKey: key, KeyType: "ssh",
		Meta:     map[string]string{"hostname": "not-this-one"},
		UserData: []byte("#!/bin/sh\necho \"user data says $((6 * 7))\"\nexit 3\n"),
		NICs: []compute.NIC{{PortID: "port-1", NetworkID: "net-1", MAC: "fa:16:3e:00:00:01",
			Device: "tapport-1", IPs: []compute.FixedIP{{Address: "10.0.2.15", Version: 4,
				CIDR: "10.0.2.0/24", Gateway: "10.0.2.2"}}}},
		DHCP: true,
	}
	drive := filepath.Join(t.TempDir(), "disk.config")
	if err := configdrive.Build(context.Background(), drive, md); err != nil {
		t.Fatal(err)
	}
	console, port := boot(t, g, drive)
	out := strings.ReplaceAll(console.String(), "\r\n", "\n")
	if strings.Contains(out, "insmod-failed") {
		t.Errorf("a driver did not load:\n%s", out)
	}
	got := linuxguest.ParseConsole([]byte(console.String()))
	want := linuxguest.Console{Booted: true, UUID: uuid, Hostname: "guest-one.novalocal", PublicKey: key,
		UserData: string(md.UserData), HasUserData: true, UserDataOutput: "user data says 42\n", UserDataExit: 3,
		Ready: true, IP: "10.0.2.15"}
	if got != want {
		t.Errorf("guest reported\n%+v\nwant\n%+v\nconsole:\n%s", got, want, out)
	}
	// The lines as documented, for tests that grep a console log.
	if !strings.Contains(out, "\ninstance-uuid: "+uuid+"\n") || !strings.Contains(out, "\nimagestack-guest-ready 10.0.2.15\n") {
		t.Errorf("console lines differ from the documented ones:\n%s", out)
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), uuid) {
		t.Errorf("GET / = %d %q", resp.StatusCode, body)
	}
}

func TestParseConsoleReadsTheLastBoot(t *testing.T) {
	log := "imagestack-guest-boot 6.1\r\ninstance-uuid: old\r\nimagestack-guest-ready none\r\n" +
		"[ 0.1] kernel noise\r\nimagestack-guest-boot 6.1\r\ninstance-uuid: u1\r\nhostname: h1\r\n" +
		"imagestack-guest-user-data-begin\r\n\r\nimagestack-guest-user-data-end\r\n" +
		"imagestack-guest-dhcp eth0 10.0.0.5\r\nimagestack-guest-ready 10.0.0.5\r\n"
	got := linuxguest.ParseConsole([]byte(log))
	want := linuxguest.Console{Booted: true, UUID: "u1", Hostname: "h1", UserData: "\n", HasUserData: true,
		UserDataExit: -1, Ready: true, IP: "10.0.0.5"}
	if got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if got := linuxguest.ParseConsole([]byte("imagestack-guest-boot 6.1\n")); got.Ready || !got.Booted || got.UserDataExit != -1 {
		t.Errorf("booting guest: %+v", got)
	}
}
