package hostrpc

import (
	"bytes"
	"errors"
	"testing"

	"gorm.io/gorm"

	"imagestack/common/db/dbtest"
	"imagestack/compute"
	"imagestack/compute/computetest"
)

// TestDiskMovesBetweenHosts: a stopped server's overlay leaves its host
// through the blob store and boots on another host from there, whole; a
// running server's is refused by its host; nothing stays in the store.
func TestDiskMovesBetweenHosts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		env := newTestEnv(t, gdb)
		a, b := computetest.NewHypervisor(), computetest.NewHypervisor()
		env.agent(t, "host-a", a)
		env.agent(t, "host-b", b)
		fromA, toB := env.client(t, OneHost("host-a")), env.client(t, OneHost("host-b"))
		s := spec(t)
		if err := fromA.Spawn(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		a.WriteDisk(s.ServerID, []byte("what the guest wrote"))
		var disk bytes.Buffer
		if err := fromA.ExportDisk(t.Context(), s.ServerID, &disk); !errors.Is(err, compute.ErrConflict) {
			t.Fatalf("export of a running server: %v, want a conflict", err)
		}
		if err := fromA.Stop(t.Context(), s.ServerID); err != nil {
			t.Fatal(err)
		}
		if err := fromA.ExportDisk(t.Context(), s.ServerID, &disk); err != nil {
			t.Fatal(err)
		}
		if err := toB.ImportDisk(t.Context(), s, &disk); err != nil {
			t.Fatal(err)
		}
		if got := string(b.Disk(s.ServerID)); got != "what the guest wrote" {
			t.Errorf("disk on host-b: %q", got)
		}
		if ps, _ := b.Domain(s.ServerID); ps != compute.PowerRunning {
			t.Errorf("server on host-b is %d, want running", ps)
		}
		if live, _ := env.blobs.left(); live != 0 {
			t.Errorf("%d blobs left in the store", live)
		}
	})
}
