package hostrpc

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"

	"imagestack/common/cluster"
	"imagestack/common/reqid"
	"imagestack/compute"
	"imagestack/storage"
)

// AgentConfig is what a compute host's Agent needs.
type AgentConfig struct {
	DB *gorm.DB // holds host_calls (compute migrations applied)
	// Member is this process: it serves the calls of Member.Host and
	// leases them under Member.ID.
	Member     cluster.Member
	Hypervisor compute.Hypervisor // the host's own (libvirt)
	// Resolve finds images referenced by calls in the host's cache; nil:
	// calls naming images by reference fail.
	Resolve Resolver
	// Blobs is the blob store every member shares; snapshots travel
	// through it. nil: snapshots fail.
	Blobs storage.Store
	// Dir is a directory of this host for config drives (kept until their
	// server is destroyed) and snapshots on their way out.
	Dir string
	// Poll is how often the agent looks for new calls (default 100 ms): an
	// idle host runs one indexed SELECT per poll.
	Poll time.Duration
	// LeaseTTL is how long a call stays the agent's without a renewal
	// (default cluster.DefaultTiming.LeaseTTL); renewed every LeaseTTL/3.
	LeaseTTL time.Duration
	// Workers bounds the calls run at once (default 8); calls of one
	// server run one at a time, in the order they were queued.
	Workers int
	Log     *slog.Logger
}

// Agent runs the calls queued for its host on the host's hypervisor.
type Agent struct {
	cfg   AgentConfig
	hv    compute.Hypervisor
	calls calls
	mu    sync.Mutex
	busy  map[string]bool // servers with a call running here
	wg    sync.WaitGroup  // calls running
	// dead stops renewals, claims and reports at once: tests play a
	// process killed while it runs calls.
	dead      atomic.Bool
	dbFailing atomic.Bool // the last database statement failed
}

// NewAgent returns the agent of a compute host.
func NewAgent(cfg AgentConfig) (*Agent, error) {
	if cfg.DB == nil || cfg.Hypervisor == nil || cfg.Member.Host == "" || cfg.Member.ID == "" || cfg.Dir == "" {
		return nil, errors.New("hostrpc agent: a database, a hypervisor, a member with a host and an id, and a directory are needed")
	}
	cfg.Poll = cmp.Or(cfg.Poll, 100*time.Millisecond)
	cfg.LeaseTTL = cmp.Or(cfg.LeaseTTL, cluster.DefaultTiming.LeaseTTL)
	cfg.Workers = cmp.Or(cfg.Workers, 8)
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	cfg.Log = cfg.Log.With("host", cfg.Member.Host)
	return &Agent{cfg: cfg, hv: cfg.Hypervisor, calls: newCalls(cfg.DB), busy: map[string]bool{}}, nil
}

// Run serves calls until ctx ends, then waits for the calls running to
// finish (renewing their leases meanwhile) and returns. It starts by
// failing the calls an earlier run of this member left running.
func (a *Agent) Run(ctx context.Context) error {
	if n, err := a.calls.failPrevious(ctx, a.cfg.Member); err != nil {
		a.cfg.Log.Warn("host calls: could not fail the calls of this host's previous run (their leases will expire)", "err", err)
	} else if n > 0 {
		a.cfg.Log.Warn("host calls: failed calls this host's previous run left running", "calls", n)
	}
	renewCtx, stopRenew := context.WithCancel(context.WithoutCancel(ctx))
	renewed := make(chan struct{})
	go func() { defer close(renewed); a.renewLoop(renewCtx) }()
	cluster.Every(ctx, a.cfg.Poll, func(context.Context) { a.poll(ctx) })
	a.wg.Wait()
	stopRenew()
	<-renewed
	return nil
}

// poll claims what the free workers can take and starts it.
func (a *Agent) poll(ctx context.Context) {
	a.mu.Lock()
	free, busy := a.cfg.Workers-len(a.busy), maps.Clone(a.busy)
	a.mu.Unlock()
	if free <= 0 || a.dead.Load() {
		return
	}
	queued, err := a.calls.anyQueued(ctx, a.cfg.Member.Host)
	if a.logDB(ctx, "look for calls", err); !queued {
		return
	}
	rows, err := a.calls.claim(ctx, a.cfg.Member.Host, a.cfg.Member.ID, free, busy, now().Add(a.cfg.LeaseTTL))
	a.logDB(ctx, "claim calls", err)
	for _, row := range rows {
		a.mu.Lock()
		a.busy[row.ServerID] = true
		a.mu.Unlock()
		a.wg.Add(1)
		go a.serve(context.WithoutCancel(ctx), row)
	}
}

// logDB logs the first of a run of database failures, and the recovery,
// rather than every poll's.
func (a *Agent) logDB(ctx context.Context, what string, err error) {
	switch {
	case err == nil:
		if a.dbFailing.Swap(false) {
			a.cfg.Log.Info("host calls: the database answers again")
		}
	case ctx.Err() == nil && !a.dbFailing.Swap(true):
		a.cfg.Log.Warn("host calls: could not "+what+" (retrying)", "err", err)
	}
}

// renewLoop extends the leases of the calls running here every LeaseTTL/3.
func (a *Agent) renewLoop(ctx context.Context) {
	cluster.Every(ctx, cluster.RenewEvery(a.cfg.LeaseTTL), func(context.Context) {
		a.mu.Lock()
		idle := len(a.busy) == 0
		a.mu.Unlock()
		if !idle && !a.dead.Load() {
			a.logDB(ctx, "renew leases", a.calls.renew(ctx, a.cfg.Member.ID, now().Add(a.cfg.LeaseTTL)))
		}
	})
}

// serve runs one claimed call and reports its outcome.
func (a *Agent) serve(ctx context.Context, row callRow) {
	defer a.wg.Done()
	defer func() {
		a.mu.Lock()
		delete(a.busy, row.ServerID)
		a.mu.Unlock()
	}()
	// The call runs as a request of its own on this host, within the
	// chain of the API request that caused it (its global request id).
	ids := reqid.IDs{Request: reqid.New(), Global: row.RequestID}
	ctx = reqid.WithIDs(ctx, ids)
	log := a.cfg.Log.With("call", row.ID, "method", row.Method, "server", row.ServerID, "request_id", ids.Request,
		"global_request_id", row.RequestID)
	res, err := a.run(ctx, row)
	if err != nil {
		log.Info("host call failed", "err", err)
	}
	a.report(ctx, log, row, res, err)
}

// run decodes a call's arguments and runs its method.
func (a *Agent) run(ctx context.Context, row callRow) (callResult, error) {
	m, ok := methods[row.Method]
	if !ok {
		return callResult{}, fmt.Errorf("unknown host call method %q", row.Method)
	}
	var args callArgs
	if err := json.Unmarshal([]byte(row.Args), &args); err != nil {
		return callResult{}, fmt.Errorf("arguments of %s: %w", row.Method, err)
	}
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	return m.run(a, ctx, row, args)
}

// report writes a call's outcome, retrying through a database outage for
// as long as the call's lease lasts. A call no longer ours (its lease
// expired and it was failed as interrupted) keeps that outcome; its
// snapshot, if any, is dropped.
func (a *Agent) report(ctx context.Context, log *slog.Logger, row callRow, res callResult, err error) {
	data, merr := json.Marshal(res)
	if merr != nil {
		err = errors.Join(err, merr)
	}
	deadline := time.Now().Add(a.cfg.LeaseTTL)
	for pause := minPoll; !a.dead.Load(); pause = min(2*pause, time.Second) {
		ok, ferr := a.calls.finish(ctx, row.ID, a.cfg.Member.ID, string(data), err)
		if ferr == nil && ok {
			return
		}
		if ferr == nil || time.Now().After(deadline) {
			log.Error("host calls: the outcome of a call is lost: its lease expired", "err", errors.Join(ferr, err))
			a.dropSnapshot(ctx, row)
			return
		}
		time.Sleep(pause)
	}
}

// dropSnapshot deletes the snapshot of a call whose caller will not read it.
func (a *Agent) dropSnapshot(ctx context.Context, row callRow) {
	var args callArgs
	if row.Method != mSnapshot || a.cfg.Blobs == nil || json.Unmarshal([]byte(row.Args), &args) != nil || args.BlobID == "" {
		return
	}
	_ = a.cfg.Blobs.Delete(ctx, args.BlobID)
}
