package service_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"imagestack/common/db"
	"imagestack/common/db/dbtest"
	"imagestack/compute/computetest"
	"imagestack/compute/service"
	"imagestack/policy/keystone/keystonetest"
)

// Sizes of BenchmarkScheduler: 100 hosts with room for 9 m1.nano each
// (3 vCPUs x 4, 1152 MiB), 1,000 boots at once from 20 projects through 3
// replicas: 900 fit, 100 get NoValidHost.
const (
	benchHosts, benchPerHost, benchBoots, benchReplicas, benchProjects = 100, 9, 1000, 3, 20
	benchSubset                                                        = 3 // host_subset_size: replicas race less
)

// countStatements counts every statement gorm runs on gdb into n
// (BEGIN and COMMIT are not statements gorm sees).
func countStatements(b *testing.B, gdb *gorm.DB, n *atomic.Int64) {
	count := func(*gorm.DB) { n.Add(1) }
	cb := gdb.Callback()
	for _, err := range []error{cb.Create().After("gorm:create").Register("bench:count", count),
		cb.Query().After("gorm:query").Register("bench:count", count), cb.Update().After("gorm:update").Register("bench:count", count),
		cb.Delete().After("gorm:delete").Register("bench:count", count), cb.Raw().After("gorm:raw").Register("bench:count", count),
		cb.Row().After("gorm:row").Register("bench:count", count)} {
		if err != nil {
			b.Fatal(err)
		}
	}
}

// decisions collects the scheduler's decisions.
type decisions struct {
	mu   sync.Mutex
	list []service.Decision
	last time.Time
}

func (d *decisions) add(x service.Decision) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.list, d.last = append(d.list, x), time.Now()
}

// BenchmarkScheduler boots 1,000 servers at once through 3 compute
// services (API replicas, each with its own connection pool) on one
// MariaDB database onto 100 simulated hosts (registered nodes with the
// fake hypervisor, heartbeating), and prints decisions per second, the
// p50/p95 latency of a placement (read, filter, weigh, claim), claims
// tried per decision and database statements per boot; any overcommitted
// host fails it.
func BenchmarkScheduler(b *testing.B) {
	dsn, ctx := dbtest.MySQLDSN(b), context.Background()
	var stmts atomic.Int64
	var gdbs []*gorm.DB
	for range benchReplicas {
		gdb, err := db.Open(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			if sqlDB, err := gdb.DB(); err == nil {
				sqlDB.Close()
			}
		})
		countStatements(b, gdb, &stmts)
		gdbs = append(gdbs, gdb)
	}
	var got decisions
	replicas := computetest.NewReplicas(b, gdbs, computetest.WithQuotas(raceQuotas),
		computetest.WithScheduler(service.SchedulerConfig{RAMWeightMultiplier: 1, HostSubsetSize: benchSubset}), computetest.WithDecisions(got.add))
	repo := replicas[0].Repo
	hosts := make([]string, benchHosts)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("bench-%03d", i)
		computetest.RegisterHost(b, repo, computetest.Host{Name: hosts[i], VCPUs: 3, MemoryMB: benchPerHost * 128, LocalGB: 100})
	}
	beats, stopBeats := heartbeats(repo, hosts)
	for b.Loop() {
		stmts.Store(0)
		beats.Store(0)
		start := time.Now()
		bootAll(b, replicas)
		placed := len(got.list)
		fmt.Printf("BenchmarkScheduler: %d boots through %d replicas onto %d hosts in %v: %d decisions, %.0f decisions/s\n",
			benchBoots, benchReplicas, benchHosts, time.Since(start).Round(time.Millisecond), placed, float64(placed)/got.last.Sub(start).Seconds())
		if failed := reportDecisions(got.list); placed != benchBoots || failed != benchBoots-benchHosts*benchPerHost {
			b.Errorf("%d decisions, %d NoValidHost; want %d, %d", placed, failed, benchBoots, benchBoots-benchHosts*benchPerHost)
		}
		fmt.Printf("  DB statements per boot (create, quota, schedule, claim, boot steps): %.1f (%d heartbeats meanwhile not counted)\n",
			float64(stmts.Load()-beats.Load())/benchBoots, beats.Load())
	}
	stopBeats()
	if over := computetest.Overcommitted(b, repo, repo); len(over) > 0 {
		b.Fatalf("overcommitted hosts: %v", over)
	}
}

// bootAll creates benchBoots servers at once, spread over the replicas and
// projects, and waits for every boot to end.
func bootAll(b *testing.B, replicas []*computetest.Setup) {
	var wg sync.WaitGroup
	for i := range benchBoots {
		wg.Go(func() {
			e := replicas[i%len(replicas)]
			c := e.Service.NewCaller(keystonetest.Credentials(fmt.Sprintf("P%d", i%benchProjects), "member", "reader"))
			if _, err := e.Service.Create(context.Background(), c, service.CreateRequest{Name: "vm", ImageRef: "img", FlavorRef: "42", MinCount: 1, MaxCount: 1}); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
	for _, e := range replicas {
		e.Service.Wait()
	}
}

// heartbeats beats for every host each second, as their compute
// processes would, counting the statements in the returned counter.
func heartbeats(repo computetest.Registry, hosts []string) (*atomic.Int64, func()) {
	var n atomic.Int64
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			for _, h := range hosts {
				_ = repo.HeartbeatNode(ctx, h, time.Now().UTC())
				n.Add(1)
			}
		}
	}()
	return &n, func() { stop(); <-done }
}

// reportDecisions prints the outcome and latency of the placements and
// returns how many failed.
func reportDecisions(list []service.Decision) int {
	var took []time.Duration
	claims, failed := 0, 0
	for _, d := range list {
		took, claims = append(took, d.Took), claims+d.Claims
		if d.Err != nil {
			failed++
		}
	}
	if len(took) == 0 {
		return 0
	}
	slices.Sort(took)
	pct := func(p int) time.Duration { return took[(len(took)-1)*p/100].Round(100 * time.Microsecond) }
	fmt.Printf("  placed %d, NoValidHost %d; placement latency p50 %v p95 %v max %v; claims tried per decision %.2f\n",
		len(list)-failed, failed, pct(50), pct(95), pct(100), float64(claims)/float64(len(list)))
	return failed
}
