package tests

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// TestLazyBaseBootsBeforeImageArrives shows what users see with
// compute.lazy_base: a server on a large image not on the host yet is
// ACTIVE and prints its console output while most of the image is still
// to come (the background fill is held to 16 MiB/s here so that "still to
// come" lasts); a restart of the service meanwhile does not lose the
// base: it then completes, is verified and becomes the host's cached base;
// a second server boots from that verified file (no network backing in
// its domain); the first, powered off and on, boots again through the
// endpoint (same port and cookie after the restart); and deleting the
// servers leaves no domain and no server files.
func TestLazyBaseBootsBeforeImageArrives(t *testing.T) {
	requireLibvirt(t)
	s := NewServer(t, nil, "compute:\n  lazy_base_fill_rate: 16\n")
	ic, cc := imageClient(t, s, "demo"), computeClient(t, s, "demo")
	const size = 256 << 20
	image := uploadPaddedBootImage(t, s, ic, "lazy-big", "LAZY-BOOT", size)
	baseDir := filepath.Join(s.StateDir, "compute", "base")

	first, _, _ := bootAndTime(t, cc, image, "42", "lazy-1", "LAZY-BOOT")
	// Still arriving: no verified base yet, a partial one mostly holes.
	if _, err := os.Stat(filepath.Join(baseDir, image)); err == nil {
		t.Fatal("the base was complete before the server was ACTIVE: nothing shows the boot did not wait for it")
	}
	if got := allocatedBytes(t, baseDir); got >= size/2 {
		t.Fatalf("%d of the image's %d bytes were on the host when the server printed its console output", got, size)
	}
	domainXML := virshDumpXML(t, first)
	if !strings.Contains(domainXML, "protocol='http'") || !strings.Contains(domainXML, "<cookie name='imagestack_base'>") {
		t.Fatalf("the first server's base is not read through the endpoint:\n%s", domainXML)
	}

	// A restart of the service while the base arrives: the partial fill
	// is dropped and fetched again for the running server.
	s.Stop()
	s.Start()
	cc = computeClient(t, s, "demo")

	// The base completes and is verified, then the second server boots
	// from the local file.
	eventually(t, 40*time.Second, func() (bool, string) {
		_, err := os.Stat(filepath.Join(baseDir, image))
		return err == nil, "the base is not verified yet"
	})
	if !strings.Contains(s.log.String(), "image downloaded into the host cache") {
		t.Fatal("no log of the verified base")
	}
	if parts, _ := filepath.Glob(filepath.Join(baseDir, "*.part*")); len(parts) != 0 {
		t.Fatalf("partial base files left after verification: %v", parts)
	}
	second, _, _ := bootAndTime(t, cc, image, "42", "lazy-2", "LAZY-BOOT")
	if x := virshDumpXML(t, second); strings.Contains(x, "protocol='http'") {
		t.Fatalf("the second server reads its base through the endpoint, not the verified file:\n%s", x)
	}

	// After the restart, the first server's domain, whose definition
	// reads the base through the endpoint, boots again: a new QEMU finds
	// the endpoint at the same port with the same cookie.
	before := consoleOf(t, cc, first)
	if r := servers.Stop(t.Context(), cc, first); r.Err != nil {
		t.Fatal(r.Err)
	}
	waitServerStatus(t, cc, first, "SHUTOFF")
	if r := servers.Start(t.Context(), cc, first); r.Err != nil {
		t.Fatal(r.Err)
	}
	waitServerStatus(t, cc, first, "ACTIVE")
	eventually(t, 30*time.Second, func() (bool, string) {
		out := consoleOf(t, cc, first)
		return strings.Count(out, "LAZY-BOOT") > strings.Count(before, "LAZY-BOOT"), "no new boot output after the restart: " + out
	})

	for _, id := range []string{first, second} {
		if r := servers.Delete(t.Context(), cc, id); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	for _, id := range []string{first, second} {
		waitDeleted(t, cc, id)
		if _, err := os.Stat(filepath.Join(s.StateDir, "compute", "instances", id)); err == nil {
			t.Fatalf("server %s's files are left", id)
		}
		if out, _ := exec.Command("virsh", "-c", os.Getenv("TEST_LIBVIRT_URI"), "list", "--all", "--name").CombinedOutput(); strings.Contains(string(out), id) {
			t.Fatalf("domain of %s is left", id)
		}
	}
}

// uploadPaddedBootImage uploads a raw disk of size bytes: the boot sector
// printing marker, then random (incompressible) bytes.
func uploadPaddedBootImage(tb testing.TB, s *Server, ic *gophercloud.ServiceClient, name, marker string, size int64) string {
	tb.Helper()
	im, err := images.Create(tb.Context(), ic, images.CreateOpts{Name: name, DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	if err != nil {
		tb.Fatal(err)
	}
	head, err := os.ReadFile(bootImage(tb, marker))
	if err != nil {
		tb.Fatal(err)
	}
	head = head[:512]
	seed := [32]byte{}
	copy(seed[:], name+marker+time.Now().String())
	pad := io.LimitReader(rand.NewChaCha8(seed), size-int64(len(head)))
	resp, err := uploadRaw(s, ic.TokenID, im.ID, io.MultiReader(bytes.NewReader(head), pad))
	if err != nil || resp.StatusCode != 204 {
		tb.Fatalf("upload: %v %v", resp, err)
	}
	resp.Body.Close()
	return im.ID
}

// bootAndTime creates a server of flavor and returns its id and
// the times from POST /servers to ACTIVE and to the first console output
// holding marker.
func bootAndTime(tb testing.TB, cc *gophercloud.ServiceClient, image, flavor, name, marker string) (string, time.Duration, time.Duration) {
	tb.Helper()
	start := time.Now()
	sv, err := servers.Create(tb.Context(), cc, servers.CreateOpts{Name: name, ImageRef: image, FlavorRef: flavor}, nil).Extract()
	if err != nil {
		tb.Fatal(err)
	}
	var active, console time.Duration
	deadline := start.Add(3 * time.Minute)
	for active == 0 || console == 0 {
		if time.Now().After(deadline) {
			tb.Fatalf("server %s: ACTIVE after %v, console after %v, at the deadline", sv.ID, active, console)
		}
		if active == 0 {
			got, err := servers.Get(tb.Context(), cc, sv.ID).Extract()
			if err == nil && got.Status == "ERROR" {
				tb.Fatalf("server %s in ERROR: %+v", sv.ID, got.Fault)
			}
			if err == nil && got.Status == "ACTIVE" {
				active = time.Since(start)
			}
		}
		if console == 0 && strings.Contains(consoleOf(tb, cc, sv.ID), marker) {
			console = time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return sv.ID, active, console
}

func waitServerStatus(tb testing.TB, cc *gophercloud.ServiceClient, id, status string) {
	tb.Helper()
	eventually(tb, time.Minute, func() (bool, string) {
		sv, err := servers.Get(tb.Context(), cc, id).Extract()
		if err != nil {
			return false, err.Error()
		}
		return sv.Status == status, "server " + id + " is " + sv.Status + ", want " + status
	})
}

func consoleOf(tb testing.TB, cc *gophercloud.ServiceClient, id string) string {
	out, _ := servers.ShowConsoleOutput(tb.Context(), cc, id, servers.ShowConsoleOutputOpts{Length: -1}).Extract()
	return out
}

func waitDeleted(tb testing.TB, cc *gophercloud.ServiceClient, id string) {
	tb.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := servers.Get(tb.Context(), cc, id).Extract(); gophercloud.ResponseCodeIs(err, 404) {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("server %s not deleted", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// allocatedBytes is the disk space the files of dir take (holes excluded).
func allocatedBytes(tb testing.TB, dir string) int64 {
	out, err := exec.Command("du", "-s", "-B1", dir).Output()
	if err != nil {
		tb.Fatal(err)
	}
	var n int64
	fmt.Sscan(string(out), &n)
	return n
}

func virshDumpXML(tb testing.TB, id string) string {
	out, err := exec.Command("virsh", "-c", os.Getenv("TEST_LIBVIRT_URI"), "dumpxml", "--security-info", "imagestack-"+id).CombinedOutput()
	if err != nil {
		tb.Fatalf("virsh dumpxml: %v %s", err, out)
	}
	return string(out)
}

// TestLazyBaseFailingVerificationFailsServer: a server booted on an image
// whose stored data was damaged after upload (so what arrives does not
// match the image's checksum) is stopped and put in ERROR with a fault
// saying its image's data failed verification; nothing of the bad base
// stays on the host.
func TestLazyBaseFailingVerificationFailsServer(t *testing.T) {
	requireLibvirt(t)
	s := NewServer(t, nil, "")
	ic, cc := imageClient(t, s, "demo"), computeClient(t, s, "demo")
	image := uploadPaddedBootImage(t, s, ic, "lazy-damaged", "DAMAGED", 16<<20)
	stored, _ := filepath.Glob(filepath.Join(s.StateDir, "images", "blobs", image+"*"))
	if len(stored) != 1 {
		t.Fatalf("the image's stored files: %v", stored)
	}
	f, err := os.OpenFile(stored[0], os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Past the boot sector: the guest boots, the tail is wrong.
	if _, err := f.WriteAt([]byte("damaged"), 12<<20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	sv, err := servers.Create(t.Context(), cc, servers.CreateOpts{Name: "damaged", ImageRef: image, FlavorRef: "42"}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	waitServerStatus(t, cc, sv.ID, "ERROR")
	got, err := servers.Get(t.Context(), cc, sv.ID).Extract()
	if err != nil || !strings.Contains(got.Fault.Message, "failed verification") || !strings.Contains(got.Fault.Message, "does not match") {
		t.Fatalf("fault: %+v %v", got.Fault, err)
	}
	if !strings.Contains(virshDomState(t, sv.ID), "shut off") {
		t.Fatalf("the VM that read unverified data is %q", virshDomState(t, sv.ID))
	}
	baseDir := filepath.Join(s.StateDir, "compute", "base")
	if entries, _ := os.ReadDir(baseDir); len(entries) != 0 {
		t.Fatalf("files left in the host cache: %v", entries)
	}
	if r := servers.Delete(t.Context(), cc, sv.ID); r.Err != nil {
		t.Fatal(r.Err)
	}
	waitDeleted(t, cc, sv.ID)
}

func virshDomState(tb testing.TB, id string) string {
	out, _ := exec.Command("virsh", "-c", os.Getenv("TEST_LIBVIRT_URI"), "domstate", "imagestack-"+id).CombinedOutput()
	return strings.TrimSpace(string(out))
}
