package hostrpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"imagestack/common/db/dbtest"
	"imagestack/compute"
	"imagestack/compute/computetest"
)

// spec is a small server over a boot image of this machine.
func spec(t *testing.T) compute.SpawnSpec {
	return compute.SpawnSpec{ServerID: uuid.NewString(), Name: t.Name(), MemoryMiB: 32, VCPUs: 1, RootGB: 1,
		BaseImage: computetest.BootImage(t, "x"), BaseFormat: "raw"}
}

// placement is a Locator from a map filled by the test.
type placement struct {
	mu sync.Mutex
	at map[string]string
}

func (p *placement) place(id, host string) { p.mu.Lock(); p.at[id] = host; p.mu.Unlock() }

func (p *placement) HostOf(_ context.Context, id string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if h, ok := p.at[id]; ok {
		return h, nil
	}
	return "", fmt.Errorf("server %s: %w", id, compute.ErrNotFound)
}

// TestCallsGoToTheServersHost: with two hosts, each server's calls run on
// its own host's hypervisor only.
func TestCallsGoToTheServersHost(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		env := newTestEnv(t, gdb)
		fakes := map[string]*computetest.Hypervisor{"host-a": computetest.NewHypervisor(), "host-b": computetest.NewHypervisor()}
		for host, fake := range fakes {
			env.agent(t, host, fake)
		}
		loc := &placement{at: map[string]string{}}
		client := env.client(t, loc)
		onA, onB := spec(t), spec(t)
		loc.place(onA.ServerID, "host-a")
		loc.place(onB.ServerID, "host-b")
		for _, s := range []compute.SpawnSpec{onA, onB} {
			if err := client.Spawn(t.Context(), s); err != nil {
				t.Fatal(err)
			}
		}
		if err := client.Stop(t.Context(), onB.ServerID); err != nil {
			t.Fatal(err)
		}
		want := map[string]map[string]compute.PowerState{
			"host-a": {onA.ServerID: compute.PowerRunning, onB.ServerID: compute.PowerNoState},
			"host-b": {onA.ServerID: compute.PowerNoState, onB.ServerID: compute.PowerShutdown},
		}
		for host, byServer := range want {
			for id, ps := range byServer {
				if got, _ := fakes[host].Domain(id); got != ps {
					t.Errorf("%s: server %s is %d, want %d", host, id, got, ps)
				}
			}
		}
	})
}

// TestDownHostFailsFast: a call to a host that is down fails at once with
// ErrUnavailable; a call queued for a host whose agent is gone fails so
// once the host is seen down, and is withdrawn: the host never runs it.
func TestDownHostFailsFast(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		env := newTestEnv(t, gdb)
		client := env.client(t, OneHost("gone"))
		start := time.Now()
		if err := client.Start(t.Context(), "s1"); !errors.Is(err, compute.ErrUnavailable) {
			t.Fatalf("Start on a host never seen: %v, want ErrUnavailable", err)
		}
		if took := time.Since(start); took > 500*time.Millisecond {
			t.Errorf("the failure took %s", took)
		}
		env.hosts.Set("gone", true) // its heartbeat is recent, but its agent died
		go func() { time.Sleep(300 * time.Millisecond); env.hosts.Set("gone", false) }()
		start = time.Now()
		if err := client.Start(t.Context(), "s1"); !errors.Is(err, compute.ErrUnavailable) || compute.Message(err) != "Compute host gone is down." {
			t.Fatalf("Start queued for a host that went down: %v, want ErrUnavailable", err)
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("the queued call failed after %s", took)
		}
		if rows := env.rows(t); len(rows) != 0 {
			t.Fatalf("calls left queued: %+v", rows)
		}
		fake := computetest.NewHypervisor()
		env.agent(t, "gone", fake) // back: runs nothing of the withdrawn call
		time.Sleep(100 * time.Millisecond)
		if calls := fake.Calls(); len(calls) != 0 {
			t.Fatalf("the host ran withdrawn calls: %v", calls)
		}
	})
}

// kinded is a hypervisor whose Start fails with the error a server's id
// names.
type kinded struct {
	compute.Hypervisor
	errs map[string]error
}

func (k kinded) Start(_ context.Context, id string) error { return k.errs[id] }

// TestErrorKindsSurviveTheTrip: an error of each compute kind on the host
// is an error of the same kind, with the same client-facing message, for
// the caller; other errors keep their text.
func TestErrorKindsSurviveTheTrip(t *testing.T) {
	env := newTestEnv(t, dbtest.OpenSQLite(t))
	errs := map[string]error{"plain": errors.New("qemu said no")}
	for name, kind := range errorKinds {
		errs[name] = compute.Errorf(kind, "Message of %s.", name)
	}
	env.agent(t, "host-1", kinded{Hypervisor: computetest.NewHypervisor(), errs: errs})
	client := env.client(t, OneHost("host-1"))
	for name, kind := range errorKinds {
		err := client.Start(t.Context(), name)
		if !errors.Is(err, kind) || compute.Message(err) != "Message of "+name+"." {
			t.Errorf("%s: got %v (message %q)", name, err, compute.Message(err))
		}
	}
	err := client.Start(t.Context(), "plain")
	var re *RemoteError
	if !errors.As(err, &re) || re.Kind != nil || !strings.Contains(err.Error(), "host-1: qemu said no") ||
		compute.Message(err) != compute.Message(errors.New("x")) {
		t.Errorf("plain error: %v", err)
	}
	if err := client.Start(t.Context(), "ok"); err != nil {
		t.Errorf("no error: %v", err)
	}
}

// TestWhatCrossesHosts: images go as references the host resolves in its
// cache; a config drive goes as its bytes, kept on the host until the
// server is destroyed; a snapshot comes back whole through the blob store.
func TestWhatCrossesHosts(t *testing.T) {
	env := newTestEnv(t, dbtest.OpenSQLite(t))
	fake := computetest.NewHypervisor()
	base, kernel := computetest.BootImage(t, "x"), computetest.BootImage(t, "kernel")
	var mu sync.Mutex
	resolved := map[string]string{}
	a := env.agent(t, "host-1", fake, withResolver(func(_ context.Context, id, sum string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		resolved[id] = sum
		return map[string]string{"img": base, "aki": kernel}[id], nil
	}))
	client := env.client(t, OneHost("host-1"))
	s := spec(t)
	var cache DeferredCache
	s.BaseImage, _ = cache.Get(t.Context(), "img", "sum1", nil)
	s.Kernel = Ref("aki", "sum2")
	s.ConfigDrive = computetest.FakeConfigDrive(t)
	if err := client.Spawn(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	got := fake.Spec(s.ServerID)
	mu.Lock()
	defer mu.Unlock()
	if got.BaseImage != base || got.Kernel != kernel || resolved["img"] != "sum1" || resolved["aki"] != "sum2" {
		t.Errorf("spec on the host: %+v; resolved %v", got, resolved)
	}
	sent, _ := os.ReadFile(s.ConfigDrive)
	if data, err := os.ReadFile(got.ConfigDrive); err != nil || !bytes.Equal(data, sent) || got.ConfigDrive != a.configDrivePath(s.ServerID) {
		t.Errorf("config drive on the host %q: %v, equal %v", got.ConfigDrive, err, bytes.Equal(data, sent))
	}
	dst := t.TempDir() + "/snap.qcow2"
	if err := client.Snapshot(t.Context(), s.ServerID, dst); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(dst); !bytes.HasPrefix(data, []byte("QFI\xfb")) {
		t.Errorf("snapshot: %q", data)
	}
	if err := client.Destroy(t.Context(), s.ServerID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(got.ConfigDrive); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the host kept the config drive of a destroyed server: %v", err)
	}
	if live, _ := env.blobs.left(); live != 0 {
		t.Errorf("%d snapshots left in the blob store", live)
	}
}

// TestCallsOfOneServerRunInOrder: while a call of a server runs, the next
// call of the same server waits for it, and calls of other servers run
// meanwhile.
func TestCallsOfOneServerRunInOrder(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		env := newTestEnv(t, gdb)
		fake := computetest.NewHypervisor()
		env.agent(t, "host-1", fake)
		client := env.client(t, OneHost("host-1"))
		busy, other := spec(t), spec(t)
		for _, s := range []compute.SpawnSpec{busy, other} {
			if err := client.Spawn(t.Context(), s); err != nil {
				t.Fatal(err)
			}
		}
		gate := fake.Hold("stop")
		stopped, started := make(chan error, 1), make(chan error, 1)
		go func() { stopped <- client.Stop(t.Context(), busy.ServerID) }()
		gate.Entered(t)
		go func() { started <- client.Start(t.Context(), busy.ServerID) }()
		if err := client.Pause(t.Context(), other.ServerID); err != nil {
			t.Fatalf("a call of another server while one runs: %v", err)
		}
		select {
		case err := <-started:
			t.Fatalf("Start ran while Stop of the same server was running: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
		gate.Release(nil)
		if err := errors.Join(<-stopped, <-started); err != nil {
			t.Fatal(err)
		}
		if ps, _ := fake.Domain(busy.ServerID); ps != compute.PowerRunning {
			t.Fatalf("Start and Stop ran out of order: the server is %d", ps)
		}
	})
}
