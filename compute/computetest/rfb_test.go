package computetest_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"imagestack/compute"
	"imagestack/compute/computetest"
)

// TestFakeConsole: a running fake domain has a VNC server that speaks RFB;
// a stopped or destroyed one has none, and nothing of it is left.
func TestFakeConsole(t *testing.T) {
	h := computetest.NewHypervisor()
	ctx := context.Background()
	base := filepath.Join(t.TempDir(), "base.raw")
	if err := os.WriteFile(base, []byte("disk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := h.Spawn(ctx, compute.SpawnSpec{ServerID: "s1", BaseImage: base}); err != nil {
		t.Fatal(err)
	}
	computetest.CheckConsole(t, h, "s1")
	sock, _ := h.ConsoleSocket(ctx, "s1")
	if err := h.Stop(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.ConsoleSocket(ctx, "s1"); !errors.Is(err, compute.ErrNotFound) {
		t.Fatalf("console of a stopped domain: %v", err)
	}
	if c, err := net.Dial("unix", sock); err == nil {
		c.Close()
		t.Fatal("the VNC server of a stopped domain still answers")
	}
	if _, err := os.Stat(filepath.Dir(sock)); !os.IsNotExist(err) {
		t.Fatalf("the sockets' directory is left: %v", err)
	}
	if err := h.Start(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	computetest.CheckConsole(t, h, "s1")
	sock, _ = h.ConsoleSocket(ctx, "s1")
	if err := h.Destroy(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(sock)); !os.IsNotExist(err) {
		t.Fatalf("the sockets' directory is left after Destroy: %v", err)
	}
}
