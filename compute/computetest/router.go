package computetest

import (
	"context"

	"imagestack/compute"
)

// Router is the compute.Hypervisor of a Hosts deployment: each call goes
// to the hypervisor of the host in the server's record (the first host
// for a server on none), as the remote hypervisor routes them.
type Router struct{ h *Hosts }

var _ compute.Hypervisor = Router{}

// Router returns the deployment's routing hypervisor.
func (h *Hosts) Router() Router { return Router{h} }

// on is the fake hypervisor of the server's host.
func (r Router) on(ctx context.Context, id string) *Hypervisor {
	if sv, err := r.h.servers.GetServer(ctx, id); err == nil && r.h.hv[sv.Host] != nil {
		return r.h.hv[sv.Host]
	}
	return r.h.hv[r.h.names[0]]
}

// Spawn implements compute.Hypervisor.
func (r Router) Spawn(ctx context.Context, s compute.SpawnSpec) error {
	return r.on(ctx, s.ServerID).Spawn(ctx, s)
}

// Rebuild implements compute.Hypervisor.
func (r Router) Rebuild(ctx context.Context, s compute.SpawnSpec) error {
	return r.on(ctx, s.ServerID).Rebuild(ctx, s)
}

// Start implements compute.Hypervisor.
func (r Router) Start(ctx context.Context, id string) error { return r.on(ctx, id).Start(ctx, id) }

// Stop implements compute.Hypervisor.
func (r Router) Stop(ctx context.Context, id string) error { return r.on(ctx, id).Stop(ctx, id) }

// Reboot implements compute.Hypervisor.
func (r Router) Reboot(ctx context.Context, id string, hard bool) error {
	return r.on(ctx, id).Reboot(ctx, id, hard)
}

// Pause implements compute.Hypervisor.
func (r Router) Pause(ctx context.Context, id string) error { return r.on(ctx, id).Pause(ctx, id) }

// Unpause implements compute.Hypervisor.
func (r Router) Unpause(ctx context.Context, id string) error { return r.on(ctx, id).Unpause(ctx, id) }

// Destroy implements compute.Hypervisor.
func (r Router) Destroy(ctx context.Context, id string) error { return r.on(ctx, id).Destroy(ctx, id) }

// PowerState implements compute.Hypervisor.
func (r Router) PowerState(ctx context.Context, id string) (compute.PowerState, error) {
	return r.on(ctx, id).PowerState(ctx, id)
}

// ConsoleOutput implements compute.Hypervisor.
func (r Router) ConsoleOutput(ctx context.Context, id string) ([]byte, error) {
	return r.on(ctx, id).ConsoleOutput(ctx, id)
}

// ConsoleSocket implements compute.Hypervisor.
func (r Router) ConsoleSocket(ctx context.Context, id string) (string, error) {
	return r.on(ctx, id).ConsoleSocket(ctx, id)
}

// Snapshot implements compute.Hypervisor.
func (r Router) Snapshot(ctx context.Context, id, dst string) error {
	return r.on(ctx, id).Snapshot(ctx, id, dst)
}

// Suspend implements compute.Hypervisor.
func (r Router) Suspend(ctx context.Context, id string) error { return r.on(ctx, id).Suspend(ctx, id) }

// Resume implements compute.Hypervisor.
func (r Router) Resume(ctx context.Context, id string) error { return r.on(ctx, id).Resume(ctx, id) }

// Resize implements compute.Hypervisor.
func (r Router) Resize(ctx context.Context, id string, spec compute.ResizeSpec) error {
	return r.on(ctx, id).Resize(ctx, id, spec)
}

// ConfirmResize implements compute.Hypervisor.
func (r Router) ConfirmResize(ctx context.Context, id string) error {
	return r.on(ctx, id).ConfirmResize(ctx, id)
}

// RevertResize implements compute.Hypervisor.
func (r Router) RevertResize(ctx context.Context, id string, old compute.ResizeSpec) error {
	return r.on(ctx, id).RevertResize(ctx, id, old)
}

// InjectNMI implements compute.Hypervisor.
func (r Router) InjectNMI(ctx context.Context, id string) error {
	return r.on(ctx, id).InjectNMI(ctx, id)
}
