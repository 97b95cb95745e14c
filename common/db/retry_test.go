package db_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"imagestack/common/db"
	"imagestack/common/db/dbtest"
)

type lockRow struct {
	ID int `gorm:"primaryKey;autoIncrement:false"`
	V  int
}

// crossLock runs two transactions on MariaDB that lock rows 1 and 2 in
// opposite orders, each waiting (on its first run only) until the other
// holds its first row: the engine must break the deadlock by rolling one
// back. run is the transaction runner under test.
func crossLock(t *testing.T, gdb *gorm.DB, run func(context.Context, *gorm.DB, func(*gorm.DB) error) error) (errs [2]error, runs int32) {
	if err := gdb.AutoMigrate(&lockRow{}); err != nil {
		t.Fatal(err)
	}
	if err := gdb.Create(&[]lockRow{{ID: 1, V: 0}, {ID: 2, V: 0}}).Error; err != nil {
		t.Fatal(err)
	}
	var holding sync.WaitGroup
	holding.Add(2)
	var n atomic.Int32
	var wg sync.WaitGroup
	for i, order := range [2][2]int{{1, 2}, {2, 1}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			errs[i] = run(context.Background(), gdb, func(tx *gorm.DB) error {
				n.Add(1)
				var a, b lockRow
				if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&a, order[0]).Error; err != nil {
					return err
				}
				if first {
					first = false
					holding.Done()
					holding.Wait()
				}
				if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&b, order[1]).Error; err != nil {
					return err
				}
				return tx.Model(&lockRow{}).Where("id IN ?", []int{1, 2}).Update("v", gorm.Expr("v + 1")).Error
			})
		}()
	}
	wg.Wait()
	return errs, n.Load()
}

// TestTransactionRetriesDeadlocks: two transactions that deadlock on
// MariaDB both succeed through db.Transaction (the one rolled back runs
// again), where a plain transaction hands the client the deadlock error.
func TestTransactionRetriesDeadlocks(t *testing.T) {
	plain := func(ctx context.Context, gdb *gorm.DB, fn func(*gorm.DB) error) error {
		return gdb.WithContext(ctx).Transaction(fn)
	}
	t.Run("plain transaction", func(t *testing.T) {
		errs, _ := crossLock(t, dbtest.OpenMySQL(t), plain)
		if !db.IsDeadlock(errs[0]) && !db.IsDeadlock(errs[1]) {
			t.Fatalf("no deadlock reported (%v, %v): the test does not make one", errs[0], errs[1])
		}
	})
	t.Run("db.Transaction", func(t *testing.T) {
		gdb := dbtest.OpenMySQL(t)
		start := time.Now()
		errs, runs := crossLock(t, gdb, db.Transaction)
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("transactions failed: %v, %v", errs[0], errs[1])
		}
		if runs < 3 {
			t.Fatalf("%d runs: the deadlocked transaction was not run again", runs)
		}
		var rows []lockRow
		gdb.Order("id").Find(&rows)
		if len(rows) != 2 || rows[0].V != 2 || rows[1].V != 2 {
			t.Fatalf("rows after both transactions: %+v, want v=2 each", rows)
		}
		t.Logf("%d runs in %v", runs, time.Since(start).Round(time.Millisecond))
	})
}
