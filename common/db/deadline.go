package db

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"gorm.io/gorm"
)

// MySQL/MariaDB bounds. A database that stops answering (paused, cut off,
// overloaded) must not hold requests forever: each statement, and each
// transaction as a whole, gives up after StatementTimeout, and the
// repositories report that as their Unavailable kind (503 + Retry-After).
// The DSN's own timeouts are set too when the operator gave none: dialTimeout
// bounds connecting (TCP connect and handshake), ioTimeout every single read
// or write on a connection, which also covers what has no deadline of its
// own (schema migrations, connection resets).
const (
	StatementTimeout = 10 * time.Second
	dialTimeout      = 5 * time.Second
	ioTimeout        = 30 * time.Second
)

// statementTimeout is StatementTimeout; tests shorten it.
var statementTimeout = StatementTimeout

type noDeadlineKey struct{}

// WithoutDeadline returns ctx marked so that statements run under it get no
// StatementTimeout: schema migrations may rewrite large tables.
func WithoutDeadline(ctx context.Context) context.Context {
	return context.WithValue(ctx, noDeadlineKey{}, true)
}

// bounded is ctx limited to StatementTimeout, unless marked otherwise.
func bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx == nil {
		ctx = context.Background()
	}
	if ctx.Value(noDeadlineKey{}) != nil {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, statementTimeout)
}

const deadlineKey = "imagestack:deadline"

// statementDeadline is saved per statement between the two callbacks.
type statementDeadline struct {
	parent context.Context
	cancel context.CancelFunc
}

// addStatementDeadlines gives every create, query, update, delete and raw
// statement its StatementTimeout: set before gorm runs it, released (and the
// caller's context put back, for query builders that run twice) after. Row
// and Rows are left alone, as their results are read after the callbacks
// return; ioTimeout still bounds them.
func addStatementDeadlines(gdb *gorm.DB) error {
	start := func(db *gorm.DB) {
		ctx, cancel := bounded(db.Statement.Context)
		db.InstanceSet(deadlineKey, statementDeadline{parent: db.Statement.Context, cancel: cancel})
		db.Statement.Context = ctx
	}
	end := func(db *gorm.DB) {
		if v, ok := db.InstanceGet(deadlineKey); ok {
			d := v.(statementDeadline)
			d.cancel()
			db.Statement.Context = d.parent
		}
	}
	cb := gdb.Callback()
	return errors.Join(
		cb.Create().Before("*").Register(deadlineKey+":start", start), cb.Create().After("*").Register(deadlineKey+":end", end),
		cb.Query().Before("*").Register(deadlineKey+":start", start), cb.Query().After("*").Register(deadlineKey+":end", end),
		cb.Update().Before("*").Register(deadlineKey+":start", start), cb.Update().After("*").Register(deadlineKey+":end", end),
		cb.Delete().Before("*").Register(deadlineKey+":start", start), cb.Delete().After("*").Register(deadlineKey+":end", end),
		cb.Raw().Before("*").Register(deadlineKey+":start", start), cb.Raw().After("*").Register(deadlineKey+":end", end),
	)
}

// boundedPool is the MySQL pool as gorm sees it: each transaction runs under
// StatementTimeout as a whole (database/sql rolls it back at the deadline),
// so that neither BEGIN nor COMMIT can wait on a silent server for longer.
type boundedPool struct{ *sql.DB }

// GetDBConn lets gorm's DB() return the pool.
func (p boundedPool) GetDBConn() (*sql.DB, error) { return p.DB, nil }

// BeginTx implements gorm.ConnPoolBeginner.
func (p boundedPool) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	ctx, cancel := bounded(ctx)
	tx, err := p.DB.BeginTx(ctx, opts)
	if err != nil {
		cancel()
		return nil, err
	}
	return &boundedTx{Tx: tx, cancel: cancel}, nil
}

// boundedTx releases its deadline when it ends.
type boundedTx struct {
	*sql.Tx
	cancel context.CancelFunc
}

func (t *boundedTx) Commit() error {
	defer t.cancel()
	return t.Tx.Commit()
}

func (t *boundedTx) Rollback() error {
	defer t.cancel()
	return t.Tx.Rollback()
}

// EachRow runs q (a gorm query chain or Raw statement) and calls scan for
// each row, the whole read under StatementTimeout like every other
// statement. It is for reads of many rows, where gorm's reflection over
// every row and field costs more than the query itself.
func EachRow(q *gorm.DB, scan func(*sql.Rows) error) error {
	ctx, cancel := bounded(q.Statement.Context)
	defer cancel()
	rows, err := q.WithContext(ctx).Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
