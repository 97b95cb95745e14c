package hostrpc

import (
	"testing"

	"gorm.io/gorm"

	"imagestack/common/db/dbtest"
	"imagestack/compute"
	"imagestack/compute/computetest"
)

// TestHypervisorConformance runs computetest's hypervisor suite on an API
// replica's Hypervisor whose calls an agent runs on computetest's fake,
// over SQLite and MariaDB: the remote hypervisor meets the contract the
// local ones meet. Snapshots travel through the blob store and none is
// left there.
func TestHypervisorConformance(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		env := newTestEnv(t, gdb)
		fake := computetest.NewHypervisor()
		t.Cleanup(fake.CloseConsoles)
		env.agent(t, "host-1", fake)
		client := env.client(t, OneHost("host-1"))
		computetest.HypervisorSuite(t, func(*testing.T) compute.Hypervisor { return client })
		if live, puts := env.blobs.left(); live != 0 || puts == 0 {
			t.Errorf("snapshots in transit: %d left in the blob store of %d put", live, puts)
		}
		if rows := env.rows(t); len(rows) != 0 {
			t.Errorf("%d calls left in host_calls, e.g. %+v", len(rows), rows[0])
		}
	})
}
