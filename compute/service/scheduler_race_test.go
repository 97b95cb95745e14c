package service_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"gorm.io/gorm"

	"imagestack/common/db/dbtest"
	"imagestack/compute"
	"imagestack/compute/computetest"
	"imagestack/compute/service"
)

// raceQuotas let one project boot as many servers as a race needs.
var raceQuotas = service.Quotas{Instances: 100000, Cores: 100000, RAM: 1 << 30}

// TestConcurrentScheduling: three API replicas on one database boot 200
// servers at once onto 20 hosts with room for 8 each: no host is
// overcommitted, 160 servers are ACTIVE and the other 40 in ERROR with
// NoValidHost, on every engine.
func TestConcurrentScheduling(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		replicas := computetest.NewReplicas(t, []*gorm.DB{gdb, gdb, gdb}, computetest.WithQuotas(raceQuotas),
			computetest.WithScheduler(service.SchedulerConfig{RAMWeightMultiplier: 1}))
		repo := replicas[0].Repo
		for i := range 20 { // 2 vCPUs x 4 and 1 GiB: eight m1.nano each
			computetest.RegisterHost(t, repo, computetest.Host{Name: fmt.Sprintf("host-%02d", i), VCPUs: 2, MemoryMB: 1024, LocalGB: 100})
		}
		ids := make([]string, 200)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() {
				e := replicas[i%len(replicas)]
				res, err := e.Service.Create(context.Background(), e.Member, service.CreateRequest{Name: "vm", ImageRef: "img", FlavorRef: "42", MinCount: 1, MaxCount: 1})
				if err != nil {
					t.Error(err)
					return
				}
				ids[i] = res.Servers[0].ID
			})
		}
		wg.Wait()
		for _, e := range replicas {
			e.Service.Wait()
		}
		if over := computetest.Overcommitted(t, repo, repo); len(over) > 0 {
			t.Fatalf("overcommitted hosts: %v", over)
		}
		states := map[string]int{}
		for _, id := range ids {
			if sv := replicas[0].Get(t, id); sv.VMState == compute.VMError && sv.Fault == noValidHost {
				states["NoValidHost"]++
			} else {
				states[sv.Status()]++
			}
		}
		if states["ACTIVE"] != 160 || states["NoValidHost"] != 40 {
			t.Fatalf("outcomes: %v, want 160 ACTIVE and 40 NoValidHost", states)
		}
	})
}
