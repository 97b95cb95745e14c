package db

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"gorm.io/gorm"
)

// txAttempts bounds how often Transaction runs a transaction the engine
// aborted to break a deadlock; txPause is the longest pause before a retry
// (each pause is random, so that the two sides of a deadlock do not meet
// again in step).
const (
	txAttempts = 5
	txPause    = 50 * time.Millisecond
)

// Transaction runs fn in a transaction on gdb (bound to ctx) and runs it
// again, up to five times in all, when the engine rolled it back to break a
// deadlock (MariaDB/MySQL 1213, which Galera also reports for a
// certification failure). The engine asks for exactly that ("try restarting
// transaction"); before, the client got a 503 for work that would have
// succeeded. fn must be safe to run again: it may only change the database
// (rolled back with the attempt) and variables it sets afresh each run.
func Transaction(ctx context.Context, gdb *gorm.DB, fn func(tx *gorm.DB) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = gdb.WithContext(ctx).Transaction(fn)
		if attempt == txAttempts || !IsDeadlock(err) || ctx.Err() != nil {
			return err
		}
		select {
		case <-time.After(rand.N(txPause) + time.Millisecond):
		case <-ctx.Done():
			return err
		}
	}
}

// IsDeadlock reports a transaction the engine rolled back to break a
// deadlock. Repositories wrap driver errors into their domain's kinds with
// the driver's text, so the text is checked as well as the error's type.
func IsDeadlock(err error) bool {
	if err == nil {
		return false
	}
	var myErr *gomysql.MySQLError
	if errors.As(err, &myErr) {
		return myErr.Number == 1213
	}
	return strings.Contains(err.Error(), "Error 1213") || strings.Contains(err.Error(), "Deadlock found when trying to get lock")
}
