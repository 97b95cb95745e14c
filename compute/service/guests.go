package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"imagestack/compute"
)

// What a server's guest gets besides its disk: the key pair, the networks,
// a config drive, a kernel and ramdisk to boot directly.

// guest is what checkGuest resolved of a create request.
type guest struct {
	keyData  string                   // the key pair's public key
	networks []compute.NetworkRequest // the NICs each server gets
}

// checkGuest validates what a create request gives the guest: the key
// pair, the availability zone and the networks (resolved now, so that an
// unknown network is a 400 before anything is stored).
func (s *Service) checkGuest(ctx context.Context, c Caller, req *CreateRequest) (guest, error) {
	var g guest
	if req.KeyName != "" {
		kp, err := s.KeyPairs.GetKeyPair(ctx, c.Creds.UserID, req.KeyName)
		if errors.Is(err, compute.ErrNotFound) {
			return g, compute.Errorf(compute.ErrBadRequest, "Invalid key_name provided.")
		}
		if err != nil {
			return g, err
		}
		g.keyData = kp.PublicKey
	}
	if err := s.checkZone(ctx, c, req.AvailabilityZone); err != nil {
		return g, err
	}
	if err := s.checkDestination(c, req); err != nil {
		return g, err
	}
	if s.Networks == nil {
		if req.Networks == compute.NetworksListed && len(req.NetworkRequests) > 0 {
			return g, compute.Errorf(compute.ErrBadRequest, "Networks cannot be requested: no network service is configured.")
		}
		return g, nil
	}
	nets, err := s.Networks.Resolve(ctx, c.Creds, req.Networks, withGroups(req), req.MaxCount)
	g.networks = nets
	return g, err
}

// withGroups is the request's networks with its security groups on each
// new port (NetworksAuto: one entry holding only the groups).
func withGroups(req *CreateRequest) []compute.NetworkRequest {
	if req.SecurityGroups == nil {
		return req.NetworkRequests
	}
	if req.Networks == compute.NetworksAuto {
		return []compute.NetworkRequest{{SecurityGroups: req.SecurityGroups}}
	}
	out := slices.Clone(req.NetworkRequests)
	for i := range out {
		if out[i].PortID == "" {
			out[i].SecurityGroups = req.SecurityGroups
		}
	}
	return out
}

// checkZone accepts a zone of the deployment (the default one or one a
// host aggregate puts a compute host in), by name or as Nova's
// "zone:host" form (the host part needs the admin-only forced-host rule).
func (s *Service) checkZone(ctx context.Context, c Caller, zone string) error {
	if zone == "" {
		return nil
	}
	name, host, forced := strings.Cut(zone, ":")
	if !(forced && name == "") {
		ok, err := s.zoneExists(ctx, name)
		if err != nil {
			return err
		}
		if !ok {
			return compute.Errorf(compute.ErrBadRequest, "The requested availability zone is not available")
		}
	}
	if forced && host != "" {
		if err := s.authorize(c, "os_compute_api:servers:create:forced_host", nil); err != nil {
			return err
		}
		if host != s.host() {
			return compute.Errorf(compute.ErrBadRequest, "No valid host was found. Compute host %s could not be found.", compute.Clip(host))
		}
	}
	return nil
}

// checkDestination checks a requested host or node (microversion 2.74):
// admins only, not with a zone's host, and it must be this host.
func (s *Service) checkDestination(c Caller, req *CreateRequest) error {
	if req.Host == "" && req.Node == "" {
		return nil
	}
	if err := s.authorize(c, "compute:servers:create:requested_destination", nil); err != nil {
		return err
	}
	if strings.Contains(req.AvailabilityZone, ":") {
		return compute.Errorf(compute.ErrBadRequest, "One mechanism with host and/or hypervisor_hostname and another mechanism with zone:host:node are mutually exclusive.")
	}
	h := s.host()
	if req.Host != "" && req.Host != h {
		return compute.Errorf(compute.ErrBadRequest, "Compute host %s could not be found.", compute.Clip(req.Host))
	}
	if req.Node != "" && req.Node != h {
		return compute.Errorf(compute.ErrBadRequest, "Compute host node %s could not be found.", compute.Clip(req.Node))
	}
	return nil
}

// attachNetworks gives a new server its NICs and records them with it;
// when that fails the server goes to ERROR (as in Nova, where a failed
// allocation ends the build) and false says not to boot it.
func (s *Service) attachNetworks(ctx context.Context, c Caller, sv *compute.Server, nets []compute.NetworkRequest) bool {
	if s.Networks == nil || len(nets) == 0 {
		return true
	}
	nics, err := s.Networks.Allocate(ctx, c.Creds, sv.ID, sv.Hostname, nets)
	if err != nil {
		s.failServer(ctx, sv.ID, fmt.Errorf("network allocation: %s", compute.Message(err)))
		return false
	}
	updated, err := s.update(ctx, sv.ID, func(sv *compute.Server) { sv.NICs = nics })
	if err != nil {
		s.log.Error("could not record a server's NICs", "server", sv.ID, "err", err)
		s.failServer(ctx, sv.ID, err)
		return false
	}
	*sv = *updated
	return true
}

// releaseNetworks gives back a deleted server's ports.
func (s *Service) releaseNetworks(ctx context.Context, id string) error {
	if s.Networks == nil {
		return nil
	}
	return s.Networks.Deallocate(ctx, id)
}

// configDrivePath is where a server's config drive is built.
func (s *Service) configDrivePath(id string) string {
	return filepath.Join(s.ConfigDriveDir, id+".iso")
}

// buildConfigDrive writes the server's config drive when it has one and
// returns its path ("" when it has none).
func (s *Service) buildConfigDrive(ctx context.Context, sv *compute.Server, adminPass string) (string, error) {
	if !sv.ConfigDrive || s.BuildConfigDrive == nil {
		return "", nil
	}
	if err := os.MkdirAll(s.ConfigDriveDir, 0o700); err != nil {
		return "", err
	}
	path := s.configDrivePath(sv.ID)
	if err := s.BuildConfigDrive(ctx, path, sv, adminPass); err != nil {
		return "", fmt.Errorf("config drive: %w", err)
	}
	return path, nil
}

// removeConfigDrive deletes a deleted server's config drive.
func (s *Service) removeConfigDrive(id string) {
	if s.ConfigDriveDir == "" {
		return
	}
	if err := os.Remove(s.configDrivePath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("could not remove a config drive", "server", id, "err", err)
	}
}

// bootFiles fetches, through the image cache, the kernel and ramdisk an
// image names (kernel_id, ramdisk_id: Glance's aki and ari images) and
// sets them with the command line (os_command_line) on spec.
func (s *Service) bootFiles(ctx context.Context, c Caller, im compute.ImageInfo, spec *compute.SpawnSpec) error {
	kernel := im.Properties["kernel_id"]
	if kernel == "" {
		return nil
	}
	var err error
	if spec.Kernel, err = s.cachedImageByID(ctx, c, kernel); err != nil {
		return fmt.Errorf("kernel %s: %w", kernel, err)
	}
	if ramdisk := im.Properties["ramdisk_id"]; ramdisk != "" {
		if spec.Ramdisk, err = s.cachedImageByID(ctx, c, ramdisk); err != nil {
			return fmt.Errorf("ramdisk %s: %w", ramdisk, err)
		}
	}
	spec.Cmdline = im.Properties["os_command_line"] // "": the hypervisor's default
	return nil
}

// cachedImageByID looks an image (a kernel, a ramdisk) up and returns
// its local path in the host's cache (see cachedImage).
func (s *Service) cachedImageByID(ctx context.Context, c Caller, id string) (string, error) {
	im, err := s.Images.Get(ctx, c.Creds, id)
	if err != nil {
		return "", err
	}
	return s.cachedImage(ctx, c, im)
}

// cachedImage returns the local path of an active image, downloaded once
// into the host's cache.
func (s *Service) cachedImage(ctx context.Context, c Caller, im compute.ImageInfo) (string, error) {
	if im.Status != "active" {
		return "", fmt.Errorf("image %s is %s, not active", im.ID, im.Status)
	}
	return s.Cache.Get(ctx, im.ID, im.Checksum, func(ctx context.Context, w io.Writer) error {
		return s.Images.Download(ctx, c.Creds, im.ID, w)
	})
}

// rootBase returns the local path of a server's base image. With lazy
// bases (and lazyOK) an image not on this host yet is not waited for: the
// server boots from it as it arrives, through lazy, and arriving tells
// when it is verified; otherwise it is downloaded whole first
// (cachedImage).
func (s *Service) rootBase(ctx context.Context, c Caller, im compute.ImageInfo, lazyOK bool) (
	path string, lazy *compute.LazyBase, arriving compute.ArrivingBase, err error) {
	if s.LazyBases == nil || !lazyOK || im.Size <= 0 {
		path, err = s.cachedImage(ctx, c, im)
		return path, nil, nil, err
	}
	if im.Status != "active" {
		return "", nil, nil, fmt.Errorf("image %s is %s, not active", im.ID, im.Status)
	}
	return s.LazyBases.Begin(ctx, im.ID, im.Checksum, im.Size, func(ctx context.Context, off, n int64, w io.Writer) error {
		return s.Images.DownloadRange(ctx, c.Creds, im.ID, off, n, w)
	})
}

// watchBase waits for the verification of the base a server booted from
// while it arrived. A base that fails it is discarded by the cache; the
// server read data that cannot be trusted, so its VM is stopped and it
// goes to ERROR saying why (a rebuild boots it again from a fresh copy).
func (s *Service) watchBase(id, imageID string, base compute.ArrivingBase) {
	if err := base.Verified(); err != nil {
		s.failOnBadBase(id, imageID, err)
	}
}

// failOnBadBase stops a server that read a base which then failed
// verification and puts it in ERROR saying why, unless it has been rebuilt
// on another image meanwhile.
func (s *Service) failOnBadBase(id, imageID string, err error) {
	// One operation per server at a time: after what is under way.
	s.background(context.Background(), id, func(ctx context.Context) {
		if sv, gerr := s.Servers.GetServer(ctx, id); gerr != nil || sv.ImageID != imageID {
			return
		}
		if serr := s.Hypervisor.Stop(ctx, id); serr != nil && !errors.Is(serr, compute.ErrNotFound) {
			s.log.Error("could not stop a server whose base failed verification", "server", id, "err", serr)
		}
		s.failServer(ctx, id, fmt.Errorf("the server started while its image was still arriving, and the image's data then failed verification, so what it read cannot be trusted: %w", err))
	})
}

// awaitBase returns once the server's base is verified on this host:
// qemu-img reads the base through the overlay's header, offline, to copy
// or resize a disk, and a base still arriving is not in its place yet.
func (s *Service) awaitBase(ctx context.Context, id string) error {
	sv, err := s.Servers.GetServer(ctx, id)
	if err != nil || s.LazyBases == nil || sv.ImageID == "" || s.LazyBases.Have(sv.ImageID) {
		return err
	}
	c := Caller{Creds: ownerCreds(sv)}
	im, err := s.Images.Get(ctx, c.Creds, sv.ImageID)
	if err != nil {
		return fmt.Errorf("the server's base image is not on this host yet: %w", err)
	}
	_, _, arriving, err := s.rootBase(ctx, c, im, true)
	if err != nil || arriving == nil {
		return err
	}
	arriving.Booted()
	return arriving.Verified()
}

// resumeBase carries on, after a restart, with the base of a server that
// booted while it arrived and was not verified yet (the partial fill is
// gone: it is fetched again, its verification deciding the server's fate
// as before). Servers without a VM, or in ERROR (a failed boot, a base
// that failed already), are left alone.
func (s *Service) resumeBase(ctx context.Context, sv *compute.Server) {
	if s.LazyBases == nil || sv.ImageID == "" || sv.VMState == compute.VMShelvedOffloaded || sv.VMState == compute.VMError ||
		s.LazyBases.Have(sv.ImageID) {
		return
	}
	go func() {
		c := Caller{Creds: ownerCreds(sv)}
		im, err := s.Images.Get(ctx, c.Creds, sv.ImageID)
		if err != nil {
			s.log.Warn("the base of a server is not on this host and its image cannot be read", "server", sv.ID, "image", sv.ImageID, "err", err)
			return
		}
		_, _, arriving, err := s.rootBase(ctx, c, im, true)
		switch {
		case err != nil:
			s.failOnBadBase(sv.ID, sv.ImageID, err)
		case arriving != nil:
			arriving.Booted()
			s.watchBase(sv.ID, sv.ImageID, arriving)
		}
	}()
}
