package hostrpc

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"imagestack/common/cluster"
	commondb "imagestack/common/db"
	"imagestack/compute"
)

// States of a call.
const (
	stateQueued  = "queued"  // written by the caller, no host has it yet
	stateRunning = "running" // claimed by an agent, which holds its lease
	stateDone    = "done"    // Result holds what the call returned
	stateFailed  = "failed"  // Error* say why
)

// callRow is a row of host_calls (its schema: compute/db migration 17).
type callRow struct {
	ID           string `gorm:"primaryKey"`
	Host         string
	State        string
	CreatedAt    time.Time `gorm:"autoCreateTime:false"`
	ServerID     string
	Method       string
	Args         string
	Owner        string
	LeaseUntil   *time.Time
	Result       string
	ErrorKind    string
	ErrorMessage string
	ErrorDetail  string
	RequestID    string
	UpdatedAt    time.Time `gorm:"autoUpdateTime:false"`
}

func (callRow) TableName() string { return "host_calls" }

// calls reads and changes host_calls rows. Every change of state is a
// compare-and-set on the state it expects, so two members racing for a
// row (two agents, two recoverers) never both win.
type calls struct {
	db  *gorm.DB
	now func() time.Time
}

func newCalls(gdb *gorm.DB) calls { return calls{db: gdb, now: now} }

// now is the time as stored: UTC, to the millisecond (MariaDB's DATETIME(3)).
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

var kinds = commondb.Kinds{NotFound: compute.ErrNotFound, Conflict: compute.ErrConflict, Unavailable: compute.ErrUnavailable}

func (c calls) insert(ctx context.Context, row *callRow) error {
	row.CreatedAt, row.UpdatedAt, row.State = c.now(), c.now(), stateQueued
	return kinds.Classify(c.db.WithContext(ctx).Create(row).Error, "host call")
}

func (c calls) get(ctx context.Context, id string) (callRow, error) {
	var row callRow
	err := c.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	return row, kinds.Classify(err, "host call "+id)
}

func (c calls) remove(ctx context.Context, id string) error {
	return kinds.Classify(c.db.WithContext(ctx).Where("id = ?", id).Delete(&callRow{}).Error, "host call "+id)
}

// set changes the row id from state from to the columns of to, and
// reports whether it did (false: the row was no longer in state from, or
// no longer owner's when owner is set).
func (c calls) set(ctx context.Context, db *gorm.DB, id, from, owner string, to map[string]any) (bool, error) {
	to["updated_at"] = c.now()
	q := db.WithContext(ctx).Model(&callRow{}).Where("id = ? AND state = ?", id, from)
	if owner != "" {
		q = q.Where("owner = ?", owner)
	}
	res := q.Updates(to)
	return res.RowsAffected == 1, kinds.Classify(res.Error, "host call "+id)
}

// fail ends a call in state from (of owner, when set) as failed with err.
func (c calls) fail(ctx context.Context, id, from, owner string, err error) (bool, error) {
	kind, msg, detail := encodeError(err)
	return c.set(ctx, c.db, id, from, owner, map[string]any{"state": stateFailed, "error_kind": kind,
		"error_message": msg, "error_detail": detail})
}

// finish records what a call owner ran returned: its result, or its error.
func (c calls) finish(ctx context.Context, id, owner, result string, err error) (bool, error) {
	if err != nil {
		return c.fail(ctx, id, stateRunning, owner, err)
	}
	return c.set(ctx, c.db, id, stateRunning, owner, map[string]any{"state": stateDone, "result": result})
}

// anyQueued reports whether host has a queued call: the one statement an
// idle agent runs per poll.
func (c calls) anyQueued(ctx context.Context, host string) (bool, error) {
	var ids []string
	err := c.db.WithContext(ctx).Model(&callRow{}).Where("host = ? AND state = ?", host, stateQueued).Limit(1).Pluck("id", &ids).Error
	return len(ids) > 0, kinds.Classify(err, "host calls")
}

// claim takes up to n of host's queued calls, oldest first, for owner
// until lease, skipping calls of servers in busy and all but the oldest
// call of each server. On MariaDB the candidates are locked with SKIP
// LOCKED, so that two agents of one host never wait on each other; on
// Galera, where such locks are local to a node, the compare-and-set and
// the certification of the transaction (retried as a deadlock) keep one
// winner.
func (c calls) claim(ctx context.Context, host, owner string, n int, busy map[string]bool, lease time.Time) ([]callRow, error) {
	var won []callRow
	err := commondb.Transaction(ctx, c.db, func(tx *gorm.DB) error {
		won = won[:0]
		var rows []callRow
		q := tx.Where("host = ? AND state = ?", host, stateQueued).Order("created_at, id").Limit(4 * n)
		if len(busy) > 0 {
			q = q.Where("server_id NOT IN ?", slices.Collect(maps.Keys(busy)))
		}
		if commondb.EngineOf(tx) == commondb.MySQL {
			q = q.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
		}
		if err := q.Find(&rows).Error; err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, row := range rows {
			if len(won) == n || seen[row.ServerID] {
				continue
			}
			seen[row.ServerID] = true
			ok, err := c.set(ctx, tx, row.ID, stateQueued, "", map[string]any{"state": stateRunning, "owner": owner, "lease_until": lease})
			if err != nil {
				return err
			}
			if ok {
				row.State, row.Owner, row.LeaseUntil = stateRunning, owner, &lease
				won = append(won, row)
			}
		}
		return nil
	})
	return won, kinds.Classify(err, "claim host calls")
}

// renew extends the lease of every running call of owner.
func (c calls) renew(ctx context.Context, owner string, until time.Time) error {
	err := c.db.WithContext(ctx).Model(&callRow{}).Where("owner = ? AND state = ?", owner, stateRunning).
		Updates(map[string]any{"lease_until": until, "updated_at": c.now()}).Error
	return kinds.Classify(err, "renew host calls")
}

// errInterrupted is the error of a call whose host stopped running it.
func errInterrupted(host string) error {
	return compute.Errorf(compute.ErrUnavailable, "The call was interrupted: the compute service of host %s stopped while running it.", host)
}

// RecoverExpired fails, as interrupted, every running call whose lease
// expired (its host's process died or lost the database), and returns how
// many it failed. Any member may run it at any time: each call is
// recovered by exactly one of the members racing for it.
func RecoverExpired(ctx context.Context, gdb *gorm.DB) (int, error) {
	c := newCalls(gdb)
	var rows []callRow
	err := gdb.WithContext(ctx).Select("id", "host", "lease_until").
		Where("state = ? AND lease_until < ?", stateRunning, c.now()).Find(&rows).Error
	if err != nil {
		return 0, kinds.Classify(err, "expired host calls")
	}
	return c.failEach(ctx, rows, func(q *gorm.DB, row callRow) *gorm.DB {
		return q.Where("lease_until = ?", row.LeaseUntil)
	})
}

// failEach fails each of rows that is still running as interrupted, on the
// condition cond adds (the lease seen, the owner seen), and returns how
// many it failed.
func (c calls) failEach(ctx context.Context, rows []callRow, cond func(q *gorm.DB, row callRow) *gorm.DB) (int, error) {
	n := 0
	for _, row := range rows {
		kind, msg, detail := encodeError(errInterrupted(row.Host))
		res := cond(c.db.WithContext(ctx).Model(&callRow{}).Where("id = ? AND state = ?", row.ID, stateRunning), row).
			Updates(map[string]any{"state": stateFailed, "error_kind": kind, "error_message": msg, "error_detail": detail, "updated_at": c.now()})
		if res.Error != nil {
			return n, kinds.Classify(res.Error, "host call "+row.ID)
		}
		n += int(res.RowsAffected)
	}
	return n, nil
}

// failPrevious fails, as interrupted, the running calls of host leased by
// an earlier run of member (same Name, another ID): that process is dead
// for certain, so its calls need not wait for their leases to expire.
func (c calls) failPrevious(ctx context.Context, m cluster.Member) (int, error) {
	var rows []callRow
	err := c.db.WithContext(ctx).Select("id", "host", "owner").Where("host = ? AND state = ? AND owner <> ?", m.Host, stateRunning, m.ID).
		Find(&rows).Error
	if err != nil {
		return 0, kinds.Classify(err, "host calls")
	}
	mine := rows[:0]
	for _, row := range rows {
		if cluster.NameOf(row.Owner) == m.Name {
			mine = append(mine, row)
		}
	}
	return c.failEach(ctx, mine, func(q *gorm.DB, row callRow) *gorm.DB { return q.Where("owner = ?", row.Owner) })
}

// purge deletes finished calls last changed before t: their callers read
// and delete them, so these are the results of callers that went away.
func (c calls) purge(ctx context.Context, t time.Time) error {
	err := c.db.WithContext(ctx).Where("state IN ? AND updated_at < ?", []string{stateDone, stateFailed}, t).Delete(&callRow{}).Error
	return kinds.Classify(err, "purge host calls")
}

// RunRecovery runs RecoverExpired every interval (and purges results no
// caller collected within a day) until ctx ends; every member runs it.
func RunRecovery(ctx context.Context, gdb *gorm.DB, every time.Duration, log *slog.Logger) {
	c := newCalls(gdb)
	cluster.Every(ctx, every, func(context.Context) {
		n, err := RecoverExpired(ctx, gdb)
		if err == nil {
			err = c.purge(ctx, c.now().Add(-24*time.Hour))
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			log.Warn("host calls: recovery failed", "err", err)
		} else if n > 0 {
			log.Warn("host calls: failed calls whose host stopped running them", "calls", n)
		}
	})
}
