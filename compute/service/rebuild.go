package service

import (
	"context"

	"imagestack/compute"
)

// Rebuild gives a server a fresh disk from imageRef (the same image or
// another one), keeping its id: the way to recover a damaged server. A
// name, when given, renames it.
func (s *Service) Rebuild(ctx context.Context, c Caller, id, imageRef string, name *string) (*compute.Server, error) {
	sv, err := s.Get(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if !s.authz.Enforce("os_compute_api:servers:rebuild", serverTarget(sv), c.Creds) {
		return nil, compute.Errorf(compute.ErrForbidden, "Policy doesn't allow os_compute_api:servers:rebuild to be performed.")
	}
	if name != nil {
		if err := checkName("name", *name); err != nil {
			return nil, err
		}
	}
	f := compute.Flavor{ID: sv.FlavorID, RAM: sv.RAM, VCPUs: sv.VCPUs, Disk: sv.Disk}
	if _, err := s.checkImageFits(ctx, c, imageRef, f); err != nil {
		return nil, err
	}
	if s.Hypervisor == nil {
		return nil, compute.Errorf(compute.ErrUnavailable, "No hypervisor is available on this host.")
	}
	sv, err = s.updateIf(ctx, id, func(sv *compute.Server) error {
		if sv.TaskState != compute.TaskNone || (sv.VMState != compute.VMActive && sv.VMState != compute.VMStopped && sv.VMState != compute.VMError) {
			return compute.Errorf(compute.ErrConflict, "Cannot 'rebuild' instance %s while it is in vm_state %s", id, sv.VMState)
		}
		sv.TaskState, sv.ImageID = compute.TaskRebuilding, imageRef
		if name != nil {
			sv.Name = *name
		}
		if sv.VMState == compute.VMError {
			sv.VMState, sv.Fault = compute.VMActive, ""
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.background(id, func(ctx context.Context) { s.provision(ctx, c, id, imageRef, s.Hypervisor.Rebuild) })
	return sv, nil
}
