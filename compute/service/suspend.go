package service

import (
	"context"
	"slices"

	"imagestack/compute"
)

// Suspend saves an active server's memory to disk and powers its VM off
// (SUSPENDED, power state SHUTDOWN as Nova shows it after a managed save).
func (s *Service) Suspend(ctx context.Context, c Caller, id string) error {
	return s.act(ctx, c, id, "os_compute_api:os-suspend-server:suspend", "suspend", compute.TaskSuspending,
		func(sv *compute.Server) bool { return sv.VMState == compute.VMActive },
		func(ctx context.Context, sv *compute.Server) error { return s.Hypervisor.Suspend(ctx, sv.ID) },
		func(sv *compute.Server) { sv.VMState, sv.PowerState = compute.VMSuspended, compute.PowerShutdown })
}

// Resume restores a suspended server (ACTIVE), its guest running on where
// it was.
func (s *Service) Resume(ctx context.Context, c Caller, id string) error {
	return s.act(ctx, c, id, "os_compute_api:os-suspend-server:resume", "resume", compute.TaskResuming,
		func(sv *compute.Server) bool { return sv.VMState == compute.VMSuspended },
		func(ctx context.Context, sv *compute.Server) error { return s.Hypervisor.Resume(ctx, sv.ID) },
		func(sv *compute.Server) { sv.VMState, sv.PowerState = compute.VMActive, compute.PowerRunning })
}

// ResetStates are the states os-resetState may set, by the name the API
// takes.
var ResetStates = map[string]string{"active": compute.VMActive, "error": compute.VMError}

// ResetState sets a server's vm_state to state (a key of ResetStates) and
// clears its task, whatever it was doing (admins; Nova's os-resetState).
func (s *Service) ResetState(ctx context.Context, c Caller, id, state string) error {
	vm, ok := ResetStates[state]
	if !ok {
		return invalid("state", "Value: %s. '%s' is not one of ['active', 'error']", compute.Clip(state), compute.Clip(state))
	}
	sv, err := s.Get(ctx, c, id)
	if err != nil {
		return err
	}
	const rule = "os_compute_api:os-admin-actions:reset_state"
	if !s.authz.Enforce(rule, serverTarget(sv), c.Creds) {
		return compute.Errorf(compute.ErrForbidden, "Policy doesn't allow %s to be performed.", rule)
	}
	s.record(ctx, c, id, "resetState")
	_, err = s.update(ctx, id, func(sv *compute.Server) { sv.VMState, sv.TaskState = vm, compute.TaskNone })
	return err
}

// crashDumpStates are the vm_states a crash dump may be asked in (Nova's
// ALLOW_TRIGGER_CRASH_DUMP, but for rescued, which servers here never are).
var crashDumpStates = []string{compute.VMActive, compute.VMPaused, compute.VMResized, compute.VMError}

// TriggerCrashDump injects an NMI into a server's VM, in the background as
// Nova casts it to the compute host: a VM that turns out not to run is
// logged, not the request's failure.
func (s *Service) TriggerCrashDump(ctx context.Context, c Caller, id string) error {
	sv, err := s.authorizedServer(ctx, c, id, "os_compute_api:servers:trigger_crash_dump")
	if err != nil {
		return err
	}
	if sv.TaskState != compute.TaskNone || !slices.Contains(crashDumpStates, sv.VMState) {
		return stateConflict("trigger_crash_dump", sv)
	}
	if s.Hypervisor == nil {
		return compute.Errorf(compute.ErrUnavailable, "No hypervisor is available on this host.")
	}
	s.record(ctx, c, id, "trigger_crash_dump")
	s.background(ctx, id, func(ctx context.Context) {
		if err := s.Hypervisor.InjectNMI(ctx, id); err != nil {
			s.log.Warn("trigger_crash_dump: no NMI injected", "server", id, "err", err)
		}
	})
	return nil
}

// stateConflict is Nova's 409 for an action the server's state refuses.
func stateConflict(action string, sv *compute.Server) error {
	return compute.Errorf(compute.ErrConflict, "Cannot '%s' instance %s while it is in vm_state %s", action, sv.ID, sv.VMState)
}
