package service_test

import (
	"fmt"
	"sync"
	"testing"

	"gorm.io/gorm"

	"imagestack/common/db/dbtest"
	"imagestack/compute"
	"imagestack/network/networktest"
)

// TestConcurrentAllocate boots servers at once on both engines: every
// server gets its own address, and the DHCP server ends with a lease for
// each of them (the last lease update applied saw every port).
func TestConcurrentAllocate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		s := networktest.NewSetup(t, networktest.WithDB(gdb))
		n := s.DefaultNetwork(t)
		nets := s.Service.ForCompute()
		const servers = 12
		var wg sync.WaitGroup
		errs := make([]error, servers)
		for i := range servers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = nets.Allocate(ctx, member, fmt.Sprintf("srv-%d", i), fmt.Sprintf("vm-%d", i),
					[]compute.NetworkRequest{{NetworkID: n.ID}})
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		leases := s.Dataplane.Hosts(n.ID)
		seen := map[string]bool{}
		for _, h := range leases {
			if seen[h.IP] || h.IP == "10.0.0.2" {
				t.Fatalf("address %s given twice (or the DHCP server's): %+v", h.IP, leases)
			}
			seen[h.IP] = true
		}
		if len(leases) != servers {
			t.Fatalf("%d leases for %d servers: %+v", len(leases), servers, leases)
		}
	})
}
