package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strings"

	gomysql "github.com/go-sql-driver/mysql"
	"gorm.io/gorm"
)

// Kinds are a domain's own "not found", "conflict" and "unavailable"
// errors, which Classify wraps so that repositories hand their callers
// domain errors only.
type Kinds struct {
	NotFound, Conflict error
	// Unavailable: the database could not be reached or did not answer in
	// time; the API families answer it with 503 and Retry-After.
	Unavailable error
}

// Classify converts a gorm/driver error into the domain's kinds: a missing
// row becomes kinds.NotFound, a unique-key violation kinds.Conflict, a lost,
// refused or timed-out connection kinds.Unavailable; other errors are
// wrapped as they are. what names the object for the message.
func (k Kinds) Classify(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("%s: %w", what, k.NotFound)
	case IsDuplicate(err):
		return fmt.Errorf("%s: %w", what, k.Conflict)
	case k.Unavailable != nil && IsUnavailable(err):
		return fmt.Errorf("%s: %w (%v)", what, k.Unavailable, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// IsDuplicate reports a unique-key violation on either engine. The pure-Go
// SQLite driver reports them only as text, which gorm's translator misses.
func IsDuplicate(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "Duplicate entry")
}

// unavailableCodes are MySQL/MariaDB server errors that say "try again
// later" rather than "this request is wrong": too many connections, server
// shutting down, lock wait timeout, deadlock, connection killed, statement
// time limits, and the client-side "gone away"/"lost connection" codes.
var unavailableCodes = map[uint16]bool{1040: true, 1053: true, 1205: true, 1213: true, 1927: true, 1969: true,
	3024: true, 2006: true, 2013: true}

// unavailableTexts are the same conditions where drivers report them only as
// text (the pure-Go SQLite driver, database/sql's closed pool).
var unavailableTexts = []string{"server has gone away", "Lost connection", "connection refused", "connection reset",
	"broken pipe", "database is closed", "database is locked", "SQLITE_BUSY"}

// IsUnavailable reports an error that comes from the database being out of
// reach rather than from the statement: a refused, reset or broken
// connection, a read or write that timed out, a statement or transaction
// past its deadline (StatementTimeout), a server going away or shutting
// down. The same statement may succeed once the database is back.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var netErr net.Error
	var myErr *gomysql.MySQLError
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, gomysql.ErrInvalidConn),
		errors.Is(err, sql.ErrConnDone), errors.Is(err, sql.ErrTxDone),
		errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr):
		return true
	case errors.As(err, &myErr):
		return unavailableCodes[myErr.Number]
	}
	s := err.Error()
	for _, t := range unavailableTexts {
		if strings.Contains(s, t) {
			return true
		}
	}
	return false
}
