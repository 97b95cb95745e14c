package networktest

import (
	"context"
	"sync"

	"imagestack/network"
)

// Recorder is the in-memory Dataplane that also keeps the last spec
// Ensure was given per network, for tests to read.
type Recorder struct {
	*Dataplane
	mu    sync.Mutex
	specs map[string]network.HostSpec
}

// NewRecorder returns a recorder over a dataplane without networks.
func NewRecorder() *Recorder {
	return &Recorder{Dataplane: NewDataplane(), specs: map[string]network.HostSpec{}}
}

// Ensure implements network.Dataplane.
func (r *Recorder) Ensure(ctx context.Context, spec network.HostSpec, hosts []network.DHCPHost) error {
	r.mu.Lock()
	r.specs[spec.NetworkID] = spec
	r.mu.Unlock()
	return r.Dataplane.Ensure(ctx, spec, hosts)
}

// Spec returns the last spec Ensure was given for the network.
func (r *Recorder) Spec(networkID string) network.HostSpec {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.specs[networkID]
}
