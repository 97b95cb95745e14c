package hostrpc

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"imagestack/common/cluster"
	"imagestack/compute"
	computedb "imagestack/compute/db"
	"imagestack/storage"
	"imagestack/storage/inmemory"
)

// testEnv is a shared database and blob store with API-side clients and
// host agents over them.
type testEnv struct {
	db    *gorm.DB
	blobs *keyStore
	hosts *Hosts
}

func newTestEnv(t *testing.T, gdb *gorm.DB) *testEnv {
	t.Helper()
	if _, err := computedb.New(gdb); err != nil { // applies the compute migrations
		t.Fatal(err)
	}
	return &testEnv{db: gdb, blobs: &keyStore{Store: inmemory.New(), live: map[string]bool{}}, hosts: NewHosts()}
}

// agentOption changes an agent's configuration.
type agentOption func(*AgentConfig)

func withLease(ttl time.Duration) agentOption { return func(c *AgentConfig) { c.LeaseTTL = ttl } }
func withMember(m cluster.Member) agentOption { return func(c *AgentConfig) { c.Member = m } }
func withResolver(r Resolver) agentOption     { return func(c *AgentConfig) { c.Resolve = r } }
func withPoll(d time.Duration) agentOption    { return func(c *AgentConfig) { c.Poll = d } }

// agent starts an agent of host on hv, marks host up, and stops the agent
// when the test ends.
func (e *testEnv) agent(t *testing.T, host string, hv compute.Hypervisor, opts ...agentOption) *Agent {
	t.Helper()
	cfg := AgentConfig{DB: e.db, Member: cluster.NewMember(host, host, []string{cluster.RoleCompute}), Hypervisor: hv,
		Blobs: e.blobs, Dir: t.TempDir(), Poll: 10 * time.Millisecond}
	for _, o := range opts {
		o(&cfg)
	}
	a, err := NewAgent(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	e.hosts.Set(host, true)
	return a
}

// client is an API replica's hypervisor placing servers with loc.
func (e *testEnv) client(t *testing.T, loc Locator) *Hypervisor {
	t.Helper()
	h, err := New(Config{DB: e.db, Hosts: loc, Liveness: e.hosts, Blobs: e.blobs})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// rows returns the calls in the table.
func (e *testEnv) rows(t *testing.T) []callRow {
	t.Helper()
	var rows []callRow
	if err := e.db.Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

// keyStore is a blob store that knows which keys hold blobs, so tests can
// check that snapshots in transit leave none behind.
type keyStore struct {
	storage.Store
	mu   sync.Mutex
	live map[string]bool
	puts int
}

func (s *keyStore) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	n, err := s.Store.Put(ctx, key, r)
	if err == nil {
		s.mu.Lock()
		s.live[key], s.puts = true, s.puts+1
		s.mu.Unlock()
	}
	return n, err
}

func (s *keyStore) Delete(ctx context.Context, key string) error {
	err := s.Store.Delete(ctx, key)
	s.mu.Lock()
	delete(s.live, key)
	s.mu.Unlock()
	return err
}

// left returns how many blobs are stored, and how many were ever put.
func (s *keyStore) left() (live, puts int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.live), s.puts
}

// eventually waits until cond holds.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
