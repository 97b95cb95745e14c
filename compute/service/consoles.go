package service

import (
	"context"
	"errors"

	"imagestack/compute"
)

// VNCConsole opens a VNC console of a running server (Nova's
// os-getVNCConsole): RemoteConsole with protocol vnc.
func (s *Service) VNCConsole(ctx context.Context, c Caller, id, consoleType string) (compute.ConsoleAuth, error) {
	return s.RemoteConsole(ctx, c, id, "vnc", consoleType)
}

// RemoteConsole opens a remote console of a running server (Nova's
// remote-consoles): a token from the console proxy and the URL that
// carries it. Only VNC consoles of type novnc are served here; the other
// protocols are off, as in a Nova without SPICE, serial or MKS consoles.
// Nova's order of refusals: an invisible server is 404, the policy 403, a
// server being deleted or not ACTIVE 409 ("not ready"), no console proxy,
// another protocol or a type other than novnc 400, a VM whose VNC server
// is gone (stopped behind the service's back) 409.
func (s *Service) RemoteConsole(ctx context.Context, c Caller, id, protocol, consoleType string) (compute.ConsoleAuth, error) {
	var none compute.ConsoleAuth
	sv, err := s.Get(ctx, c, id)
	if err != nil {
		return none, err
	}
	if err := s.authorize(c, "os_compute_api:os-remote-consoles", serverTarget(sv)); err != nil {
		return none, err
	}
	if sv.TaskState == compute.TaskDeleting {
		return none, compute.Errorf(compute.ErrConflict, "Cannot 'get_vnc_console' instance %s while it is in task_state %s", id, sv.TaskState)
	}
	notReady := compute.Errorf(compute.ErrConflict, "Instance %s is not ready", id)
	if sv.VMState != compute.VMActive {
		return none, notReady
	}
	if s.Consoles == nil || protocol != "vnc" {
		return none, compute.Errorf(compute.ErrBadRequest, "Unavailable console type %s.", compute.Clip(consoleType))
	}
	if consoleType != compute.ConsoleNoVNC {
		return none, compute.Errorf(compute.ErrBadRequest, "Invalid console type %s", compute.Clip(consoleType))
	}
	if s.Hypervisor == nil {
		return none, compute.Errorf(compute.ErrUnavailable, "No hypervisor is available on this host.")
	}
	if _, err := s.Hypervisor.ConsoleSocket(ctx, id); errors.Is(err, compute.ErrNotFound) {
		return none, notReady
	} else if err != nil {
		return none, err
	}
	return s.Consoles.Authorize(ctx, id, consoleType)
}

// ConsoleConnection shows what a live console token opens (Nova's
// os-console-auth-tokens, admins only); an unknown or expired token is 404.
func (s *Service) ConsoleConnection(ctx context.Context, c Caller, token string) (compute.ConsoleAuth, error) {
	if err := s.authorize(c, "os_compute_api:os-console-auth-tokens", nil); err != nil {
		return compute.ConsoleAuth{}, err
	}
	notFound := compute.Errorf(compute.ErrNotFound, "Token not found")
	if s.Consoles == nil || token == "" {
		return compute.ConsoleAuth{}, notFound
	}
	auth, err := s.Consoles.Lookup(ctx, token)
	if errors.Is(err, compute.ErrNotFound) {
		return compute.ConsoleAuth{}, notFound
	}
	return auth, err
}
