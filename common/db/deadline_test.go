package db_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"gorm.io/gorm"

	"imagestack/common/db"
	"imagestack/common/db/dbtest"
)

var errUnavailable = errors.New("unavailable")

// TestClassifyUnavailable: connection-level failures of either engine become
// the domain's Unavailable kind; statement errors do not.
func TestClassifyUnavailable(t *testing.T) {
	kinds := db.Kinds{NotFound: errors.New("nf"), Conflict: errors.New("conflict"), Unavailable: errUnavailable}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	for _, err := range []error{
		driver.ErrBadConn, gomysql.ErrInvalidConn, sql.ErrConnDone, context.DeadlineExceeded, refused,
		fmt.Errorf("wrapped: %w", driver.ErrBadConn),
		&gomysql.MySQLError{Number: 1205, Message: "Lock wait timeout exceeded"},
		&gomysql.MySQLError{Number: 1040, Message: "Too many connections"},
		errors.New("Error 2006: MySQL server has gone away"),
		errors.New("sql: database is closed"),
		errors.New("database is locked (5) (SQLITE_BUSY)"),
	} {
		if got := kinds.Classify(err, "thing"); !errors.Is(got, errUnavailable) {
			t.Errorf("%v classified as %v, want unavailable", err, got)
		}
	}
	for _, err := range []error{
		&gomysql.MySQLError{Number: 1064, Message: "You have an error in your SQL syntax"},
		errors.New("no such table: images"),
		gorm.ErrRecordNotFound,
	} {
		if got := kinds.Classify(err, "thing"); errors.Is(got, errUnavailable) {
			t.Errorf("%v classified as unavailable", err)
		}
	}
}

// TestStatementDeadline: on MySQL a statement, and a transaction as a
// whole, give up at StatementTimeout (so a silent server cannot hold a
// request), the pool serves the next statement, and migrations may run longer.
func TestStatementDeadline(t *testing.T) {
	gdb := dbtest.OpenMySQL(t)
	defer db.SetStatementTimeout(time.Second)()
	kinds := db.Kinds{Unavailable: errUnavailable}
	ctx := t.Context()

	start := time.Now()
	err := gdb.WithContext(ctx).Exec("SELECT SLEEP(5)").Error
	if took := time.Since(start); !errors.Is(kinds.Classify(err, "sleep"), errUnavailable) || took > 3*time.Second {
		t.Fatalf("a 5 s statement under a 1 s deadline: %v after %v", err, took)
	}
	var n int
	if err := gdb.WithContext(ctx).Raw("SELECT 1").Scan(&n).Error; err != nil || n != 1 {
		t.Fatalf("the pool after a timed-out statement: %d %v", n, err)
	}

	start = time.Now()
	err = gdb.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for range 4 { // each statement fits its own deadline, the four do not
			if err := tx.Exec("SELECT SLEEP(0.4)").Error; err != nil {
				return err
			}
		}
		return nil
	})
	if took := time.Since(start); !errors.Is(kinds.Classify(err, "tx"), errUnavailable) || took > 3*time.Second {
		t.Fatalf("a 1.6 s transaction under a 1 s deadline: %v after %v", err, took)
	}

	// A query builder run twice keeps the caller's context.
	q2 := gdb.WithContext(ctx).Table("information_schema.tables").Where("1 = 1")
	var c1, c2 int64
	if err := q2.Count(&c1).Error; err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // past the first statement's deadline
	if err := q2.Count(&c2).Error; err != nil {
		t.Fatalf("second run of a builder after its first deadline passed: %v", err)
	}

	if err := gdb.WithContext(db.WithoutDeadline(ctx)).Exec("SELECT SLEEP(1.5)").Error; err != nil {
		t.Fatalf("statement marked without deadline: %v", err)
	}
}
