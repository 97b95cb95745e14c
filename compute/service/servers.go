package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"maps"
	"math"
	"strconv"

	"github.com/google/uuid"

	"imagestack/compute"
	"imagestack/compute/configdrive"
	"imagestack/policy"
)

// CreateRequest is a parsed POST /servers body.
type CreateRequest struct {
	Name                string
	ImageRef, FlavorRef string
	MinCount, MaxCount  int
	Metadata            map[string]string
	KeyName             string
	// What reaches the guest (see compute.Server); AdminPass "" gets a
	// generated one.
	Networks               compute.NetworkChoice
	NetworkRequests        []compute.NetworkRequest
	UserData               []byte
	AdminPass              string
	AccessIPv4, AccessIPv6 string
	AvailabilityZone       string
	ConfigDrive            bool
	// SecurityGroups are names or ids of the project's groups the new
	// ports get; nil: the default group.
	SecurityGroups []string
	// Description (nil: null) and Hostname ("": derived from the name, as
	// before microversion 2.90).
	Description *string
	Hostname    string
	// Host and Node are a requested destination (2.74, admins).
	Host, Node string
	// Group is the server group the servers join (os:scheduler_hints
	// group); "" none.
	Group string
	// Tags are the new servers' tags (Nova 2.52), valid (ValidTag) and
	// at most compute.MaxServerTags.
	Tags []string
}

// CreateResult is what POST /servers answers.
type CreateResult struct {
	Servers       []*compute.Server
	ReservationID string
	AdminPass     string
}

// serverTarget is Nova's policy target for a server.
func serverTarget(sv *compute.Server) policy.Target {
	return policy.Target{"project_id": sv.ProjectID, "user_id": sv.UserID}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// checkImageFits refuses an image that is not usable with flavor, as Nova does (400).
func (s *Service) checkImageFits(ctx context.Context, c Caller, imageRef string, f compute.Flavor) (compute.ImageInfo, error) {
	im, err := s.Images.Get(ctx, c.Creds, imageRef)
	if errors.Is(err, compute.ErrNotFound) {
		return im, compute.Errorf(compute.ErrBadRequest, "Image %s could not be found.", compute.Clip(imageRef))
	}
	if err != nil {
		return im, err
	}
	if im.Status != "active" {
		return im, compute.Errorf(compute.ErrBadRequest, "Image %s is not active.", im.ID)
	}
	if im.DiskFormat != "raw" && im.DiskFormat != "qcow2" && im.DiskFormat != "ami" {
		return im, compute.Errorf(compute.ErrBadRequest, "Image %s has disk format %q; only raw, qcow2 and ami images can boot here (aki and ari images are the kernel_id and ramdisk_id of an ami image).", im.ID, im.DiskFormat)
	}
	return im, flavorFitsImage(f, im)
}

// flavorFitsImage refuses a flavor smaller than the image's min_ram,
// min_disk or size (Nova: 400).
func flavorFitsImage(f compute.Flavor, im compute.ImageInfo) error {
	if f.RAM < im.MinRAM {
		return compute.Errorf(compute.ErrBadRequest, "Flavor's memory is too small for requested image.")
	}
	if f.Disk > 0 {
		gib := int64(1) << 30
		if int64(f.Disk) < int64(im.MinDisk) || int64(f.Disk)*gib < im.Size || int64(f.Disk)*gib < im.VirtualSize {
			return compute.Errorf(compute.ErrBadRequest, "Flavor's disk is too small for requested image. Flavor disk is %d GiB; the image needs %d GiB (min_disk) and %d bytes.", f.Disk, im.MinDisk, max(im.Size, im.VirtualSize))
		}
	}
	return nil
}

// Create validates a request, then stores and starts booting MaxCount
// servers, or as many as the project's quota allows when that is at least
// MinCount. The quota check and the insert are one step per project, so
// concurrent creates never exceed the quota between them.
func (s *Service) Create(ctx context.Context, c Caller, req CreateRequest) (*CreateResult, error) {
	f, im, err := s.checkCreate(ctx, c, req)
	if err != nil {
		return nil, err
	}
	specs, err := s.flavors.ExtraSpecs(ctx, f.ID)
	if err != nil {
		return nil, err
	}
	g, err := s.checkGuest(ctx, c, &req)
	if err != nil {
		return nil, err
	}
	res := &CreateResult{ReservationID: "r-" + randomHex(4), AdminPass: req.AdminPass}
	if res.AdminPass == "" {
		res.AdminPass = randomHex(6)
	}
	q, err := s.createQuotas(ctx, c, &req)
	if err != nil {
		return nil, err
	}
	// No more servers than the instance quota can ever be stored, whatever
	// max_count asks for (fitQuota never answers more).
	candidates := s.newServers(c, req, f, g, res.ReservationID, max(0, min(req.MaxCount, room(q.Instances, 0))))
	for _, sv := range candidates {
		sv.SetFlavor(f, specs)
		sv.KernelID, sv.RamdiskID = im.Properties["kernel_id"], im.Properties["ramdisk_id"]
	}
	res.Servers, err = s.Servers.CreateServers(ctx, c.Creds.ProjectID, candidates, func(used compute.Usage) (int, error) {
		n, err := fitQuota(q, used, f, req.MinCount, req.MaxCount)
		if err == nil && n > 1 {
			// Nova numbers the servers of a batch: name-1, name-2, ...
			for i, sv := range candidates[:n] {
				sv.Name = numbered(req.Name, i+1)
				sv.Hostname = batchHostname(req, sv.ID, n, i)
			}
		}
		return n, err
	})
	if err != nil {
		return nil, err
	}
	if err := s.joinGroup(ctx, c, req.Group, res.Servers); err != nil {
		return nil, err
	}
	for _, sv := range res.Servers {
		s.record(ctx, c, sv.ID, compute.ActionCreate)
		if s.attachNetworks(ctx, c, sv, g.networks) {
			s.background(ctx, sv.ID, func(ctx context.Context) { s.boot(ctx, c, sv.ID, res.AdminPass) })
		}
	}
	return res, nil
}

// batchHostname is the hostname of server i of n: the one asked for
// (microversion 2.90) or Nova's derived from the name.
func batchHostname(req CreateRequest, id string, n, i int) string {
	if req.Hostname != "" {
		return req.Hostname
	}
	return configdrive.InstanceHostname(req.Name, id, n, i)
}

// checkCreate applies Nova's rules to a create request: policy, inputs,
// the flavor and image (returned) the caller may use, the key pair, and a
// hypervisor to boot on.
func (s *Service) checkCreate(ctx context.Context, c Caller, req CreateRequest) (compute.Flavor, compute.ImageInfo, error) {
	f, err := s.checkCreateFlavor(ctx, c, req)
	if err != nil {
		return f, compute.ImageInfo{}, err
	}
	if req.Hostname != "" && req.MaxCount > 1 {
		return f, compute.ImageInfo{}, compute.Errorf(compute.ErrBadRequest, "Unable to set hostname for more than one server at a time.")
	}
	im, err := s.checkImageFits(ctx, c, req.ImageRef, f)
	if err != nil {
		return f, im, err
	}
	if s.Hypervisor == nil {
		return f, im, compute.Errorf(compute.ErrUnavailable, "No hypervisor is available on this host.")
	}
	return f, im, nil
}

// checkCreateFlavor checks a create request's policy, name, metadata and
// counts, and returns the flavor it may use.
func (s *Service) checkCreateFlavor(ctx context.Context, c Caller, req CreateRequest) (compute.Flavor, error) {
	if err := s.authorize(c, "os_compute_api:servers:create", nil); err != nil {
		return compute.Flavor{}, err
	}
	if err := checkName("name", req.Name); err != nil {
		return compute.Flavor{}, err
	}
	if err := checkMetadata("metadata", req.Metadata); err != nil {
		return compute.Flavor{}, err
	}
	if req.MinCount < 1 || req.MaxCount < req.MinCount {
		return compute.Flavor{}, compute.Errorf(compute.ErrBadRequest, "min_count must be >= 1 and max_count >= min_count.")
	}
	f, err := s.visibleFlavor(ctx, c, req.FlavorRef)
	if errors.Is(err, compute.ErrNotFound) {
		return compute.Flavor{}, compute.Errorf(compute.ErrBadRequest, "Flavor %s could not be found.", compute.Clip(req.FlavorRef))
	}
	if err != nil {
		return compute.Flavor{}, err
	}
	if f.Disk == 0 && !s.authz.Enforce("os_compute_api:servers:create:zero_disk_flavor", policy.Target{"project_id": c.Creds.ProjectID}, c.Creds) {
		// Nova's guard: a zero-disk flavor gives the server a disk of the
		// image's own size, however large the image says it is.
		return compute.Flavor{}, compute.Errorf(compute.ErrForbidden, "Only volume-backed servers are allowed for flavors with zero disk.")
	}
	return f, nil
}

// numbered is name-i, the name cut short if need be so that it stays
// within the 255 characters a name may have.
func numbered(name string, i int) string {
	suffix := "-" + strconv.Itoa(i)
	if r := []rune(name); len(r)+len(suffix) > maxNameLen {
		name = string(r[:maxNameLen-len(suffix)])
	}
	return name + suffix
}

// newServers builds count servers of a request.
func (s *Service) newServers(c Caller, req CreateRequest, f compute.Flavor, g guest, reservation string, count int) []*compute.Server {
	now := s.now().UTC()
	out := make([]*compute.Server, count)
	for i := range out {
		id := uuid.NewString()
		out[i] = &compute.Server{
			ID: id, Name: req.Name, ProjectID: c.Creds.ProjectID, UserID: c.Creds.UserID,
			ImageID: req.ImageRef, FlavorID: f.ID, RAM: f.RAM, VCPUs: f.VCPUs, Disk: f.Disk,
			VMState: compute.VMBuilding, TaskState: compute.TaskScheduling, ReservationID: reservation,
			KeyName: req.KeyName, Metadata: maps.Clone(req.Metadata), CreatedAt: now, UpdatedAt: now,
			AccessIPv4: req.AccessIPv4, AccessIPv6: req.AccessIPv6, AvailabilityZone: req.AvailabilityZone,
			ConfigDrive: req.ConfigDrive || s.ForceConfigDrive, UserData: req.UserData, KeyData: g.keyData,
			Hostname: batchHostname(req, id, 1, 0), LaunchIndex: i, Description: req.Description,
			Tags: uniqueTags(req.Tags),
		}
		if out[i].Metadata == nil {
			out[i].Metadata = map[string]string{}
		}
	}
	return out
}

// fitQuota returns how many of [minCount, maxCount] servers of flavor f fit
// in quotas beside what the project already uses, or Nova's over-quota
// error naming the first resource short. Divisions instead of products:
// counts come from clients and must not overflow.
func fitQuota(q Quotas, used compute.Usage, f compute.Flavor, minCount, maxCount int) (int, error) {
	fits := min(maxCount, room(q.Instances, used.Instances))
	if f.VCPUs > 0 {
		fits = min(fits, room(q.Cores, used.VCPUs)/f.VCPUs)
	}
	if f.RAM > 0 {
		fits = min(fits, room(q.RAM, used.RAM)/f.RAM)
	}
	if fits >= minCount {
		return fits, nil
	}
	over := func(resource string, per, inUse, limit int) error {
		requested := "more than the quota"
		if minCount <= math.MaxInt/max(per, 1) {
			requested = strconv.Itoa(minCount * per)
		}
		return compute.Errorf(compute.ErrOverQuota, "Quota exceeded for %s: Requested %s, but already used %d of %d %s", resource, requested, inUse, limit, resource)
	}
	switch {
	case minCount > room(q.Instances, used.Instances):
		return 0, over("instances", 1, used.Instances, q.Instances)
	case f.VCPUs > 0 && minCount > room(q.Cores, used.VCPUs)/f.VCPUs:
		return 0, over("cores", f.VCPUs, used.VCPUs, q.Cores)
	default:
		return 0, over("ram", f.RAM, used.RAM, q.RAM)
	}
}

// Get returns a server the caller may see; others' servers are 404.
func (s *Service) Get(ctx context.Context, c Caller, id string) (*compute.Server, error) {
	sv, err := s.Servers.GetServer(ctx, id)
	notFound := compute.Errorf(compute.ErrNotFound, "Instance %s could not be found.", id)
	if errors.Is(err, compute.ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	if sv.VMState == compute.VMDeleted || !s.authz.Enforce("os_compute_api:servers:show", serverTarget(sv), c.Creds) {
		return nil, notFound
	}
	return sv, nil
}
