package hostrpc

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"imagestack/common/reqid"
	"imagestack/compute"
	"imagestack/storage"
)

// Config is what an API replica's Hypervisor needs.
type Config struct {
	DB       *gorm.DB     // holds host_calls (compute migrations applied)
	Hosts    Locator      // where each server runs
	Liveness HostLiveness // which hosts are up
	// Blobs is the blob store every member shares; snapshots travel
	// through it. nil: Snapshot fails.
	Blobs storage.Store
	// DomainName, when set, names a server's VM as the hosts' hypervisor
	// does (libvirt's Driver.DomainName), for the server views.
	DomainName func(serverID string) string
	Log        *slog.Logger
}

// Polling of a call's row by its caller: from minPoll, doubling up to
// maxPoll; a queued call's host is checked again every livenessEvery.
const (
	minPoll       = 20 * time.Millisecond
	maxPoll       = 200 * time.Millisecond
	livenessEvery = time.Second
)

// Hypervisor is a compute.Hypervisor whose VMs run on other hosts: each
// call is a row of host_calls that the server's host runs (see Agent).
type Hypervisor struct {
	cfg   Config
	calls calls
}

var _ compute.Hypervisor = (*Hypervisor)(nil)

// New returns the hypervisor of an API replica.
func New(cfg Config) (*Hypervisor, error) {
	if cfg.DB == nil || cfg.Hosts == nil || cfg.Liveness == nil {
		return nil, errors.New("hostrpc: a database, a locator and a liveness are needed")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Hypervisor{cfg: cfg, calls: newCalls(cfg.DB)}, nil
}

// call runs method on the host of serverID and returns its result.
func (h *Hypervisor) call(ctx context.Context, method, serverID string, args callArgs) (callResult, error) {
	host, err := h.cfg.Hosts.HostOf(ctx, serverID)
	if err != nil {
		return callResult{}, err
	}
	return h.callHost(ctx, host, method, serverID, args)
}

// callHost queues method for host, failing at once when host is down, and
// waits for its result.
func (h *Hypervisor) callHost(ctx context.Context, host, method, serverID string, args callArgs) (callResult, error) {
	if up, err := h.cfg.Liveness.Up(ctx, host); err != nil || !up {
		return callResult{}, cmp.Or(err, errDown(host))
	}
	data, err := json.Marshal(args)
	if err != nil {
		return callResult{}, err
	}
	row := callRow{ID: uuid.NewString(), Host: host, ServerID: serverID, Method: method, Args: string(data),
		RequestID: reqid.FromContext(ctx).GlobalID()}
	if err := h.calls.insert(ctx, &row); err != nil {
		return callResult{}, err
	}
	return h.wait(ctx, row, methods[method].timeout)
}

// wait polls the call until its host has finished it, or timeout passed,
// or ctx ended. Database errors meanwhile are retried until then: a short
// outage (a Galera node stopping) does not fail a call that runs on.
func (h *Hypervisor) wait(ctx context.Context, row callRow, timeout time.Duration) (callResult, error) {
	waitCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pause, check := minPoll, time.Now().Add(livenessEvery)
	var lastErr error
	for {
		select {
		case <-waitCtx.Done():
			return callResult{}, h.giveUp(ctx, row, errors.Join(waitCtx.Err(), lastErr))
		case <-time.After(pause):
		}
		pause = min(2*pause, maxPoll)
		cur, err := h.calls.get(waitCtx, row.ID)
		switch {
		case errors.Is(err, compute.ErrNotFound):
			return callResult{}, fmt.Errorf("%s of server %s on host %s: the call is gone: %w", row.Method, row.ServerID, row.Host, err)
		case err != nil:
		case cur.State == stateDone || cur.State == stateFailed:
			if err := h.calls.remove(context.WithoutCancel(ctx), row.ID); err != nil {
				h.cfg.Log.Warn("host calls: could not delete a finished call", "call", row.ID, "err", err)
			}
			return decodeResult(cur)
		case cur.State == stateRunning && cur.LeaseUntil != nil && cur.LeaseUntil.Before(now()):
			_, err = h.calls.failEach(waitCtx, []callRow{cur}, func(q *gorm.DB, r callRow) *gorm.DB {
				return q.Where("lease_until = ?", r.LeaseUntil)
			})
		case cur.State == stateQueued && time.Now().After(check):
			check = time.Now().Add(livenessEvery)
			var gone bool
			if gone, err = h.hostGone(ctx, row); gone {
				return callResult{}, errDown(row.Host)
			}
		}
		lastErr = err
	}
}

// hostGone withdraws a queued call whose host is down and reports whether
// it did.
func (h *Hypervisor) hostGone(ctx context.Context, row callRow) (bool, error) {
	if up, err := h.cfg.Liveness.Up(ctx, row.Host); err != nil || up {
		return false, err
	}
	return h.withdraw(ctx, row, errDown(row.Host))
}

// withdraw fails a call no host took yet with err and deletes it; false
// when a host took it meanwhile (its result is then waited for) or the
// database failed.
func (h *Hypervisor) withdraw(ctx context.Context, row callRow, err error) (bool, error) {
	ctx = context.WithoutCancel(ctx)
	ok, cerr := h.calls.fail(ctx, row.ID, stateQueued, "", err)
	if ok {
		_ = h.calls.remove(ctx, row.ID)
	}
	return ok, cerr
}

// giveUp ends the wait for a call when ctx ended or the method's time ran
// out (cause): a call still queued is withdrawn; one running is left to
// finish on its host, where nobody reads its result.
func (h *Hypervisor) giveUp(ctx context.Context, row callRow, cause error) error {
	err := fmt.Errorf("%s of server %s on host %s: %w", row.Method, row.ServerID, row.Host, cause)
	if ctx.Err() == nil {
		err = compute.Errorf(compute.ErrUnavailable, "Compute host %s did not finish %s of server %s in time.", row.Host, row.Method, row.ServerID)
	}
	if _, werr := h.withdraw(ctx, row, err); werr != nil {
		return errors.Join(err, werr)
	}
	return err
}

// decodeResult returns what a finished call returned.
func decodeResult(row callRow) (callResult, error) {
	var res callResult
	if row.State == stateFailed {
		return res, decodeError(row)
	}
	if row.Result == "" {
		return res, nil
	}
	if err := json.Unmarshal([]byte(row.Result), &res); err != nil {
		return res, fmt.Errorf("result of %s from host %s: %w", row.Method, row.Host, err)
	}
	return res, nil
}
