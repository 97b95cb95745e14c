package service

import (
	"context"
	"io"

	"imagestack/glance"
)

// meter counts one upload's or stage's bytes against a byte limit of its
// project as they arrive. Make it with startMeter before the data flows and
// end it with done after the outcome is stored.
type meter struct {
	q         *quotas
	project   string
	resource  string
	kind      int
	limit     int64 // MiB; -1 none
	base      int64 // stored usage in bytes when the meter started
	settledAt int64 // the project's settled bytes when the meter started
	n         int64 // this stream's bytes
	err       error // the 413, once over
}

// startMeter registers a stream of project before reading its stored usage,
// so that nothing stored meanwhile is missed (at worst counted twice). It
// returns nil when the resource has no limit or limits are off.
func (q *quotas) startMeter(ctx context.Context, project, resource string) (*meter, error) {
	if !q.on() || project == "" {
		return nil, nil
	}
	limit, err := q.limitOf(ctx, project, resource)
	if err != nil || limit < 0 {
		return nil, err
	}
	kind := meterStored
	if resource == glance.LimitImageStageTotal {
		kind = meterStaged
	}
	m := &meter{q: q, project: project, resource: resource, kind: kind, limit: limit}
	q.mu.Lock()
	if q.flows == nil {
		q.flows = map[string]*projectFlow{}
	}
	f := q.flows[project]
	if f == nil {
		f = &projectFlow{}
		q.flows[project] = f
	}
	f.users++
	m.settledAt = f.settled[kind]
	q.mu.Unlock()
	u, err := q.usage.Usage(ctx, project)
	if err != nil {
		m.done(false)
		return nil, err
	}
	m.base = u.StoredBytes
	if kind == meterStaged {
		m.base = u.StagedBytes
	}
	if used := m.base / mib; used > limit {
		m.done(false)
		return nil, overLimit(project, resource, limit, used, 0)
	}
	return m, nil
}

// room is how many more bytes the project may take now: its limit counts
// whole MiB, rounding usage down as Glance does.
func (m *meter) room(f *projectFlow) int64 {
	used := m.base + (f.settled[m.kind] - m.settledAt) + f.inflight[m.kind]
	return (m.limit+1)*mib - 1 - used
}

// reader wraps r: reads never take the project more than one byte past its
// limit, and the read that would fails with the 413 (sticky).
func (m *meter) reader(r io.Reader) io.Reader {
	if m == nil {
		return r
	}
	return &meterReader{m: m, r: r}
}

type meterReader struct {
	m *meter
	r io.Reader
}

func (mr *meterReader) Read(p []byte) (int, error) {
	m := mr.m
	if m.err != nil {
		return 0, errQuota
	}
	m.q.mu.Lock()
	room := m.room(m.q.flows[m.project])
	m.q.mu.Unlock()
	if room < int64(len(p)) {
		p = p[:max(room, 0)+1]
	}
	n, err := mr.r.Read(p)
	m.q.mu.Lock()
	f := m.q.flows[m.project]
	over := int64(n) > m.room(f)
	others := m.base + (f.settled[m.kind] - m.settledAt) + f.inflight[m.kind] - m.n
	f.inflight[m.kind] += int64(n)
	m.n += int64(n)
	m.q.mu.Unlock()
	if over {
		m.err = overLimit(m.project, m.resource, m.limit, others/mib, (m.n+mib-1)/mib)
		return 0, errQuota
	}
	return n, err
}

// done ends the meter: stored says the stream's bytes are now in the
// database (counted by Usage), so they move from in flight to settled.
func (m *meter) done(stored bool) {
	if m == nil {
		return
	}
	m.q.mu.Lock()
	defer m.q.mu.Unlock()
	f := m.q.flows[m.project]
	f.inflight[m.kind] -= m.n
	if stored {
		f.settled[m.kind] += m.n
	}
	if f.users--; f.users == 0 {
		delete(m.q.flows, m.project)
	}
}

// quotaError is the 413 of a meter that stopped its stream, or err.
func (m *meter) quotaError(err error) error {
	if m != nil && m.err != nil {
		return m.err
	}
	return err
}
