package hostrpc

import (
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"imagestack/common/db/dbtest"
	"imagestack/compute/computetest"
)

// countStatements counts the statements run on gdb (transactions' BEGIN
// and COMMIT aside).
func countStatements(t *testing.T, gdb *gorm.DB) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	count := func(*gorm.DB) { n.Add(1) }
	cb := gdb.Callback()
	for name, err := range map[string]error{
		"query":  cb.Query().After("gorm:query").Register("test:count", count),
		"create": cb.Create().After("gorm:create").Register("test:count", count),
		"update": cb.Update().After("gorm:update").Register("test:count", count),
		"delete": cb.Delete().After("gorm:delete").Register("test:count", count),
		"row":    cb.Row().After("gorm:row").Register("test:count", count),
		"raw":    cb.Raw().After("gorm:raw").Register("test:count", count),
	} {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return &n
}

// TestDatabaseLoad measures what the design note reports: the statements
// per second an idle host's agent runs at the default poll interval, and
// the statements one quick call costs its caller and its host together.
func TestDatabaseLoad(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		env := newTestEnv(t, gdb)
		n := countStatements(t, gdb)
		fake := computetest.NewHypervisor()
		env.agent(t, "host-1", fake, withPoll(0)) // the default
		const idle = 2 * time.Second
		time.Sleep(100 * time.Millisecond)
		before := n.Load()
		time.Sleep(idle)
		perSecond := float64(n.Load()-before) / idle.Seconds()
		t.Logf("idle host: %.1f statements/s (poll %s)", perSecond, 100*time.Millisecond)
		if perSecond > 12 {
			t.Errorf("an idle host runs %.1f statements/s, more than one per poll", perSecond)
		}
		client := env.client(t, OneHost("host-1"))
		s := spec(t)
		if err := client.Spawn(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		const calls = 20
		start, before := time.Now(), n.Load()
		for range calls {
			if _, err := client.PowerState(t.Context(), s.ServerID); err != nil {
				t.Fatal(err)
			}
		}
		took := time.Since(start)
		perCall := (float64(n.Load()-before) - perSecond*took.Seconds()) / calls
		t.Logf("one quick call: %.1f statements besides the host's idle polls, %s round trip", perCall, took/calls)
		if perCall > 15 {
			t.Errorf("a call costs %.1f statements", perCall)
		}
	})
}
