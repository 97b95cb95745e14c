package service

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"imagestack/compute"
)

// act loads a server for an action: 404 if invisible, 403 if the rule
// denies, 409 if check refuses its state; then marks the task and runs work
// in the background, unless a delete claims the server first.
func (s *Service) act(ctx context.Context, c Caller, id, rule, action, task string, allowed func(*compute.Server) bool, work func(ctx context.Context, sv *compute.Server) error, done func(*compute.Server)) error {
	if _, err := s.authorizedServer(ctx, c, id, rule); err != nil {
		return err
	}
	if s.Hypervisor == nil {
		// libvirt was unreachable at start-up: work would call a nil
		// hypervisor in the background, where a panic ends the process.
		return compute.Errorf(compute.ErrUnavailable, "No hypervisor is available on this host.")
	}
	if _, err := s.updateIf(ctx, id, func(sv *compute.Server) error {
		if sv.TaskState != compute.TaskNone || !allowed(sv) {
			return compute.Errorf(compute.ErrConflict, "Cannot '%s' instance %s while it is in vm_state %s", action, id, sv.VMState)
		}
		sv.TaskState = task
		return nil
	}); err != nil {
		return err
	}
	s.record(ctx, c, id, action)
	s.background(ctx, id, func(ctx context.Context) {
		cur, err := s.Servers.GetServer(ctx, id)
		if err != nil || gone(cur) {
			return
		}
		if err := work(ctx, cur); err != nil {
			s.failServer(ctx, id, err)
			return
		}
		if _, err := s.settle(ctx, id, unlessGone(func(sv *compute.Server) { sv.TaskState = compute.TaskNone; done(sv) })); err != nil && !errors.Is(err, errGone) {
			s.log.Error("could not record action result", "server", id, "action", action, "err", err)
		}
	})
	return nil
}

// authorizedServer loads a server for an action: 404 if invisible, 403 if
// rule denies, 409 if it is locked (to non-admins).
func (s *Service) authorizedServer(ctx context.Context, c Caller, id, rule string) (*compute.Server, error) {
	sv, err := s.Get(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if !s.authz.Enforce(rule, serverTarget(sv), c.Creds) {
		return nil, compute.Errorf(compute.ErrForbidden, "Policy doesn't allow %s to be performed.", rule)
	}
	return sv, checkLock(c, sv)
}

// Start boots a stopped server.
func (s *Service) Start(ctx context.Context, c Caller, id string) error {
	return s.act(ctx, c, id, "os_compute_api:servers:start", "start", compute.TaskPoweringOn,
		func(sv *compute.Server) bool { return sv.VMState == compute.VMStopped },
		func(ctx context.Context, sv *compute.Server) error { return s.Hypervisor.Start(ctx, sv.ID) },
		func(sv *compute.Server) { sv.VMState, sv.PowerState = compute.VMActive, compute.PowerRunning })
}

// Stop powers a server off.
func (s *Service) Stop(ctx context.Context, c Caller, id string) error {
	return s.act(ctx, c, id, "os_compute_api:servers:stop", "stop", compute.TaskPoweringOff,
		func(sv *compute.Server) bool { return sv.VMState == compute.VMActive || sv.VMState == compute.VMError },
		func(ctx context.Context, sv *compute.Server) error { return s.Hypervisor.Stop(ctx, sv.ID) },
		func(sv *compute.Server) { sv.VMState, sv.PowerState = compute.VMStopped, compute.PowerShutdown })
}

// Reboot restarts a running server.
func (s *Service) Reboot(ctx context.Context, c Caller, id string, hard bool) error {
	task := compute.TaskRebooting
	if hard {
		task = compute.TaskRebootingHard
	}
	return s.act(ctx, c, id, "os_compute_api:servers:reboot", "reboot", task,
		func(sv *compute.Server) bool {
			return sv.VMState == compute.VMActive || (hard && sv.VMState == compute.VMStopped)
		},
		func(ctx context.Context, sv *compute.Server) error {
			if sv.VMState == compute.VMStopped {
				return s.Hypervisor.Start(ctx, sv.ID)
			}
			return s.Hypervisor.Reboot(ctx, sv.ID, hard)
		},
		func(sv *compute.Server) { sv.VMState, sv.PowerState = compute.VMActive, compute.PowerRunning })
}

// ConsoleOutput returns the newest output of a server's serial console as
// Nova does: at most compute.MaxConsoleBytes of it, then its last length
// lines (nil or -1: all of them; 0: none), with control characters other
// than tab and newline removed and invalid UTF-8 replaced.
func (s *Service) ConsoleOutput(ctx context.Context, c Caller, id string, length *int) (string, error) {
	sv, err := s.Get(ctx, c, id)
	if err != nil {
		return "", err
	}
	if !s.authz.Enforce("os_compute_api:os-console-output", serverTarget(sv), c.Creds) {
		return "", compute.Errorf(compute.ErrForbidden, "Policy doesn't allow os_compute_api:os-console-output to be performed.")
	}
	if length != nil && *length < -1 {
		return "", invalid("length", "%d is less than the minimum of -1", *length)
	}
	if s.Hypervisor == nil {
		return "", compute.Errorf(compute.ErrUnavailable, "No hypervisor is available on this host.")
	}
	out, err := s.Hypervisor.ConsoleOutput(ctx, id)
	if err != nil {
		return "", err
	}
	if len(out) > compute.MaxConsoleBytes {
		out = out[len(out)-compute.MaxConsoleBytes:]
	}
	if length != nil && *length >= 0 {
		out = lastLines(out, *length)
	}
	return cleanConsole(out), nil
}

// lastLines returns the last n lines of out; a final newline ends the last
// line rather than starting an empty one.
func lastLines(out []byte, n int) []byte {
	if n == 0 {
		return nil
	}
	end := len(out)
	if end > 0 && out[end-1] == '\n' {
		end--
	}
	for i := end; i > 0; i-- {
		if out[i-1] == '\n' {
			if n--; n == 0 {
				return out[i:]
			}
		}
	}
	return out
}

// cleanConsole drops what Nova drops from console output (control
// characters but tab and newline: carriage returns, escapes, NULs) and
// replaces invalid UTF-8 (the tail may also cut a character in two).
func cleanConsole(out []byte) string {
	valid := strings.ToValidUTF8(string(out), string(utf8.RuneError))
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' && r != '\n' {
			return -1
		}
		return r
	}, valid)
}

// Pause freezes an active server in memory (PAUSED); Unpause lets it run on.
func (s *Service) Pause(ctx context.Context, c Caller, id string) error {
	return s.act(ctx, c, id, "os_compute_api:os-pause-server:pause", "pause", compute.TaskPausing,
		func(sv *compute.Server) bool { return sv.VMState == compute.VMActive },
		func(ctx context.Context, sv *compute.Server) error { return s.Hypervisor.Pause(ctx, sv.ID) },
		func(sv *compute.Server) { sv.VMState, sv.PowerState = compute.VMPaused, compute.PowerPaused })
}

// Unpause lets a paused server run on (ACTIVE), without a new boot.
func (s *Service) Unpause(ctx context.Context, c Caller, id string) error {
	return s.act(ctx, c, id, "os_compute_api:os-pause-server:unpause", "unpause", compute.TaskUnpausing,
		func(sv *compute.Server) bool { return sv.VMState == compute.VMPaused },
		func(ctx context.Context, sv *compute.Server) error { return s.Hypervisor.Unpause(ctx, sv.ID) },
		func(sv *compute.Server) { sv.VMState, sv.PowerState = compute.VMActive, compute.PowerRunning })
}
