package service

import (
	"context"
	"errors"

	"imagestack/compute"
)

// RebuildRequest is a parsed rebuild action.
type RebuildRequest struct {
	ImageRef               string
	Name                   *string         // nil: unchanged
	AdminPass              string          // "": a generated one
	AccessIPv4, AccessIPv6 *string         // nil: unchanged
	Description            Change[*string] // microversion 2.19
	KeyName                Change[string]  // 2.54; "" removes the key
	UserData               Change[[]byte]  // 2.57; nil removes it
	Hostname               *string         // 2.90
}

// Rebuild gives a server a fresh disk from the request's image (the same
// image or another one) and a fresh config drive, keeping its id and
// addresses: the way to recover a damaged server. It returns the server
// and the guest's new password.
func (s *Service) Rebuild(ctx context.Context, c Caller, id string, req RebuildRequest) (*compute.Server, string, error) {
	imageRef, name := req.ImageRef, req.Name
	pass := req.AdminPass
	if pass == "" {
		pass = randomHex(6)
	}
	sv, err := s.Get(ctx, c, id)
	if err != nil {
		return nil, "", err
	}
	if !s.authz.Enforce("os_compute_api:servers:rebuild", serverTarget(sv), c.Creds) {
		return nil, "", compute.Errorf(compute.ErrForbidden, "Policy doesn't allow os_compute_api:servers:rebuild to be performed.")
	}
	if err := checkLock(c, sv); err != nil {
		return nil, "", err
	}
	if name != nil {
		if err := checkName("name", *name); err != nil {
			return nil, "", err
		}
	}
	keyData, err := s.rebuildKey(ctx, c, req.KeyName)
	if err != nil {
		return nil, "", err
	}
	f := compute.Flavor{ID: sv.FlavorID, RAM: sv.RAM, VCPUs: sv.VCPUs, Disk: sv.Disk}
	im, err := s.checkImageFits(ctx, c, imageRef, f)
	if err != nil {
		return nil, "", err
	}
	if s.Hypervisor == nil {
		return nil, "", compute.Errorf(compute.ErrUnavailable, "No hypervisor is available on this host.")
	}
	sv, err = s.updateIf(ctx, id, func(sv *compute.Server) error {
		if sv.TaskState != compute.TaskNone || (sv.VMState != compute.VMActive && sv.VMState != compute.VMStopped && sv.VMState != compute.VMError) {
			return compute.Errorf(compute.ErrConflict, "Cannot 'rebuild' instance %s while it is in vm_state %s", id, sv.VMState)
		}
		sv.TaskState, sv.ImageID = compute.TaskRebuilding, imageRef
		sv.KernelID, sv.RamdiskID = im.Properties["kernel_id"], im.Properties["ramdisk_id"]
		setIf(&sv.Name, name)
		setIf(&sv.AccessIPv4, req.AccessIPv4)
		setIf(&sv.AccessIPv6, req.AccessIPv6)
		setIf(&sv.Hostname, req.Hostname)
		req.Description.applyTo(&sv.Description)
		req.KeyName.applyTo(&sv.KeyName)
		keyData.applyTo(&sv.KeyData)
		req.UserData.applyTo(&sv.UserData)
		if sv.VMState == compute.VMError {
			sv.VMState, sv.Fault = compute.VMActive, ""
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	s.record(ctx, c, id, compute.ActionRebuild)
	s.background(ctx, id, func(ctx context.Context) { s.provision(ctx, c, id, imageRef, pass, s.Hypervisor.Rebuild) })
	return sv, pass, nil
}

// rebuildKey resolves a rebuild's new key pair (the caller's) into the
// public key the guest gets; "" removes the key.
func (s *Service) rebuildKey(ctx context.Context, c Caller, name Change[string]) (Change[string], error) {
	if !name.Set || name.Value == "" {
		return Change[string]{Set: name.Set}, nil
	}
	kp, err := s.KeyPairs.GetKeyPair(ctx, c.Creds.UserID, name.Value)
	if errors.Is(err, compute.ErrNotFound) {
		return Change[string]{}, compute.Errorf(compute.ErrBadRequest, "Invalid key_name provided.")
	}
	if err != nil {
		return Change[string]{}, err
	}
	return To(kp.PublicKey), nil
}
