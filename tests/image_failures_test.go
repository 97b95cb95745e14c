package tests

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// dirEntries counts files under the store's blobs and tmp directories.
func dirEntries(t *testing.T, root string) int {
	t.Helper()
	n := 0
	for _, sub := range []string{"blobs", "tmp"} {
		entries, err := os.ReadDir(filepath.Join(root, sub))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		n += len(entries)
	}
	return n
}

// uploadRaw PUTs body to the image's file with the demo token.
func uploadRaw(s *Server, token, id string, body io.Reader) (*http.Response, error) {
	req, _ := http.NewRequest("PUT", s.ImageURL+"/v2/images/"+id+"/file", body)
	req.Header.Set("X-Auth-Token", token)
	req.Header.Set("Content-Type", "application/octet-stream")
	return http.DefaultClient.Do(req)
}

// TestCrashMidUpload kills the server while an upload streams; after a
// restart the image is queued again and no partial data is left.
func TestCrashMidUpload(t *testing.T) {
	s := NewServer(t, nil, "")
	c := imageClient(t, s, "demo")
	im, err := images.Create(t.Context(), c, images.CreateOpts{Name: "crash", DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	go func() {
		chunk := make([]byte, 256<<10)
		for {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	go uploadRaw(s, c.TokenID, im.ID, pr)
	store := filepath.Join(s.StateDir, "images")
	deadline := time.Now().Add(10 * time.Second)
	for dirEntries(t, store) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("upload never started writing")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	s.Kill()
	pr.Close()
	s.Start()
	got, err := images.Get(t.Context(), c, im.ID).Extract()
	if err != nil || got.Status != images.ImageStatusQueued {
		t.Fatalf("after restart: %+v %v", got, err)
	}
	if n := dirEntries(t, store); n != 0 {
		t.Fatalf("%d partial files left after restart", n)
	}
	if !strings.Contains(s.log.String(), "returned images interrupted mid-upload to queued") {
		t.Fatal("recovery not logged")
	}
}

// TestDiskFull uploads into a store on a tiny tmpfs: 413, the image stays
// queued and nothing is left; a small upload afterwards succeeds.
func TestDiskFull(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("mounting a tmpfs needs root; CI runs this test as root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	s := NewServer(t, nil, "image: {filesystem_dir: "+dir+"}")
	c := imageClient(t, s, "demo")
	im, err := images.Create(t.Context(), c, images.CreateOpts{Name: "big", DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := uploadRaw(s, c.TokenID, im.ID, io.LimitReader(zeroReader{}, 16<<20))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("upload onto a full disk = %d, want 413", resp.StatusCode)
	}
	got, _ := images.Get(t.Context(), c, im.ID).Extract()
	if got.Status != images.ImageStatusQueued {
		t.Fatalf("status after a full disk: %s", got.Status)
	}
	if n := dirEntries(t, dir); n != 0 {
		t.Fatalf("%d files left on the full disk", n)
	}
	resp, err = uploadRaw(s, c.TokenID, im.ID, io.LimitReader(zeroReader{}, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("small upload after the failure = %d", resp.StatusCode)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestBodyCutShort: a client announces Content-Length, sends part of it and
// closes the connection. The server sees io.ErrUnexpectedEOF; the image must
// stay queued with no data, never become a shorter active image.
func TestBodyCutShort(t *testing.T) {
	s := NewServer(t, nil, "")
	c := imageClient(t, s, "demo")
	im, err := images.Create(t.Context(), c, images.CreateOpts{Name: "cut", DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.ImageURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PUT /v2/images/%s/file HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n",
		im.ID, c.TokenID, 3<<20)
	conn.Write(make([]byte, 1<<20+5))
	conn.Close()
	eventually(t, 10*time.Second, func() (bool, string) {
		got, err := images.Get(t.Context(), c, im.ID).Extract()
		return err == nil && got.Status == "queued", fmt.Sprintf("status %v %v", got, err)
	})
	time.Sleep(200 * time.Millisecond) // the upload's cleanup runs after the status change
	if got, _ := images.Get(t.Context(), c, im.ID).Extract(); got.Status != "queued" || got.SizeBytes != 0 {
		t.Fatalf("after a body cut short: %s, %d bytes", got.Status, got.SizeBytes)
	}
	if n := dirEntries(t, filepath.Join(s.StateDir, "images")); n != 0 {
		t.Fatalf("a body cut short left %d files", n)
	}
}
