package service

import (
	"context"

	"imagestack/compute"
)

// Lock locks a server: its owner's project may then no longer delete,
// start, stop, reboot or rebuild it (409) until it is unlocked; admins
// still may. reason is Nova 2.73's locked_reason ("" none).
func (s *Service) Lock(ctx context.Context, c Caller, id, reason string) error {
	sv, err := s.Get(ctx, c, id)
	if err != nil {
		return err
	}
	if !s.authz.Enforce("os_compute_api:os-lock-server:lock", serverTarget(sv), c.Creds) {
		return compute.Errorf(compute.ErrForbidden, "Policy doesn't allow os_compute_api:os-lock-server:lock to be performed.")
	}
	by := "owner"
	if c.Creds.ProjectID != sv.ProjectID {
		by = "admin" // Nova: locked by someone outside the owning project
	}
	if _, err := s.update(ctx, id, func(sv *compute.Server) { sv.Locked, sv.LockedBy, sv.LockedReason = true, by, reason }); err != nil {
		return err
	}
	s.record(ctx, c, id, "lock")
	return nil
}

// Unlock unlocks a server; one an admin of another project locked needs
// the unlock_override rule (admins only by default).
func (s *Service) Unlock(ctx context.Context, c Caller, id string) error {
	sv, err := s.Get(ctx, c, id)
	if err != nil {
		return err
	}
	for _, rule := range unlockRules(c, sv) {
		if !s.authz.Enforce(rule, serverTarget(sv), c.Creds) {
			return compute.Errorf(compute.ErrForbidden, "Policy doesn't allow %s to be performed.", rule)
		}
	}
	if _, err := s.update(ctx, id, func(sv *compute.Server) { sv.Locked, sv.LockedBy, sv.LockedReason = false, "", "" }); err != nil {
		return err
	}
	s.record(ctx, c, id, "unlock")
	return nil
}

// unlockRules are the rules an unlock must pass.
func unlockRules(c Caller, sv *compute.Server) []string {
	rules := []string{"os_compute_api:os-lock-server:unlock"}
	if sv.Locked && sv.LockedBy == "admin" && c.Creds.ProjectID == sv.ProjectID {
		rules = append(rules, "os_compute_api:os-lock-server:unlock:unlock_override")
	}
	return rules
}

// checkLock refuses an action on a locked server to non-admins (Nova's
// check_instance_lock: 409 InstanceIsLocked).
func checkLock(c Caller, sv *compute.Server) error {
	if sv.Locked && !c.IsAdmin {
		return compute.Errorf(compute.ErrConflict, "Instance %s is locked", sv.ID)
	}
	return nil
}
